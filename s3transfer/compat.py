"""Small portability helpers."""

import errno
import inspect
import os
import socket  # noqa: F401  (kept as a module attribute, as in the original)
import sys
from collections.abc import Callable
from typing import Any

from botocore.compat import six  # noqa: F401  (re-exported, unused by the package)

if sys.platform.startswith('win'):

    def rename_file(current_filename: str, new_filename: str) -> None:
        """Rename, replacing ``new_filename`` if it exists (Windows needs help)."""
        try:
            os.remove(new_filename)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        os.rename(current_filename, new_filename)

else:
    rename_file = os.rename


def accepts_kwargs(func: Callable[..., Any]) -> str | None:
    """Return the name of ``func``'s ``**kwargs`` parameter, or ``None``."""
    return inspect.getfullargspec(func)[2]


# Deliberately narrower than OSError: only connection-level failures are retried.
SOCKET_ERROR = ConnectionError
MAXINT = None


def seekable(fileobj: Any) -> bool:
    """Whether ``fileobj`` can seek, probing with ``seek(0, 1)`` when it cannot say."""
    if hasattr(fileobj, 'seekable'):
        return fileobj.seekable()
    if hasattr(fileobj, 'seek') and hasattr(fileobj, 'tell'):
        try:
            fileobj.seek(0, 1)
            return True
        except OSError:
            return False
    return False


def readable(fileobj: Any) -> bool:
    """Whether ``fileobj`` can be read from."""
    if hasattr(fileobj, 'readable'):
        return fileobj.readable()
    return hasattr(fileobj, 'read')


def fallocate(fileobj: Any, size: int) -> None:
    """Reserve ``size`` bytes for ``fileobj`` on disk."""
    if hasattr(os, 'posix_fallocate'):
        os.posix_fallocate(fileobj.fileno(), 0, size)
    else:
        fileobj.truncate(size)


from multiprocessing.managers import BaseManager  # noqa: E402, F401
