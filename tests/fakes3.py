"""The one fake S3 of the tests and the benchmarks: canned answers inside the client.

``NullS3`` answers a botocore client's requests from ``before-send`` handlers, so
nothing ever reaches a socket. Request bodies are consumed to the end as urllib3 sends
them (in ``SEND_BLOCKSIZE`` reads), de-framed when ``aws-chunked`` and checksummed;
GETs are served from a content function (a byte pattern by default). It records what
arrived (``results``, ``copies``, ``operations``, ``bytes_received``) and can add a
per-operation latency. ``null_client()`` builds a client wired to a fresh one.

Stdlib and botocore only, no imports from ``tests`` or ``s3transfer``: the benchmark
children (benchmarks/workloads.py) import it as the top-level module ``fakes3`` in
virtualenvs that hold the original s3transfer.
"""

from __future__ import annotations

import collections
import itertools
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import botocore.httpsession
import botocore.session
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config

# The block size in which urllib3 reads file-like request bodies to send them: botocore
# configures urllib3 2 with ``botocore.httpsession.BUFFER_SIZE`` (128 KiB); with urllib3
# 1.x it sets nothing and http.client's 8 KiB applies.
SEND_BLOCKSIZE = botocore.httpsession.BUFFER_SIZE or 8192
# https like production (unsigned payload, CRC32 trailer in an aws-chunked body);
# nothing is ever connected. The benchmarks use it.
NULL_ENDPOINT = 'https://s3.null.invalid'
# Plain http (signed payloads, checksums as headers, botocore reading each body before
# sending it); nothing listens there. The tests' default.
UNCONNECTED_HTTP_ENDPOINT = 'http://127.0.0.1:9'
OPERATIONS = (
    'HeadObject',
    'GetObject',
    'PutObject',
    'CreateMultipartUpload',
    'UploadPart',
    'UploadPartCopy',
    'CompleteMultipartUpload',
    'AbortMultipartUpload',
    'CopyObject',
    'DeleteObject',
)
_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
_LAST_MODIFIED = 'Thu, 01 Jan 2026 00:00:00 GMT'
_ISO_DATE = '2026-01-01T00:00:00.000Z'
_RANGE = re.compile(r'bytes=(\d+)-(\d*)$')
_PART_NUMBER = re.compile(rb'<PartNumber>(\d+)</PartNumber>')
_PATTERN = bytes(range(256)) * 4096


def byte_pattern(pos: int, size: int) -> bytes:
    """Default object content: bytes ``[pos, pos + size)`` of 0, 1, ..., 255, 0, ..."""
    out = []
    while size > 0:
        start = pos % 256
        take = min(size, len(_PATTERN) - start)
        out.append(_PATTERN[start : start + take])
        pos, size = pos + take, size - take
    return b''.join(out)


class _Body:
    """A raw response stream over fixed bytes (``read`` and urllib3's ``stream``)."""

    def __init__(self, data: bytes = b'') -> None:
        self._data = data
        self._pos = 0

    def read(self, amt: int | None = None) -> bytes:
        end = len(self._data) if amt is None else self._pos + amt
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk

    def stream(self, amt: int = 65536, decode_content: Any = None) -> Iterator[bytes]:
        while chunk := self.read(amt):
            yield chunk

    def close(self) -> None:
        pass


class _PatternBody(_Body):
    """A raw response stream over a pattern window, sliced on demand."""

    def __init__(
        self, content: Callable[[int, int], bytes], pos: int, size: int
    ) -> None:
        super().__init__()
        self._content = content
        self._pos = pos
        self._end = pos + size

    def read(self, amt: int | None = None) -> bytes:
        left = self._end - self._pos
        take = left if amt is None else min(amt, left)
        chunk = self._content(self._pos, take)
        self._pos += take
        return chunk


def _response(status: int, headers: dict[str, str], body: _Body | None = None):
    return AWSResponse('http://null', status, HeadersDict(headers), body or _Body())


