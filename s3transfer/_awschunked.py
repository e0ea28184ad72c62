"""Fast path "aws-chunked offset reads": botocore's aws-chunked encoder, cheaper.

botocore's ``AwsChunkedWrapper.read`` re-slices its pending 1 MiB chunk on every socket
read (urllib3 2 sends in 128 KiB blocks under botocore), copying each byte several
times. The subclass here keeps a read offset instead and produces the same bytes. The
``use_offset_reads`` event handler switches it in only for our own upload bodies, only
for botocore's exact class, only while fast paths are on (``S3TRANSFER_NO_FAST_PATHS``)
and only after a first-use self-check against botocore's own encoder has passed, so a
change of botocore's private internals makes it step aside instead of failing.
See docs/performance.md.
"""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

from botocore.httpchecksum import AwsChunkedWrapper

from s3transfer import fastpaths
from s3transfer._events import request_body


class _OffsetAwsChunkedWrapper(AwsChunkedWrapper):
    """botocore's aws-chunked encoder, byte for byte, without quadratic reads."""

    _pos = 0
    _remaining: bytes

    def _reset(self) -> None:
        super()._reset()
        self._pos = 0

    def read(self, size: int | None = None) -> bytes:
        if size is not None and size <= 0:
            size = None
        if size is None:
            rest = self._remaining[self._pos :]
            while not self._complete:
                rest += self._make_chunk()
            self._remaining, self._pos = b'', 0
            return rest
        # Serve the old remainder and each new chunk as separate slices: no
        # "remainder + next chunk" concatenation on every refill.
        pieces = []
        while size:
            available = len(self._remaining) - self._pos
            if not available:
                if self._complete:
                    break
                self._remaining, self._pos = self._make_chunk(), 0
                continue
            take = min(size, available)
            pieces.append(self._remaining[self._pos : self._pos + take])
            self._pos += take
            size -= take
        return pieces[0] if len(pieces) == 1 else b''.join(pieces)


class _Crc32:
    """A minimal checksum with the interface botocore's encoder uses."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = zlib.crc32(data, self._value)

    def b64digest(self) -> str:
        return base64.b64encode(self._value.to_bytes(4, 'big')).decode('ascii')


def _encode(cls: type, data: bytes, read_sizes: list[int | None]) -> bytes:
    body = cls(io.BytesIO(data), checksum_cls=_Crc32, chunk_size=7)
    out = []
    for size in read_sizes:
        out.append(body.read(size))
    body.seek(0)
    for _ in range(len(data)):  # bounded: a broken encoder may never end
        chunk = body.read(3)
        if not chunk:
            break
        out.append(chunk)
    out.append(body.read())
    return b'|'.join(out)


def _encodes_like_botocore() -> bool:
    """Whether the fast encoder matches botocore's on a few awkward read patterns."""
    data = bytes(range(100))  # 15 chunks of 7: boundaries, a short last chunk
    patterns: list[list[int | None]] = [
        [1, 2, 3, 50, None],
        [16, 16, 0, -1],
        [1000],
        [5] * 200,
    ]
    try:
        return all(
            _encode(_OffsetAwsChunkedWrapper, data, p)
            == _encode(AwsChunkedWrapper, data, p)
            for p in patterns
        )
    except Exception:
        return False


OFFSET_READS = fastpaths.SelfCheck('aws-chunked offset reads', _encodes_like_botocore)


def use_offset_reads(request: Any, operation_name: str, **kwargs: Any) -> None:
    """Event handler (request-created): give our upload body the offset-read encoder."""
    if operation_name not in ('PutObject', 'UploadPart'):
        return
    body = request_body(request)
    if type(body) is not AwsChunkedWrapper:  # not subclasses: they may read differently
        return
    if not hasattr(getattr(body, '_raw', None), 'signal_transferring'):
        return  # not one of our upload bodies
    if OFFSET_READS.passed():
        body.__class__ = _OffsetAwsChunkedWrapper
