"""Child process for test_upload_memory: one large non-seekable upload, peak RSS.

Requests never leave the process: the tests' fake S3 (tests/fakes3.py) drains each
body as urllib3 would send it and answers. Prints a JSON report on stdout.

Linux keeps ``ru_maxrss`` across ``exec``, so a child of a large test process would
start with that process's peak; the measurement therefore runs in a fresh fork.
Usage: ``python upload_rss_child.py TOTAL_BYTES MAX_IN_MEMORY_UPLOAD_CHUNKS SOURCE``
where SOURCE is ``read`` (a stream with only ``read``) or ``readinto`` (a
``BufferedReader``, like stdin).
"""

import io
import json
import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout root

from s3transfer.manager import TransferConfig, TransferManager  # noqa: E402
from tests.fakes3 import null_client  # noqa: E402
from tests.helpers import PatternStream  # noqa: E402

MB = 1024 * 1024
# Simulated network time per part, so reading the stream outruns sending it and the
# in-memory bound (not the consumers' speed) is what limits buffering.
PART_LATENCY = 0.05


class PatternRaw(io.RawIOBase):
    """``PatternStream``'s bytes, produced straight into the reader's buffer."""

    def __init__(self, total):
        self._remaining = total
        self._block = memoryview(bytes(range(256)) * 4096)

    def readable(self):
        return True

    def readinto(self, buffer):
        with memoryview(buffer) as target:
            size = min(len(target), self._remaining)
            for start in range(0, size, len(self._block)):
                piece = min(len(self._block), size - start)
                target[start : start + piece] = self._block[:piece]
        self._remaining -= size
        return size


SOURCES = {
    'read': PatternStream,
    'readinto': lambda total: io.BufferedReader(PatternRaw(total)),
}


def current_rss():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def main():
    pid = os.fork()
    if pid == 0:
        measure()
        return
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


def measure():
    total, max_in_memory_upload_chunks, source = sys.argv[1:4]
    request_threads = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    # botocore reads each body in 1 MiB pieces (checksum, then payload hash) and
    # glibc keeps ~3 MiB per request thread; fewer threads keep that fixed cost,
    # which is not the upload's buffering, small next to the chunks under test.
    config = TransferConfig(
        max_request_concurrency=request_threads,
        max_in_memory_upload_chunks=int(max_in_memory_upload_chunks),
    )
    client, server = null_client({'UploadPart': PART_LATENCY})
    start_rss = current_rss()
    start_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with TransferManager(client, config) as manager:
        manager.upload(SOURCES[source](int(total)), 'bucket', 'key').result()
    report = {
        'start_rss': start_rss,
        'start_maxrss': start_maxrss,
        'peak_rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        'chunksize': config.multipart_chunksize,
        'max_in_memory_upload_chunks': config.max_in_memory_upload_chunks,
        'bytes_received': sum(server.bytes_received.values()),
        'operations': dict(server.operations),
    }
    print(json.dumps(report))


if __name__ == '__main__':
    main()
