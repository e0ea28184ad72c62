"""Child process for test_upload_memory: one large non-seekable upload, peak RSS.

Requests never leave the process: a ``before-send`` handler drains each body in small
reads and answers with a canned response. Prints a JSON report on stdout.

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
import time

import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from s3transfer.manager import TransferConfig, TransferManager

MB = 1024 * 1024
DRAIN_READ = 64 * 1024
# Simulated network time per part, so reading the stream outruns sending it and the
# in-memory bound (not the consumers' speed) is what limits buffering.
PART_LATENCY = 0.05
RESPONSES = {
    'CreateMultipartUpload': (
        {},
        b'<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>'
        b'<UploadId>upload-id</UploadId></InitiateMultipartUploadResult>',
    ),
    'UploadPart': ({'ETag': '"etag"'}, b''),
    'PutObject': ({'ETag': '"etag"'}, b''),
    'CompleteMultipartUpload': (
        {},
        b'<CompleteMultipartUploadResult><ETag>"etag"</ETag>'
        b'</CompleteMultipartUploadResult>',
    ),
}


class PatternStream:
    """A read-only stream of ``total`` bytes; every read returns freshly built bytes."""

    def __init__(self, total):
        self._remaining = total
        self._block = bytes(range(256)) * 4096  # 1 MiB, non-zero so pages are touched

    def read(self, amount=None):
        if amount is None or amount < 0:
            amount = self._remaining
        amount = min(amount, self._remaining)
        self._remaining -= amount
        whole, rest = divmod(amount, len(self._block))
        return self._block * whole + self._block[:rest]


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


class _RawBody:
    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


class NullEndpoint:
    """Drains request bodies and answers with canned 200 responses."""

    def __init__(self):
        self.bytes_received = 0
        self.operations = []

    def __call__(self, request, event_name, **kwargs):
        operation = event_name.rsplit('.', 1)[-1]
        self.operations.append(operation)
        body = request.body
        if hasattr(body, 'read'):
            for chunk in iter(lambda: body.read(DRAIN_READ), b''):
                self.bytes_received += len(chunk)
        if operation == 'UploadPart':
            time.sleep(PART_LATENCY)
        headers, content = RESPONSES[operation]
        return AWSResponse(request.url, 200, headers, _RawBody(content))


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
    client = botocore.session.get_session().create_client(
        's3',
        region_name='us-east-1',
        endpoint_url='http://127.0.0.1:9',
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        config=Config(s3={'addressing_style': 'path'}),
    )
    endpoint = NullEndpoint()
    client.meta.events.register('before-send.s3', endpoint)
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
        'bytes_received': endpoint.bytes_received,
        'operations': endpoint.operations,
    }
    print(json.dumps(report))


if __name__ == '__main__':
    main()
