"""Small test doubles and functions shared by several test modules."""

import hashlib
import inspect
import io
import sys
import textwrap
from pathlib import Path

from s3transfer.subscribers import BaseSubscriber
from tests.fakes3 import offline_client  # noqa: F401  (the one offline client)


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


def rename_private_attribute(monkeypatch, cls: type, old: str) -> str:
    """Simulate a botocore release in which ``cls``'s private ``old`` got a new name.

    Every method of ``cls`` mentioning ``old`` is recompiled from its source with the
    new name (so botocore's own code keeps working), and a method called ``old`` moves
    to the new name. Returns the new name; ``monkeypatch`` undoes it all.
    """
    new = old + '_renamed'
    namespace = dict(vars(sys.modules[cls.__module__]))
    for name, member in list(vars(cls).items()):
        if not inspect.isfunction(member):
            continue
        source = textwrap.dedent(inspect.getsource(member))
        if old not in source:
            continue
        exec(source.replace(old, new), namespace)
        new_name = new if name == old else name
        monkeypatch.setattr(cls, new_name, namespace[new_name], raising=False)
        if new_name != name:
            monkeypatch.delattr(cls, name)
    return new


class PatternStream:
    """A read-only, non-seekable stream of ``total`` bytes built on every read."""

    def __init__(self, total: int) -> None:
        self._remaining = total
        self._block = bytes(range(256)) * 4096

    def read(self, amount: int | None = None) -> bytes:
        if amount is None or amount < 0:
            amount = self._remaining
        amount = min(amount, self._remaining)
        self._remaining -= amount
        whole, rest = divmod(amount, len(self._block))
        return self._block * whole + self._block[:rest]