def _xml(root: str, inner: str) -> AWSResponse:
    data = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{_XMLNS}">'
        f'{inner}</{root}>'
    ).encode()
    return _response(200, {'Content-Length': str(len(data))}, _Body(data))


def _bucket_key(url: str) -> tuple[str, str]:
    path = unquote(urlsplit(url).path).lstrip('/')
    bucket, _, key = path.partition('/')
    return bucket, key


def _query(url: str) -> dict[str, str]:
    pairs = (p.partition('=') for p in urlsplit(url).query.split('&') if p)
    return {unquote(k): unquote(v) for k, _, v in pairs}


def _header(request: Any, name: str) -> str:
    value = request.headers.get(name) or ''
    return value.decode() if isinstance(value, bytes) else value


def _is_aws_chunked(request: Any) -> bool:
    return 'aws-chunked' in _header(request, 'Content-Encoding')


def _blocks(body: Any) -> Iterator[bytes]:
    """The body as a socket send sees it: one buffer, or socket-sized reads."""
    if body is None:
        return
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        yield body
        return
    while block := body.read(SEND_BLOCKSIZE):
        yield block


class _AwsChunkedDecoder:
    """Decodes ``aws-chunked`` framing: ``hex-size CRLF data CRLF``, ``0`` + trailer."""

    def __init__(self) -> None:
        self._header = b''  # size line read so far
        self._left = 0  # payload bytes still due in the current chunk
        self._skip = 0  # CRLF after the chunk's payload
        self._done = False

    def feed(self, block: bytes) -> list[memoryview]:
        """Return the payload parts of ``block``."""
        out, pos, view = [], 0, memoryview(block)
        while pos < len(block) and not self._done:
            if self._left:
                take = min(self._left, len(block) - pos)
                out.append(view[pos : pos + take])
                self._left -= take
                pos += take
                self._skip = 0 if self._left else 2
            elif self._skip:
                step = min(self._skip, len(block) - pos)
                self._skip -= step
                pos += step
            else:
                pos = self._read_size_line(block, pos)
        return out

    def _read_size_line(self, block: bytes, pos: int) -> int:
        end = block.find(b'\n', pos)
        if end < 0:
            self._header += block[pos:]
            return len(block)
        line, self._header = (self._header + block[pos:end]).rstrip(b'\r'), b''
        self._left = int(line.split(b';')[0], 16)
        self._done = self._left == 0
        return end + 1


def consume_body(
    body: Any, aws_chunked: bool = False, checksum: bool = True
) -> tuple[int, int]:
    """Read a request body to the end as a socket send would; return (size, crc32).

    Without ``checksum`` the crc is 0 (saves CPU in load tests).
    """
    crc = size = 0
    decoder = _AwsChunkedDecoder() if aws_chunked else None
    for block in _blocks(body):
        for data in decoder.feed(block) if decoder else (block,):
            if checksum:
                crc = zlib.crc32(data, crc)
            size += len(data)
    return size, crc


def error_response(url: str, status: int, code: str) -> AWSResponse:
    """An S3 error answer, for ``before-send`` handlers."""
    body = f'<Error><Code>{code}</Code><Message>{code}</Message></Error>'.encode()
    return _response(status, {'Content-Length': str(len(body))}, _Body(body))


