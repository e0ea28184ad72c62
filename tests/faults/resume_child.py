"""Child for test_resume_kill: one resumable transfer in its own process.

Usage: ``python resume_child.py upload|download ENDPOINT BUCKET KEY PATH STATE_DIR
MAX_BANDWIDTH``. ``MAX_BANDWIDTH`` 0 means unlimited. Journals go to ``STATE_DIR``
(``TransferConfig(resume_dir=...)``); the test kills this process mid-transfer and
runs it again. Prints ``started``, then ``finished`` once the transfer is done.
"""

import sys

from s3transfer.manager import TransferConfig, TransferManager
from tests.fakes3 import offline_client


def main() -> None:
    mode, endpoint_url, bucket, key, path, state, bandwidth = sys.argv[1:8]
    client = offline_client(
        endpoint_url, s3={'addressing_style': 'path'}, retries={'max_attempts': 3}
    )
    config = TransferConfig(
        max_request_concurrency=4,
        max_bandwidth=int(bandwidth) or None,
        resume_dir=state,
    )
    with TransferManager(client, config) as manager:
        if mode == 'upload':
            future = manager.upload(path, bucket, key)
        else:
            future = manager.download(bucket, key, path)
        print('started', flush=True)
        future.result()
    print('finished', flush=True)


if __name__ == '__main__':
    main()
