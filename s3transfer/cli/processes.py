"""Many-file jobs split across worker processes (``--processes N``).

One Python process is bounded by its GIL long before the network: each small file
costs about a millisecond of interpreter time in botocore alone (aws-cli#8852).
With ``--processes N`` the planned files are dealt round-robin to N forked workers,
each with its own ``TransferManager`` (same settings) and connections. The parent
prints what the workers report, through its own ``Output`` (so lines, JSON events
and the bar look exactly as with one process), adds their progress up, and builds
one ``DirectoryResult`` for the summary and the exit code.

* ``--fail-fast``: the first failure stops its worker's files and the parent tells
  the other workers to stop.
* Ctrl-C reaches every worker (one process group); SIGTERM/SIGHUP sent to the parent
  alone are passed on. A worker that dies fails its unreported files; a worker whose
  parent dies cancels its files. Each worker cleans up as a single run does
  (journals kept or partial files removed) and the parent waits for them before it
  reports the interruption.

Workers are forked (POSIX only), so nothing is pickled but the messages. Elsewhere,
or for fewer files than two per worker, the job runs in this process.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import multiprocessing
import os
import pickle
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any, TextIO, cast

from s3transfer._progress import ProgressSnapshot
from s3transfer.cli.output import Output, limited
from s3transfer.directory import (
    STOP,
    DirectoryResult,
    DirectoryTransferFuture,
    Failure,
    FileTransfer,
    Plan,
    submit_plan,
)
from s3transfer.manager import TransferConfig, TransferManager

#: How long the parent waits for interrupted workers to clean up, in seconds.
CLEANUP_TIMEOUT = 120.0
_TICK = 0.1
_SIGNALS = ('SIGINT', 'SIGTERM', 'SIGHUP')


def add_processes_option(parser: Any) -> None:
    """``--processes N``: how many worker processes share a many-file job."""
    from s3transfer.cli.common import positive_int

    parser.add_argument(
        '--processes',
        type=positive_int,
        default=1,
        metavar='N',
        help='split the files among N worker processes (default 1: this process)',
    )


def can_split(plan: Plan, processes: int) -> bool:
    """Whether ``plan`` runs in ``processes`` workers (by fork, 2+ files each)."""
    return (
        processes > 1
        and hasattr(os, 'fork')
        and 'fork' in multiprocessing.get_all_start_methods()
        and len(plan.items) >= 2 * processes
    )


def run_plan_in_processes(
    client: Any,
    config: TransferConfig,
    plan: Plan,
    policy: str,
    out: Output,
    operation: str,
    processes: int,
) -> tuple[DirectoryResult, float]:
    """Run ``plan`` in ``processes`` forked workers; report as ``output.run_plan``."""
    for refused in plan.refused:
        out.refused(refused.source, refused.reason)
    for skipped in plan.skipped:
        out.skipped(skipped.source, skipped.reason)
    started = time.monotonic()
    client.close()  # no pooled connection is shared with a worker
    context = multiprocessing.get_context('fork')
    worker_config = _share_of(config, processes)
    shards = [list(range(n, len(plan.items), processes)) for n in range(processes)]
    workers = []
    for shard in shards:
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=_worker,
            args=(
                child_end,
                client,
                worker_config,
                plan,
                shard,
                policy,
                out,
                operation,
            ),
            daemon=True,
        )
        process.start()
        child_end.close()
        workers.append(_Worker(process, parent_end, shard))
    gathered = _Gathered(plan, started)
    try:
        _collect(workers, gathered, out, policy, config)
    except KeyboardInterrupt as interrupt:
        _stop_all(workers, getattr(interrupt, 'signum', signal.SIGINT))
        _drain(workers, gathered, out, deadline=time.monotonic() + CLEANUP_TIMEOUT)
        raise
    finally:
        out.end_progress(limited(gathered.snapshot(), config))
        for worker in workers:
            worker.process.join(timeout=CLEANUP_TIMEOUT)
            worker.conn.close()
    return gathered.result(), time.monotonic() - started


def _share_of(config: TransferConfig, processes: int) -> TransferConfig:
    """A worker's settings: ``--max-bandwidth`` stays a cap on the whole run."""
    limit = getattr(config, 'max_bandwidth', None)
    if not limit:
        return config
    share = copy.copy(config)
    share.max_bandwidth = max(1, limit // processes)
    return share


# -- the parent -----------------------------------------------------------------------


@dataclasses.dataclass
class _Worker:
    process: Any
    conn: Connection
    shard: list[int]
    finished: bool = False


class _Gathered:
    """What the workers reported: each one's progress and the files' outcomes."""

    def __init__(self, plan: Plan, started: float) -> None:
        self._plan = plan
        self._started = started
        self._bytes_total = sum(item.size for item in plan.items)
        self.progress: dict[int, ProgressSnapshot] = {}
        self.succeeded: set[int] = set()
        self.failed: dict[int, BaseException] = {}
        self.cancelled: set[int] = set()

    def snapshot(self) -> ProgressSnapshot:
        """The workers' progress added up, timed from the parent's start."""
        parts = list(self.progress.values())
        return ProgressSnapshot(
            bytes_done=sum(p.bytes_done for p in parts),
            bytes_total=self._bytes_total,
            files_done=sum(p.files_done for p in parts),
            files_failed=sum(p.files_failed for p in parts),
            files_total=len(self._plan.items),
            elapsed=time.monotonic() - self._started,
            bytes_failed=sum(p.bytes_failed for p in parts),
        )

    def result(self) -> DirectoryResult:
        """One ``DirectoryResult`` in plan order; unreported files count cancelled."""
        result = DirectoryResult(
            refused=list(self._plan.refused), skipped=list(self._plan.skipped)
        )
        for index, item in enumerate(self._plan.items):
            if index in self.succeeded:
                result.succeeded.append(item)
            elif index in self.failed:
                result.failed.append(Failure(item, self.failed[index]))
            else:
                result.cancelled.append(item)
        return result


def _collect(
    workers: list[_Worker],
    gathered: _Gathered,
    out: Output,
    policy: str,
    config: TransferConfig,
) -> None:
    """Relay messages until every worker has reported its result."""
    while not all(worker.finished for worker in workers):
        _relay(workers, gathered, out, policy, timeout=_TICK)
        out.progress(limited(gathered.snapshot(), config))


def _relay(
    workers: list[_Worker],
    gathered: _Gathered,
    out: Output,
    policy: str,
    timeout: float,
) -> None:
    live = {worker.conn: worker for worker in workers if not worker.finished}
    for ready in wait(list(live), timeout):
        assert isinstance(ready, Connection)
        worker = live[ready]
        try:
            message = ready.recv()
        except Exception:  # ended (EOF), or a message cut short by an interruption
            _lost(worker, gathered, out)
            continue
        kind = message[0]
        if kind == 'text':
            out.relay(message[1], message[2])
        elif kind == 'progress':
            gathered.progress[workers.index(worker)] = message[1]
        elif kind == 'failed' and policy == STOP:
            _stop_all(workers, None)
        elif kind == 'result':
            _, succeeded, failed, cancelled = message
            shard = worker.shard
            gathered.succeeded.update(shard[i] for i in succeeded)
            gathered.failed.update((shard[i], _loads(e)) for i, e in failed)
            gathered.cancelled.update(shard[i] for i in cancelled)
            worker.finished = True


def _lost(worker: _Worker, gathered: _Gathered, out: Output) -> None:
    """A worker that ended without its result: its unreported files failed."""
    worker.finished = True
    worker.process.join(timeout=CLEANUP_TIMEOUT)
    code = worker.process.exitcode
    if code == 0:
        return
    error = RuntimeError(f'the worker process ended unexpectedly (exit code {code})')
    reported = gathered.succeeded | set(gathered.failed) | gathered.cancelled
    for index in worker.shard:
        if index not in reported:
            gathered.failed[index] = error
    out.warning(f'{len(worker.shard)} files: {error}')


def _stop_all(workers: list[_Worker], signum: int | None) -> None:
    """Tell every running worker to stop (``signum``: pass a signal on instead)."""
    for worker in workers:
        if worker.finished:
            continue
        if signum is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signum)
            continue
        with contextlib.suppress(OSError, ValueError):
            worker.conn.send(('stop',))


