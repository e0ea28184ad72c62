"""Child for test_load: a load scenario against a null endpoint, with its peak RSS.

Usage: ``python load_child.py many COUNT`` (COUNT small uploads submitted at once)
or ``python load_child.py stream TOTAL_BYTES`` (one non-seekable upload). Prints a
JSON report. Linux keeps ``ru_maxrss`` across ``exec``, so a child of the large test
process would start with that process's peak: the scenario runs in a fresh fork.
"""

import io
import json
import os
import resource
import sys
from typing import Any

from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.scenarios import PatternStream, null_client


def current_rss() -> int:
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def many_uploads(client: Any, count: int, config: TransferConfig) -> None:
    with TransferManager(client, config) as manager:
        futures = [
            manager.upload(io.BytesIO(b'%06d' % n * 100), 'bucket', f'key-{n}')
            for n in range(count)
        ]
        for future in futures:
            future.result()


def stream_upload(client: Any, total: int, config: TransferConfig) -> None:
    with TransferManager(client, config) as manager:
        manager.upload(PatternStream(total), 'bucket', 'key').result()


def measure(scenario: str, amount: int) -> None:
    config = TransferConfig()
    # Simulated network time per part, so reading outruns sending and the
    # in-memory bound (not the consumers' speed) limits buffering.
    client, endpoint = null_client({'UploadPart': 0.05})
    # The client (and its loaded service model) exists before the baseline.
    start_rss, start_maxrss = current_rss(), peak_rss()
    run = many_uploads if scenario == 'many' else stream_upload
    run(client, amount, config)
    report = {
        'start_rss': start_rss,
        'start_maxrss': start_maxrss,
        'peak_rss': peak_rss(),
        'chunksize': config.multipart_chunksize,
        'max_in_memory_upload_chunks': config.max_in_memory_upload_chunks,
        'bytes_received': dict(endpoint.bytes_received),
        'operations': dict(endpoint.operations),
    }
    print(json.dumps(report))


def main() -> None:
    pid = os.fork()
    if pid == 0:
        try:
            measure(sys.argv[1], int(sys.argv[2]))
        finally:
            sys.stdout.flush()
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == '__main__':
    main()
