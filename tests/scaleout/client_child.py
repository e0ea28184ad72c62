"""Runs one bulk copy as a Dask client in a fresh process and prints its peak RSS.

Usage: ``client_child.py SCHEDULER ENDPOINT SOURCE_BUCKET PREFIX DEST_BUCKET PREFIX``.
Prints one JSON line: the job's counts and ``ru_maxrss`` (KiB) of this process.
"""

import json
import resource
import sys

from distributed import Client

from s3transfer import distributed
from s3transfer.jobs import S3Options


def main() -> None:
    scheduler, endpoint, source_bucket, source_prefix, bucket, prefix = sys.argv[1:7]
    s3 = S3Options(
        endpoint_url=endpoint,
        region_name='us-east-1',
        addressing_style='path',
        max_attempts=3,
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
    )
    with Client(scheduler, timeout=30) as client:
        result = distributed.copy(
            client, source_bucket, source_prefix, bucket, prefix, s3=s3
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'done': result.done, 'failed': result.failed, 'peak_kib': peak}))


if __name__ == '__main__':
    main()