def _drain(
    workers: list[_Worker], gathered: _Gathered, out: Output, deadline: float
) -> None:
    """After an interruption: keep relaying until the workers have cleaned up."""
    while not all(worker.finished for worker in workers):
        if time.monotonic() > deadline:
            for worker in workers:
                if not worker.finished:
                    worker.process.kill()
            return
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: keep waiting
            _relay(workers, gathered, out, STOP, timeout=_TICK)


def _dumps(error: BaseException) -> bytes:
    """``error`` pickled, or a ``RuntimeError`` with its words if it cannot be."""
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
        return data
    except Exception:
        return pickle.dumps(RuntimeError(str(error) or type(error).__name__))


def _loads(data: bytes) -> BaseException:
    return pickle.loads(data)


# -- a worker -------------------------------------------------------------------------


class _ToParent:
    """A text stream whose flushed lines go to the parent's ``Output``."""

    def __init__(self, conn: Connection, lock: threading.Lock, stream: str) -> None:
        self._conn = conn
        self._lock = lock
        self._stream = stream
        self._buffer: list[str] = []

    def write(self, text: str) -> int:
        self._buffer.append(text)
        return len(text)

    def flush(self) -> None:
        text = ''.join(self._buffer)
        self._buffer.clear()
        if text:
            _send(self._conn, self._lock, ('text', self._stream, text))

    def isatty(self) -> bool:
        return False


