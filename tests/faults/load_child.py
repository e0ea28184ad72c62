"""Child for test_load: a load scenario against a null endpoint, with its peak RSS.

Usage: ``python load_child.py many COUNT`` (COUNT small uploads submitted at once)
or ``python load_child.py stream TOTAL_BYTES`` (one upload from a pipe). Prints a
JSON report. Linux keeps ``ru_maxrss`` across ``exec``, so a child of the large test
process would start with that process's peak: the scenario runs in a fresh fork.
"""

import io
import json
import os
import resource
import sys
import threading
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
    # A pipe read through a BufferedReader: what `producer | upload -` sees on stdin.
    read_fd, write_fd = os.pipe()
    writer = threading.Thread(target=_produce, args=(write_fd, total), daemon=True)
    writer.start()
    with os.fdopen(read_fd, 'rb') as stdin_like:
        with TransferManager(client, config) as manager:
            manager.upload(stdin_like, 'bucket', 'key').result()
    writer.join(timeout=60)


def _produce(write_fd: int, total: int) -> None:
    source = PatternStream(total)
    with os.fdopen(write_fd, 'wb') as pipe:
        while block := source.read(1024 * 1024):
            pipe.write(block)


def measure(scenario: str, amount: int) -> None:
    config = TransferConfig()
    if scenario == 'stream':
        # botocore reads each body in 1 MiB pieces (checksum, then payload hash)
        # and glibc keeps ~3 MiB of that per request thread: at the default 10
        # threads the growth is 108-110 MiB, too close to the 112 MiB bound for a
        # stable test, so measure the upload's own buffering with 4 threads.
        config = TransferConfig(max_request_concurrency=4)
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
