"""What a run prints: one line (or JSON object) per event, errors in words, the bar.

Text mode: ``upload: a.txt to s3://b/a.txt`` per finished file on stdout, failures
on stderr as they happen, a live bar on a terminal (plain ``progress:`` lines
elsewhere, and on terminals too narrow for a bar), then a summary.
JSON mode (``--output json``): one JSON object per line on stdout, with an
``"event"`` field; the schema is in ``docs/cli.md``. No bar, no plain progress.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from s3transfer._progress import (
    ProgressSnapshot,
    eta,
    format_duration,
    format_files,
    format_line,
    format_size,
    percent,
    rate,
)
from s3transfer.cli.common import printable
from s3transfer.cli.errors import describe_error, error_code
from s3transfer.directory import (
    DirectoryResult,
    FileCopy,
    FileDownload,
    FileTransfer,
    FileUpload,
    Plan,
    submit_plan,
)
from s3transfer.manager import TransferConfig, TransferManager

TEXT = 'text'
JSON = 'json'
MIN_BAR_WIDTH = 20  # below this many columns a terminal gets plain progress lines
_CLEAR_LINE = '\r\x1b[K'


def operation_of(item: FileTransfer) -> str:
    """``'upload'``, ``'download'`` or ``'copy'``: the AWS CLI's word for ``item``."""
    if isinstance(item, FileUpload):
        return 'upload'
    if isinstance(item, FileDownload):
        return 'download'
    if isinstance(item, FileCopy):
        return 'copy'
    return getattr(item, 'operation', 'delete' if not item.destination else 'transfer')


def route(item: Any) -> str:
    """``source to destination`` (just the source when there is no destination)."""
    return f'{item.source} to {item.destination}' if item.destination else item.source


# -- The bar ------------------------------------------------------------------------


def render_bar(snapshot: ProgressSnapshot, width: int) -> str | None:
    """One bar line fitting in ``width - 1`` columns, or ``None`` if it cannot fit.

    The last column stays empty so that no terminal wraps the line.
    """
    room = width - 1
    head = f'{percent(snapshot):3d}%'
    if room < max(MIN_BAR_WIDTH - 1, len(head) + 12):
        return None
    remaining = eta(snapshot)
    parts = [
        f'{format_size(snapshot.bytes_done)}/{format_size(snapshot.bytes_total)}',
        f'{format_size(rate(snapshot))}/s',
        'ETA ' + ('?' if remaining is None else format_duration(remaining)),
        format_files(snapshot),
    ]
    tail = ''
    for part in parts:  # most important first; drop the rest when narrow
        if len(head) + 2 + 10 + len(tail) + 1 + len(part) > room:
            break
        tail += ' ' + part
    bar_width = room - len(head) - 2 - len(tail)
    total = snapshot.bytes_total
    filled = (
        bar_width if total <= 0 else bar_width * max(0, snapshot.bytes_done) // total
    )
    if percent(snapshot) < 100:
        filled = min(filled, bar_width - 1)
    return f'{head}|{"#" * filled}{"-" * (bar_width - filled)}|{tail}'