def _worker(
    conn: Connection,
    client: Any,
    config: TransferConfig,
    plan: Plan,
    shard: list[int],
    policy: str,
    out: Output,
    operation: str,
) -> None:
    """Run the files ``shard`` of ``plan``; report lines, progress and outcomes."""
    _interrupt_once()
    parent = os.getppid()
    lock = threading.Lock()
    # The forked copy of the parent's Output (also the one its logging handler holds)
    # now writes to the parent, which prints; the bar stays the parent's.
    out.redirect(
        cast(TextIO, _ToParent(conn, lock, 'stdout')),
        cast(TextIO, _ToParent(conn, lock, 'stderr')),
    )
    items = [plan.items[i] for i in shard]
    position = {id(item): n for n, item in enumerate(items)}
    outcomes: dict[int, BaseException | None] = {}

    def on_file_done(item: FileTransfer, error: BaseException | None) -> None:
        outcomes[position[id(item)]] = error
        out.file_done(item, error, operation)
        if error is not None and not _is_cancel(error):
            _send(conn, lock, ('failed',))

    future: DirectoryTransferFuture | None = None
    try:
        with TransferManager(client, config) as manager:
            future = submit_plan(
                manager, Plan(tuple(items)), policy, on_file_done=on_file_done
            )
            threading.Thread(target=_obey, args=(conn, future), daemon=True).start()
            while not future.wait(_TICK):
                if os.getppid() != parent:  # the parent died: stop, leave no orphan
                    future.cancel()
                _send(conn, lock, ('progress', future.progress()))
    except KeyboardInterrupt:
        pass  # the manager has cancelled and cleaned up; report what happened
    finally:
        if future is not None:
            _send(conn, lock, ('progress', future.progress()))
    done = dict(outcomes)
    _send(
        conn,
        lock,
        (
            'result',
            [n for n, error in done.items() if error is None],
            [(n, _dumps(e)) for n, e in done.items() if e and not _is_cancel(e)],
            [n for n, error in done.items() if error and _is_cancel(error)],
        ),
    )
    conn.close()


def _send(conn: Connection, lock: threading.Lock, message: tuple) -> None:
    with lock, contextlib.suppress(OSError, ValueError):
        conn.send(message)


def _obey(conn: Connection, future: DirectoryTransferFuture) -> None:
    """Cancel the worker's files when the parent says stop (--fail-fast)."""
    with contextlib.suppress(EOFError, OSError):
        while conn.recv()[0] != 'stop':
            pass
        future.cancel()


def _interrupt_once() -> None:
    """The first SIGINT/SIGTERM/SIGHUP interrupts the worker; later ones are ignored,
    so a Ctrl-C that reaches it twice (group and parent) cannot cut its cleanup short.
    """
    for name in _SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    for name in _SIGNALS:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_IGN)
    raise KeyboardInterrupt


def _is_cancel(error: BaseException) -> bool:
    from concurrent.futures import CancelledError

    return isinstance(error, CancelledError)
