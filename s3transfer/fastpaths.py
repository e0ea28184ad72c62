"""The one switch and the first-use self-check shared by every fast path.

A fast path does something the plain way (the original's) would do, more cheaply. Each
lives next to the code it speeds up and is listed in docs/performance.md. Setting the
environment variable ``S3TRANSFER_NO_FAST_PATHS=1`` turns all of them off; a fast path
that leans on botocore's private internals also checks them once, at first use, and
steps aside (never failing a transfer) when they do not hold.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

ENV_VAR = 'S3TRANSFER_NO_FAST_PATHS'


def enabled() -> bool:
    """Whether fast paths may run: ``S3TRANSFER_NO_FAST_PATHS`` unset, empty or 0."""
    return _setting().strip() in ('', '0')


# ``os.environ.get`` encodes the name on every lookup (~1 us, several lookups per
# small transfer); the mapping of encoded names it then reads (CPython's
# ``os.environ._data``, changed by every update made through ``os.environ``) is read
# directly when it is there, with the name encoded once.
_ENVIRON = os.environ
_ENCODED: object = None
try:
    _ENCODED = _ENVIRON.encodekey(ENV_VAR)
    _DATA: dict | None = _ENVIRON._data  # type: ignore[attr-defined]
except AttributeError:  # another Python's os.environ
    _DATA = None


def _setting() -> str:
    if _DATA is None or os.environ is not _ENVIRON:
        return os.environ.get(ENV_VAR, '')
    value = _DATA.get(_ENCODED)
    if value is None:
        return ''
    return _ENVIRON.decodevalue(value)


class SelfCheck:
    """A fast path's precondition, checked once at first use (thread-safe).

    ``check`` returns whether the internals the fast path relies on still behave as
    expected; an exception counts as "no". The verdict is kept for the process.
    """

    def __init__(self, name: str, check: Callable[[], bool]) -> None:
        self.name = name
        self._check = check
        self._verdict: bool | None = None
        self._lock = threading.Lock()

    def passed(self) -> bool:
        """Whether the fast path may run now: switched on, and its check passed."""
        if not enabled():
            return False
        verdict = self._verdict
        if verdict is None:
            with self._lock:
                if self._verdict is None:
                    self._verdict = self._run_check()
                verdict = self._verdict
        return verdict

    def reset(self) -> None:
        """Forget the verdict, so the next use checks again (for tests)."""
        with self._lock:
            self._verdict = None

    def _run_check(self) -> bool:
        try:
            verdict = bool(self._check())
        except Exception:
            logger.debug('Self-check of %s raised.', self.name, exc_info=True)
            verdict = False
        if not verdict:
            logger.debug('Fast path %s steps aside: its self-check failed.', self.name)
        return verdict