class NullS3:
    """Canned S3 for one client; records what was uploaded or copied for checking.

    ``content(pos, size)`` gives the bytes of served objects; ``latency`` maps
    operations to seconds to wait before answering; ``checksum=False`` skips the crc
    of uploaded bodies. ``operations`` and ``bytes_received`` count requests and
    uploaded body bytes per operation.
    """

    def __init__(
        self,
        content: Callable[[int, int], bytes] = byte_pattern,
        latency: dict[str, float] | None = None,
        checksum: bool = True,
    ) -> None:
        self._content = content
        self._latency = latency or {}
        self._checksum = checksum
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.objects: dict[str, tuple[int, int]] = {}  # key -> (content pos, size)
        self.uploads: dict[str, dict[int, list]] = {}
        self.results: dict[str, list] = {}  # key -> [[part, size, crc], ...]
        self.copies: dict[str, list] = {}  # key -> [[part, src, start, end], ...]
        self.operations: collections.Counter[str] = collections.Counter()
        self.bytes_received: collections.Counter[str] = collections.Counter()
        # key -> (algorithm, base64 value): a full-object checksum HEAD reports
        self.checksums: dict[str, tuple[str, str]] = {}

    def add_object(
        self, key: str, pos: int, size: int, checksum: tuple[str, str] | None = None
    ) -> None:
        """Make ``key`` (any bucket) serve the content window ``(pos, size)``.

        ``checksum=(algorithm, base64)``: a full-object checksum that a HEAD with
        ``ChecksumMode=ENABLED`` reports.
        """
        self.objects[key] = (pos, size)
        if checksum is not None:
            self.checksums[key] = checksum

    def attach(self, client: Any) -> Any:
        """Answer every request of ``client`` this null server knows; return it."""
        # One handler for all of S3 (not one per operation), so a test's own
        # ``register_first('before-send.s3', ...)`` handler still runs before it.
        client.meta.events.register('before-send.s3', self._answer)
        return client

    def _answer(
        self, request: Any, event_name: str, **kwargs: Any
    ) -> AWSResponse | None:
        operation = event_name.rsplit('.', 1)[-1]
        if operation not in OPERATIONS:
            return None  # not faked: botocore sends it (and fails: nothing listens)
        response = getattr(self, '_' + operation)(request)
        with self._lock:
            self.operations[operation] += 1
        delay = self._latency.get(operation, 0)
        if delay:
            time.sleep(delay)
        return response

    def _consume(self, request: Any, operation: str) -> tuple[int, int]:
        aws_chunked = _is_aws_chunked(request)
        size, crc = consume_body(request.body, aws_chunked, self._checksum)
        with self._lock:
            self.bytes_received[operation] += size
        return size, crc

    def _etag(self, key: str) -> str:
        pos, size = self.objects[key]
        return f'"{pos:x}-{size:x}"'

    def _HeadObject(self, request: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        headers = {
            'Content-Length': str(self.objects[key][1]),
            'ETag': self._etag(key),
            'Last-Modified': _LAST_MODIFIED,
            'Content-Type': 'binary/octet-stream',
            'Accept-Ranges': 'bytes',
        }
        checksum = self.checksums.get(key)
        if checksum and _header(request, 'x-amz-checksum-mode') == 'ENABLED':
            headers[f'x-amz-checksum-{checksum[0].lower()}'] = checksum[1]
            headers['x-amz-checksum-type'] = 'FULL_OBJECT'
        return _response(200, headers)

    def _GetObject(self, request: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        pos, size = self.objects[key]
        headers = {
            'ETag': self._etag(key),
            'Last-Modified': _LAST_MODIFIED,
            'Content-Type': 'binary/octet-stream',
            'Accept-Ranges': 'bytes',
        }
        match = _RANGE.match(_header(request, 'Range'))
        status, start, end = 200, 0, size - 1
        if match:
            status, start = 206, int(match.group(1))
            end = min(int(match.group(2) or size - 1), size - 1)
            headers['Content-Range'] = f'bytes {start}-{end}/{size}'
        length = max(end - start + 1, 0)
        headers['Content-Length'] = str(length)
        body = _PatternBody(self._content, pos + start, length)
        return _response(status, headers, body)

    def _PutObject(self, request: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        size, crc = self._consume(request, 'PutObject')
        with self._lock:
            self.results[key] = [[1, size, crc]]
        return _response(200, {'ETag': f'"{crc:08x}"', 'Content-Length': '0'})

    def _CreateMultipartUpload(self, request: Any) -> AWSResponse:
        bucket, key = _bucket_key(request.url)
        upload_id = f'upload-{next(self._ids)}'
        with self._lock:
            self.uploads[upload_id] = {}
        inner = (
            f'<Bucket>{bucket}</Bucket><Key>{key}</Key><UploadId>{upload_id}</UploadId>'
        )
        return _xml('InitiateMultipartUploadResult', inner)

    def _UploadPart(self, request: Any) -> AWSResponse:
        query = _query(request.url)
        size, crc = self._consume(request, 'UploadPart')
        with self._lock:
            self.uploads[query['uploadId']][int(query['partNumber'])] = [size, crc]
        return _response(200, {'ETag': f'"{crc:08x}"', 'Content-Length': '0'})

    def _UploadPartCopy(self, request: Any) -> AWSResponse:
        query = _query(request.url)
        source = unquote(_header(request, 'x-amz-copy-source')).lstrip('/')
        src_key = source.partition('/')[2]
        match = _RANGE.match(_header(request, 'x-amz-copy-source-range'))
        start, end = int(match.group(1)), int(match.group(2))
        with self._lock:
            self.uploads[query['uploadId']][int(query['partNumber'])] = [
                src_key,
                start,
                end,
            ]
        inner = (
            f'<ETag>"{start:x}-{end:x}"</ETag><LastModified>{_ISO_DATE}</LastModified>'
        )
        return _xml('CopyPartResult', inner)

    def _CopyObject(self, request: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        source = unquote(_header(request, 'x-amz-copy-source')).lstrip('/')
        src_key = source.partition('/')[2]
        with self._lock:
            self.copies[key] = [[1, src_key, 0, self.objects[src_key][1] - 1]]
        inner = f'<ETag>"copy"</ETag><LastModified>{_ISO_DATE}</LastModified>'
        return _xml('CopyObjectResult', inner)

    def _CompleteMultipartUpload(self, request: Any) -> AWSResponse:
        bucket, key = _bucket_key(request.url)
        upload_id = _query(request.url)['uploadId']
        body = request.body if isinstance(request.body, bytes) else b''
        numbers = [int(n) for n in _PART_NUMBER.findall(body)]
        with self._lock:
            parts = self.uploads.pop(upload_id)
            listed = [[n, *parts[n]] for n in numbers]
            is_copy = bool(listed) and isinstance(listed[0][1], str)
            (self.copies if is_copy else self.results)[key] = listed
        etag = f'"mpu-{len(numbers)}"'
        inner = f'<Bucket>{bucket}</Bucket><Key>{key}</Key><ETag>{etag}</ETag>'
        return _xml('CompleteMultipartUploadResult', inner)

    def _AbortMultipartUpload(self, request: Any) -> AWSResponse:
        with self._lock:
            self.uploads.pop(_query(request.url)['uploadId'], None)
        return _response(204, {})

    def _DeleteObject(self, request: Any) -> AWSResponse:
        with self._lock:
            self.objects.pop(_bucket_key(request.url)[1], None)
        return _response(204, {})


def offline_client(endpoint_url: str | None = None, **config_kwargs: Any) -> Any:
    """A botocore S3 client with fake credentials (us-east-1); it never reaches AWS."""
    return botocore.session.get_session().create_client(
        's3',
        region_name='us-east-1',
        endpoint_url=endpoint_url,
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        config=Config(**config_kwargs),
    )


def null_client(
    latency: dict[str, float] | None = None,
    endpoint_url: str = UNCONNECTED_HTTP_ENDPOINT,
    content: Callable[[int, int], bytes] = byte_pattern,
    checksum: bool = True,
) -> tuple[Any, NullS3]:
    """A path-style offline client answered by a new ``NullS3``; both returned."""
    client = offline_client(endpoint_url, s3={'addressing_style': 'path'})
    server = NullS3(content, latency, checksum)
    return server.attach(client), server