def terminal_width(stream: TextIO) -> int:
    """Columns of the terminal behind ``stream`` (0 when unknown)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Output:
    """Prints a run's events as text or JSON; thread-safe (transfer threads report)."""

    def __init__(
        self,
        mode: str = TEXT,
        show: str = 'all',
        progress: bool = True,
        file_lines: bool = True,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        width: Callable[[TextIO], int] = terminal_width,
    ) -> None:
        self.mode = mode
        self._show = show  # 'all' or 'errors'
        self._file_lines = file_lines
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._width = width
        self._lock = threading.Lock()
        self._live = progress and mode == TEXT and show == 'all'
        self._tty = self._live and self._stdout.isatty()
        self._bar_drawn = False
        self._last_plain: float | None = None

    # -- events ---------------------------------------------------------------------

    def file_done(
        self, item: FileTransfer, error: BaseException | None, operation: str = ''
    ) -> None:
        """Report one finished file: a line on success, the cause on failure."""
        operation = operation or operation_of(item)
        if error is None:
            if self._file_lines:
                self.file_event('done', f'{operation}: {route(item)}', operation, item)
        elif not _is_cancel(error):
            cause = describe_error(error)
            self.file_failed(operation, item, cause, code=error_code(error))

    def file_event(self, event: str, text: str, operation: str, item: Any) -> None:
        """A normal event of one file (``item``: source, destination, size)."""
        self.event(
            event,
            text,
            operation=operation,
            source=item.source,
            destination=item.destination,
            size=item.size,
        )

    def file_failed(
        self, operation: str, item: Any, cause: str | None, **fields: Any
    ) -> None:
        """One file failed: ``<operation> failed: <route>: <cause>``."""
        self.problem(
            'failed',
            f'{operation} failed: {route(item)}: {cause}',
            operation=operation,
            source=item.source,
            destination=item.destination,
            error=cause,
            **fields,
        )

    def failure(self, text: str, error: BaseException, **fields: Any) -> None:
        """Report a failure: ``text: cause in words`` (JSON: ``error``, ``code``)."""
        cause = describe_error(error)
        fields.update(error=cause, code=error_code(error))
        self.problem('failed', f'{text}: {cause}', **fields)

    def problem(self, event: str, text: str, **fields: Any) -> None:
        """Report something that went wrong (always shown, on stderr in text mode)."""
        self._emit(event, text, fields, self._stderr)

    def warning(self, text: str, **fields: Any) -> None:
        """A warning (shown even with --only-show-errors, like the AWS CLI's)."""
        self.problem('warning', f'warning: {text}', message=text, **fields)

    def event(self, event: str, text: str, **fields: Any) -> None:
        """Report a normal event (hidden by --only-show-errors/--quiet)."""
        if self._show == 'all':
            self._emit(event, text, fields, self._stdout)

    def refused(self, source: str, reason: str) -> None:
        """A planned entry that was not transferred, and why."""
        self.problem(
            'refused', f'refused: {source}: {reason}', source=source, reason=reason
        )

    def skipped(self, source: str, reason: str) -> None:
        """An entry left out on purpose (``--no-follow-symlinks``): never silent."""
        self.event(
            'skipped', f'skipped: {source}: {reason}', source=source, reason=reason
        )

    def summary(self, result: DirectoryResult, elapsed: float, **extra: int) -> None:
        """The counts of a run (text: one line)."""
        moved = sum(item.size for item in result.succeeded)
        counts = {
            'succeeded': len(result.succeeded),
            'failed': len(result.failed),
            'refused': len(result.refused),
            'cancelled': len(result.cancelled),
            **extra,
        }
        text = (
            f'{counts["succeeded"]} transferred '
            f'({format_size(moved)} in {elapsed:.2f}s), '
            f'{counts["failed"]} failed, {counts["refused"]} refused'
        )
        if result.cancelled:
            text += f', {len(result.cancelled)} cancelled'
        for name, value in extra.items():
            text += f', {value} {name}'
        self.event('summary', text, bytes=moved, seconds=round(elapsed, 3), **counts)

    # -- progress -------------------------------------------------------------------

    def progress(self, snapshot: ProgressSnapshot, final: bool = False) -> None:
        """Redraw the bar (terminal) or print a progress line at most once a second."""
        if not self._live:
            return
        with self._lock:
            width = self._width(self._stdout) if self._tty else 0
            line = render_bar(snapshot, width) if self._tty else None
            if line is not None:
                self._stdout.write(_CLEAR_LINE + line)
                self._stdout.flush()
                self._bar_drawn = True
                return
            self._clear_bar()
            last = self._last_plain
            if final or last is None or snapshot.elapsed - last >= 1.0:
                self._last_plain = snapshot.elapsed
                print(
                    f'progress: {format_line(snapshot)}', file=self._stdout, flush=True
                )

    def end_progress(self, snapshot: ProgressSnapshot) -> None:
        """Draw the final state, then clear the bar: what follows starts clean."""
        self.progress(snapshot, final=True)
        with self._lock:
            self._clear_bar()

    # -- worker processes --------------------------------------------------------

    def redirect(self, stdout: TextIO, stderr: TextIO) -> None:
        """Write to these streams from now on, without a bar (a worker process)."""
        with self._lock:
            self._stdout, self._stderr = stdout, stderr
            self._live = self._tty = self._bar_drawn = False

    def relay(self, stream: str, text: str) -> None:
        """Print what a worker wrote to its ``stream`` (``stdout`` or ``stderr``)."""
        with self._lock:
            self._clear_bar()
            target = self._stdout if stream == 'stdout' else self._stderr
            target.write(text)
            target.flush()

    # -- helpers --------------------------------------------------------------------

    def _emit(
        self, event: str, text: str, fields: dict[str, Any], file: TextIO
    ) -> None:
        """JSON: the event and its fields on stdout; text: ``text`` on ``file``."""
        if self.mode == JSON:
            self._json({'event': event, **fields})
            return
        with self._lock:
            self._clear_bar()
            print(printable(text), file=file, flush=True)

    def _clear_bar(self) -> None:
        if self._bar_drawn:
            self._stdout.write(_CLEAR_LINE)
            self._stdout.flush()
            self._bar_drawn = False

    def _json(self, event: dict[str, Any]) -> None:
        with self._lock:
            print(json.dumps(event, ensure_ascii=False), file=self._stdout, flush=True)


def _is_cancel(error: BaseException) -> bool:
    from concurrent.futures import CancelledError

    return isinstance(error, CancelledError)


def from_args(args: Any, data_on_stdout: bool = False) -> Output:
    """The ``Output`` the output flags ask for.

    When object data goes to stdout, messages go to stderr and no bar is drawn.
    """
    quiet = getattr(args, 'quiet', False) or getattr(args, 'only_show_errors', False)
    return Output(
        mode=getattr(args, 'output', TEXT) or TEXT,
        show='errors' if quiet else 'all',
        progress=not getattr(args, 'no_progress', False) and not data_on_stdout,
        stdout=sys.stderr if data_on_stdout else None,
    )


def limited(snapshot: ProgressSnapshot, config: TransferConfig) -> ProgressSnapshot:
    """``snapshot`` whose shown rate (and ETA) respect ``--max-bandwidth``."""
    limit = getattr(config, 'max_bandwidth', None)
    return snapshot if limit is None else dataclasses.replace(snapshot, max_rate=limit)


def run_plan(
    client: Any,
    config: TransferConfig,
    plan: Plan,
    policy: str,
    out: Output,
    operation: str = '',
) -> tuple[DirectoryResult, float]:
    """Run ``plan``, reporting each file as it finishes; Ctrl-C cancels the rest."""
    for refused in plan.refused:
        out.refused(refused.source, refused.reason)
    for skipped in plan.skipped:
        out.skipped(skipped.source, skipped.reason)

    def on_file_done(item: FileTransfer, error: BaseException | None) -> None:
        out.file_done(item, error, operation)

    with TransferManager(client, config) as manager:
        future = submit_plan(manager, plan, policy, on_file_done=on_file_done)
        try:
            while not future.wait(0.1):
                out.progress(limited(future.progress(), config))
        finally:
            out.end_progress(limited(future.progress(), config))
    return future.result(), future.progress().elapsed


def error(message: str) -> None:
    """Print one error line on stderr, control characters escaped."""
    print(printable(message), file=sys.stderr, flush=True)
