"""Deterministic benchmark data: an endless periodic byte pattern and its checksums.

Every object and file in the benchmarks is a window ``(base, size)`` of one pattern,
so no process has to hold a whole object in memory and any byte can be verified.
Shared by the parent (run.py) and the children (workloads.py); stdlib only.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator

# Not a power of two, so 8 MiB parts never line up with the period: a part sent
# twice or in the wrong place changes the checksum.
PERIOD = (1 << 20) + 4099
_SEED = 20260119
_BLOCK = 1 << 20


def _make_buffer() -> bytes:
    """Two copies of the period, so any slice of up to PERIOD bytes is contiguous."""
    one = random.Random(_SEED).randbytes(PERIOD)
    return one + one


_BUFFER = _make_buffer()


def pattern_slice(pos: int, size: int) -> bytes:
    """Bytes ``[pos, pos + size)`` of the endless pattern (a fresh copy, like recv)."""
    start = pos % PERIOD
    if size <= PERIOD:
        return _BUFFER[start : start + size]
    return b''.join(iter_pattern(pos, size, PERIOD))


def iter_pattern(pos: int, size: int, block: int = _BLOCK) -> Iterator[bytes]:
    """Yield the pattern window ``(pos, size)`` in blocks of at most ``block``."""
    block = min(block, PERIOD)
    end = pos + size
    while pos < end:
        take = min(block, end - pos)
        start = pos % PERIOD
        yield _BUFFER[start : start + take]
        pos += take


def pattern_crc(pos: int, size: int) -> int:
    """CRC32 of the pattern window ``(pos, size)``."""
    crc = 0
    for chunk in iter_pattern(pos, size):
        crc = zlib.crc32(chunk, crc)
    return crc


def file_crc(path: str) -> tuple[int, int]:
    """``(size, crc32)`` of a file's contents."""
    crc = size = 0
    with open(path, 'rb') as f:
        while chunk := f.read(_BLOCK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return size, crc


def write_pattern_file(path: str, pos: int, size: int) -> None:
    """Write the pattern window ``(pos, size)`` to ``path``."""
    with open(path, 'wb') as f:
        for chunk in iter_pattern(pos, size):
            f.write(chunk)


class PatternReader:
    """A read-only, non-seekable stream of a pattern window (like a pipe)."""

    def __init__(self, pos: int, size: int) -> None:
        self._pos = pos
        self._end = pos + size

    def read(self, amt: int | None = None) -> bytes:
        """Return up to ``amt`` bytes (all that is left when ``amt`` is None)."""
        left = self._end - self._pos
        take = left if amt is None or amt < 0 else min(amt, left)
        data = pattern_slice(self._pos, take)
        self._pos += take
        return data

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Never seekable: callers must not rewind."""
        return False


class CrcWriter:
    """A write-only, non-seekable sink that keeps the CRC32 and length of its input."""

    def __init__(self) -> None:
        self.crc = 0
        self.size = 0

    def write(self, data: bytes) -> int:
        """Fold ``data`` into the running checksum."""
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        return len(data)

    def seekable(self) -> bool:
        """Never seekable: writes must arrive in order."""
        return False


def key_pos(key: str) -> int:
    """Where object ``key``'s content starts in the pattern (same in every process)."""
    return zlib.crc32(key.encode()) % PERIOD
