"""The shapes the public API accepts: file-like sources and targets, copy sources.

botocore ships no type information, so clients and botocore objects are ``Any``.
"""

from __future__ import annotations

from typing import Any, Protocol


class Readable(Protocol):
    """A source of bytes: ``read(size)``; also ``seek``/``tell`` if seekable."""

    def read(self, size: int = ..., /) -> bytes: ...


class Writable(Protocol):
    """A download target object: anything with ``write(bytes)``."""

    def write(self, data: bytes, /) -> Any: ...


# A local path or a readable object; a local path or a writable object.
UploadSource = str | Readable
DownloadTarget = str | Writable
# ``{'Bucket': ..., 'Key': ..., 'VersionId': ...}`` (VersionId optional).
CopySource = dict[str, str] | str
# Request parameters passed on to botocore, keyed by their API names.
ExtraArgs = dict[str, Any]
