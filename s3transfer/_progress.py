"""Progress of a set of transfers: one thread-safe tally and pure formatting.

Everything that counts bytes or files for the command line and directory transfers
lives here; subscribers feed the tally; the command line's displays
(``s3transfer.cli.output``) only read snapshots of it. One unit system: binary (KiB).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from s3transfer.subscribers import BaseSubscriber

_UNITS = ('B', 'KiB', 'MiB', 'GiB', 'TiB')


@dataclass(frozen=True)
class ProgressSnapshot:
    """Counts of a transfer set at one instant."""

    bytes_done: int
    bytes_total: int
    files_done: int
    files_failed: int
    files_total: int
    elapsed: float
    bytes_failed: int = 0
    #: A bandwidth limit (bytes/s) the rate cannot exceed in the long run: the
    #: limiter lets its first chunk through at once, so the plain average says more.
    max_rate: float | None = None


class ProgressTally:
    """Thread-safe running totals of bytes and files for a set of transfers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._start = clock()
        self._bytes_done = 0
        self._bytes_total = 0
        self._files_done = 0
        self._files_failed = 0
        self._files_total = 0
        self._bytes_failed = 0

    def expect(self, size: int) -> None:
        """Count one more file of ``size`` bytes in the set."""
        with self._lock:
            self._files_total += 1
            self._bytes_total += size

    def add_bytes(self, amount: int) -> None:
        """Record ``amount`` bytes moved (negative when a request was retried)."""
        with self._lock:
            self._bytes_done += amount

    def fail_bytes(self, moved: int, size: int) -> None:
        """Count a failed file's ``size`` as failed, taking back the ``moved`` bytes."""
        with self._lock:
            self._bytes_done -= moved
            self._bytes_failed += size

    def finish_file(self, failed: bool) -> None:
        """Record one file as finished, successfully or not."""
        with self._lock:
            self._files_done += 1
            self._files_failed += int(failed)

    def snapshot(self) -> ProgressSnapshot:
        """Return the current counts."""
        with self._lock:
            return ProgressSnapshot(
                bytes_done=self._bytes_done,
                bytes_total=self._bytes_total,
                files_done=self._files_done,
                files_failed=self._files_failed,
                files_total=self._files_total,
                elapsed=self._clock() - self._start,
                bytes_failed=self._bytes_failed,
            )

    def subscriber(self, size: int | None = None) -> BaseSubscriber:
        """Return a subscriber that feeds this tally from one transfer of ``size``.

        If the transfer fails, its bytes move from done to failed.
        """
        return _TallySubscriber(self, size)


class _TallySubscriber(BaseSubscriber):
    """Feeds a ``ProgressTally`` with one transfer's progress and outcome."""

    def __init__(self, tally: ProgressTally, size: int | None = None) -> None:
        self._tally = tally
        self._size = size
        self._lock = threading.Lock()  # parts report progress from several threads
        self._moved = 0

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        with self._lock:
            self._moved += bytes_transferred
        self._tally.add_bytes(bytes_transferred)

    def on_done(self, future: Any, **kwargs: Any) -> None:
        try:
            future.result()
        except BaseException:
            with self._lock:
                moved = self._moved
            self._tally.fail_bytes(moved, moved if self._size is None else self._size)
            self._tally.finish_file(failed=True)
        else:
            self._tally.finish_file(failed=False)


def format_size(num_bytes: float) -> str:
    """Render a byte count with a binary unit, e.g. ``'20.0 MiB'``."""
    value = float(num_bytes)
    for unit in _UNITS[:-1]:
        if abs(value) < 1024:
            return f'{int(value)} B' if unit == 'B' else f'{value:.1f} {unit}'
        value /= 1024
    return f'{value:.1f} {_UNITS[-1]}'


def format_duration(seconds: float) -> str:
    """Render seconds as ``'42s'``, ``'3m05s'`` or ``'1h02m'``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f'{seconds}s'
    if seconds < 3600:
        return f'{seconds // 60}m{seconds % 60:02d}s'
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'


def rate(snapshot: ProgressSnapshot) -> float:
    """Average bytes per second since the start (at most ``max_rate``, if set)."""
    average = snapshot.bytes_done / snapshot.elapsed if snapshot.elapsed > 0 else 0.0
    if snapshot.max_rate is not None:
        return min(average, snapshot.max_rate)
    return average


def eta(snapshot: ProgressSnapshot) -> float | None:
    """Seconds left at the average rate, or ``None`` while no rate is known."""
    speed = rate(snapshot)
    if speed <= 0:
        return None
    return max(0, snapshot.bytes_total - snapshot.bytes_done) / speed


def percent(snapshot: ProgressSnapshot) -> int:
    """Whole percent of bytes done; an empty set counts files instead.

    Never 100 before every file has finished.
    """
    if snapshot.bytes_total > 0:
        done, total = snapshot.bytes_done, snapshot.bytes_total
    else:
        done, total = snapshot.files_done, snapshot.files_total
    if total <= 0:
        return 100
    value = min(100, max(0, done * 100 // total))
    # All bytes sent is not done while a file still waits for its last request.
    if snapshot.files_done < snapshot.files_total:
        value = min(value, 99)
    return value


def format_line(snapshot: ProgressSnapshot) -> str:
    """One plain-text progress line (no control characters)."""
    remaining = eta(snapshot)
    eta_text = '?' if remaining is None else format_duration(remaining)
    return (
        f'{format_size(snapshot.bytes_done)} / {format_size(snapshot.bytes_total)} '
        f'({percent(snapshot)}%), {format_size(rate(snapshot))}/s, '
        f'ETA {eta_text}, {format_files(snapshot)}'
    )


def format_files(snapshot: ProgressSnapshot) -> str:
    """``'files 3/10'``, with ``', 2 failed'`` when some failed."""
    text = f'files {snapshot.files_done}/{snapshot.files_total}'
    if snapshot.files_failed:
        text += f', {snapshot.files_failed} failed'
    return text
