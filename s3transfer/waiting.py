"""Interruptible waiting: the one home for every wait and sleep that must stay live.

Two reasons a wait is cut into short slices:

* Ctrl-C: the OS may deliver SIGINT to any thread, and the main thread only raises
  ``KeyboardInterrupt`` once its current wait returns; a single long ``Event.wait()``
  would hide the interrupt until it ends.
* Cancellation: a sleep (retry backoff, bandwidth throttling) must end soon after the
  transfer it serves is cancelled or failed: it checks a stop condition between slices.
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections.abc import Callable, Iterator

# Longest delay, in seconds, before a waiter notices Ctrl-C or a stop condition.
CHECK_INTERVAL = 0.1

StopCondition = Callable[[], bool] | threading.Event


def wait_for_event(event: threading.Event, timeout: float | None = None) -> bool:
    """Wait until ``event`` is set (or ``timeout`` seconds pass); Ctrl-C stays live.

    Returns whether the event is set.
    """
    if timeout is None:
        while not event.wait(CHECK_INTERVAL):
            pass
        return True
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return event.is_set()
        if event.wait(min(CHECK_INTERVAL, remaining)):
            return True


def wait_for_future(future: concurrent.futures.Future) -> None:
    """Wait until ``future`` is done, in slices so Ctrl-C stays live."""
    while not future.done():
        concurrent.futures.wait([future], CHECK_INTERVAL)


def _stop_requested(stop: StopCondition | None) -> bool:
    if stop is None:
        return False
    if isinstance(stop, threading.Event):
        return stop.is_set()
    return bool(stop())


def sleep(seconds: float, stop: StopCondition | None = None) -> bool:
    """Sleep ``seconds`` unless ``stop`` (an ``Event`` or a predicate) comes true first.

    The stop condition is checked at least every :data:`CHECK_INTERVAL` seconds (an
    ``Event`` wakes the sleeper at once). Returns ``True`` when the sleep was cut
    short by ``stop``, ``False`` when it ran its full length.
    """
    deadline = time.monotonic() + max(seconds, 0.0)
    while True:
        if _stop_requested(stop):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        slice_ = min(CHECK_INTERVAL, remaining)
        if isinstance(stop, threading.Event):
            if stop.wait(slice_):
                return True
        else:
            time.sleep(slice_)


def slices(seconds: float, interval: float = CHECK_INTERVAL) -> Iterator[float]:
    """Split a wait of ``seconds`` into equal slices of at most ``interval`` seconds.

    For waits that must go through another sleep seam (e.g. bandwidth's
    ``TimeUtils.sleep``): the caller sleeps each slice and checks its stop condition
    in between. The slices add up to ``seconds``.
    """
    if seconds <= 0:
        return
    count = math.ceil(seconds / interval)
    for _ in range(count):
        yield seconds / count
