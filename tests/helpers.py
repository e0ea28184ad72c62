"""Small test doubles and functions shared by several test modules."""

import hashlib
import io
from pathlib import Path

import botocore.session
from botocore.config import Config

from s3transfer.subscribers import BaseSubscriber


class Progress(BaseSubscriber):
    """A subscriber that records every ``on_progress`` amount, in order."""

    def __init__(self):
        self.amounts = []

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.amounts.append(bytes_transferred)


class WriteOnly:
    """A non-seekable download target: only ``write()``; can fail on one payload."""

    def __init__(self, fail_on=None):
        self.parts = []
        self._fail_on = fail_on

    def write(self, data):
        if self._fail_on is not None and data == self._fail_on:
            raise OSError('disk full')
        self.parts.append(bytes(data))

    @property
    def value(self) -> bytes:
        return b''.join(self.parts)


class ReadOnlyStream:
    """A stream with only ``read`` (like stdin); records reads, caps at ``max_read``."""

    def __init__(self, data, max_read=None):
        self._stream = io.BytesIO(data)
        self._max_read = max_read
        self.reads = []

    def read(self, amount=None):
        if self._max_read is not None and (amount is None or amount > self._max_read):
            amount = self._max_read
        self.reads.append(amount)
        return self._stream.read(amount)


class RawBody:
    """The raw HTTP body of a canned ``AWSResponse``: streams ``body`` in one piece."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs):
        yield self._body


def offline_client(**config_kwargs):
    """A botocore S3 client with fake credentials; it never reaches the network."""
    return botocore.session.get_session().create_client(
        's3',
        region_name='us-east-1',
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        config=Config(**config_kwargs),
    )


def payload(size: int, seed: int = 0) -> bytes:
    """``size`` deterministic bytes for ``seed``, built from a repeated 64 KiB block."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def sha256(data: bytes) -> str:
    """Hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_of(path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    return sha256(Path(path).read_bytes())


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Create ``files`` (``'/'``-separated names to contents) below ``root``."""
    for name, data in files.items():
        path = root.joinpath(*name.split('/'))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
