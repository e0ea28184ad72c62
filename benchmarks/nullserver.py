"""An in-process "null" S3: botocore ``before-send`` handlers with canned responses.

Request bodies are consumed fully in socket-sized reads (as urllib3 would send them),
de-framed when ``aws-chunked`` and checksummed; GETs are served from the preallocated
pattern buffer. No socket, no HTTP parsing: only the client's own cost is left to
measure. Runs in the child.
"""

from __future__ import annotations

import itertools
import re
import threading
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSResponse, HeadersDict
from payload import pattern_slice

# urllib3's HTTPConnection reads file-like bodies in blocks of this size.
SEND_BLOCKSIZE = 16384
_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
_LAST_MODIFIED = 'Thu, 01 Jan 2026 00:00:00 GMT'
_ISO_DATE = '2026-01-01T00:00:00.000Z'
_RANGE = re.compile(r'bytes=(\d+)-(\d*)$')
_PART_NUMBER = re.compile(rb'<PartNumber>(\d+)</PartNumber>')


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

    def __init__(self, pos: int, size: int) -> None:
        super().__init__()
        self._pos = pos
        self._end = pos + size

    def read(self, amt: int | None = None) -> bytes:
        left = self._end - self._pos
        take = left if amt is None else min(amt, left)
        chunk = pattern_slice(self._pos, take)
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


def consume_body(body: Any, aws_chunked: bool = False) -> tuple[int, int]:
    """Read a request body to the end as a socket send would; return (size, crc32)."""
    crc = size = 0
    decoder = _AwsChunkedDecoder() if aws_chunked else None
    for block in _blocks(body):
        for data in decoder.feed(block) if decoder else (block,):
            crc = zlib.crc32(data, crc)
            size += len(data)
    return size, crc


class NullS3:
    """Canned S3 for one client; records what was uploaded or copied for checking."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.objects: dict[str, tuple[int, int]] = {}  # key -> (pattern pos, size)
        self.uploads: dict[str, dict[int, list]] = {}
        self.results: dict[str, list] = {}  # key -> [[part, size, crc], ...]
        self.copies: dict[str, list] = {}  # key -> [[part, src, start, end], ...]
        # key -> (algorithm, base64 value): a full-object checksum HEAD reports
        self.checksums: dict[str, tuple[str, str]] = {}

    def add_object(
        self, key: str, pos: int, size: int, checksum: tuple[str, str] | None = None
    ) -> None:
        """Make ``key`` (any bucket) serve the pattern window ``(pos, size)``.

        ``checksum=(algorithm, base64)``: a full-object checksum that a HEAD with
        ``ChecksumMode=ENABLED`` reports.
        """
        self.objects[key] = (pos, size)
        if checksum is not None:
            self.checksums[key] = checksum

    def attach(self, client: Any) -> None:
        """Answer every request of ``client`` that this null server knows."""
        for op in (
            'HeadObject',
            'GetObject',
            'PutObject',
            'CreateMultipartUpload',
            'UploadPart',
            'UploadPartCopy',
            'CompleteMultipartUpload',
            'AbortMultipartUpload',
            'CopyObject',
        ):
            handler = getattr(self, '_' + op)
            client.meta.events.register(f'before-send.s3.{op}', handler)

    def _etag(self, key: str) -> str:
        pos, size = self.objects[key]
        return f'"{pos:x}-{size:x}"'

    def _HeadObject(self, request: Any, **_: Any) -> AWSResponse:
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

    def _GetObject(self, request: Any, **_: Any) -> AWSResponse:
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
        return _response(status, headers, _PatternBody(pos + start, length))

    def _PutObject(self, request: Any, **_: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        size, crc = consume_body(request.body, _is_aws_chunked(request))
        with self._lock:
            self.results[key] = [[1, size, crc]]
        return _response(200, {'ETag': f'"{crc:08x}"', 'Content-Length': '0'})

    def _CreateMultipartUpload(self, request: Any, **_: Any) -> AWSResponse:
        bucket, key = _bucket_key(request.url)
        upload_id = f'upload-{next(self._ids)}'
        with self._lock:
            self.uploads[upload_id] = {}
        inner = (
            f'<Bucket>{bucket}</Bucket><Key>{key}</Key><UploadId>{upload_id}</UploadId>'
        )
        return _xml('InitiateMultipartUploadResult', inner)

    def _UploadPart(self, request: Any, **_: Any) -> AWSResponse:
        query = _query(request.url)
        size, crc = consume_body(request.body, _is_aws_chunked(request))
        with self._lock:
            self.uploads[query['uploadId']][int(query['partNumber'])] = [size, crc]
        return _response(200, {'ETag': f'"{crc:08x}"', 'Content-Length': '0'})

    def _UploadPartCopy(self, request: Any, **_: Any) -> AWSResponse:
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

    def _CopyObject(self, request: Any, **_: Any) -> AWSResponse:
        key = _bucket_key(request.url)[1]
        source = unquote(_header(request, 'x-amz-copy-source')).lstrip('/')
        src_key = source.partition('/')[2]
        with self._lock:
            self.copies[key] = [[1, src_key, 0, self.objects[src_key][1] - 1]]
        inner = f'<ETag>"copy"</ETag><LastModified>{_ISO_DATE}</LastModified>'
        return _xml('CopyObjectResult', inner)

    def _CompleteMultipartUpload(self, request: Any, **_: Any) -> AWSResponse:
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

    def _AbortMultipartUpload(self, request: Any, **_: Any) -> AWSResponse:
        with self._lock:
            self.uploads.pop(_query(request.url)['uploadId'], None)
        return _response(204, {})
