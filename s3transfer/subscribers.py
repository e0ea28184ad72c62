"""The base class for objects that receive transfer events."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from s3transfer.compat import accepts_kwargs
from s3transfer.exceptions import InvalidSubscriberMethodError


class BaseSubscriber:
    """Receives ``on_queued``, ``on_progress`` and ``on_done`` events of a transfer.

    Subclasses override any of the ``on_*`` methods; each must accept ``**kwargs``.
    """

    VALID_SUBSCRIBER_TYPES = ['queued', 'progress', 'done']

    def __new__(cls, *args: Any, **kwargs: Any) -> BaseSubscriber:
        # Accept any constructor arguments so subclasses may define their own __init__.
        cls._validate_subscriber_methods()
        return object.__new__(cls)

    @classmethod
    @lru_cache
    def _validate_subscriber_methods(cls) -> None:
        # lru_cache memoizes only successful returns, so failures raise every time.
        for subscriber_type in cls.VALID_SUBSCRIBER_TYPES:
            _validate_subscriber_method(cls, 'on_' + subscriber_type)

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        """Called once when the transfer is queued, before any request is made."""

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        """Called with each byte delta transferred (negative when a retry rewinds)."""

    def on_done(self, future: Any, **kwargs: Any) -> None:
        """Called once when the transfer finished, failed or was cancelled."""


def _validate_subscriber_method(cls: type, attr: str) -> None:
    """Raise InvalidSubscriberMethodError unless ``cls.<attr>`` takes ``**kwargs``."""
    method = getattr(cls, attr)
    if not callable(method):
        raise InvalidSubscriberMethodError(
            f'Subscriber method {attr} must be callable.'
        )
    if not accepts_kwargs(method):
        raise InvalidSubscriberMethodError(
            f'Subscriber method {attr} must accept keyword arguments (**kwargs)'
        )
