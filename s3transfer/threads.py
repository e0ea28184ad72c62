"""Worker threads that outlive one manager: a process-wide pool executors borrow from.

Fast path "shared threads" (docs/performance.md): a ``TransferManager`` built with the
default executor class runs its submission, request and io executors as
``BorrowingExecutor``\\ s instead of three ``ThreadPoolExecutor``\\ s. Each keeps its
own bound (``max_workers``: at most that many of its tasks run at once, in submission
order) and its ``shutdown()`` waits only for its own tasks, but the threads come from
one ``WorkerPool`` for the process, so a boto3 ``upload_file`` call does not start and
join threads of its own. Idle workers exit after :data:`IDLE_TIMEOUT` seconds, when
the interpreter exits (queued work still runs first, as with ``ThreadPoolExecutor``),
and a forked child starts with an empty pool.

Fast path "request on the submitting thread": a transfer that is one request (a
PutObject, or one GetObject) ends its submission task by submitting that request;
``last_submission()`` marks that submit. When the submitting thread is a pool worker
with nothing else queued for its own executor, it runs the request itself right after
the submission task ends, instead of waking another worker: one hand-off fewer. The
request still takes a slot of the request executor (its bound holds) and runs after
the submission task has finished, an order the threaded executors allowed anyway.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from s3transfer import fastpaths

logger = logging.getLogger(__name__)

# Seconds an idle worker waits for work before its thread exits.
IDLE_TIMEOUT = 10.0
THREAD_NAME_PREFIX = 's3transfer-worker'

# Non-daemon workers that the interpreter's exit wakes, as concurrent.futures does;
# daemon workers where that (private) hook is missing.
_register_atexit = getattr(threading, '_register_atexit', None)


class _ThreadState(threading.local):
    """What this thread is doing for the borrowing executors."""

    draining: BorrowingExecutor | None = None  # the executor whose task runs here
    last_submission = False  # inside ``last_submission()``
    run_next: BorrowingExecutor | None = None  # has a slot reserved for this thread


_state = _ThreadState()


@contextlib.contextmanager
def last_submission() -> Iterator[None]:
    """Mark a submit as the last thing the running task does (see the module doc)."""
    _state.last_submission = True
    try:
        yield
    finally:
        _state.last_submission = False


class _Worker:
    """One pool thread: runs a job, then waits (as idle) for the next one."""

    def __init__(self, pool: WorkerPool, job: Callable[[], None]) -> None:
        self.job: Callable[[], None] | None = job
        self.wake = threading.Lock()
        self.wake.acquire()  # released by whoever hands this worker a job
        self._pool = pool
        self.thread = threading.Thread(
            target=self._loop,
            name=f'{THREAD_NAME_PREFIX}-{next(pool.counter)}',
            daemon=_register_atexit is None,
        )

    def _loop(self) -> None:
        while True:
            job, self.job = self.job, None
            if job is None:
                return
            try:
                job()
            except BaseException:  # jobs record their own errors; never lose a worker
                logger.debug('Worker job %s raised.', job, exc_info=True)
            del job
            if not self._pool.park(self):
                return


class WorkerPool:
    """Threads shared by every borrowing executor of the process; grows on demand.

    ``run(job)`` never blocks and never queues: it hands ``job`` to an idle worker
    or starts a new one, so a job waiting on another executor's work cannot starve
    it. Bounds are the executors' business (``BorrowingExecutor``).
    """

    def __init__(self, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.counter = itertools.count()
        self._idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []  # a stack: the most recently parked first
        self._workers: set[_Worker] = set()
        self._closed = False

    @property
    def threads(self) -> list[threading.Thread]:
        """The pool's live threads (busy and idle)."""
        with self._lock:
            return [worker.thread for worker in self._workers]

    @property
    def idle_count(self) -> int:
        """How many workers wait for work."""
        with self._lock:
            return len(self._idle)

    def run(self, job: Callable[[], None]) -> None:
        """Run ``job()`` on a pool thread."""
        with self._lock:
            if self._closed:
                raise RuntimeError('cannot schedule new futures after shutdown')
            if self._idle:
                worker = self._idle.pop()
                worker.job = job
                worker.wake.release()
                return
            worker = _Worker(self, job)
            self._workers.add(worker)
        try:
            worker.thread.start()
        except BaseException:
            with self._lock:
                self._workers.discard(worker)
            raise

    def park(self, worker: _Worker) -> bool:
        """Wait (as idle) for the next job; ``False`` when the worker should exit."""
        with self._lock:
            if self._closed:
                self._workers.discard(worker)
                return False
            self._idle.append(worker)
        if worker.wake.acquire(timeout=self._idle_timeout):
            return worker.job is not None
        with self._lock:
            if worker in self._idle:
                self._idle.remove(worker)
                self._workers.discard(worker)
                return False
        # Handed a job just as the wait timed out: its wake-up is on the way.
        worker.wake.acquire()
        return worker.job is not None

    def close(self) -> None:
        """Refuse new jobs; idle workers exit now, busy ones after their job."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            for worker in idle:
                self._workers.discard(worker)
                worker.job = None
                worker.wake.release()


class BorrowingExecutor:
    """A ``ThreadPoolExecutor`` look-alike whose threads are borrowed from the pool.

    At most ``max_workers`` of its tasks run at once, taken in submission order (one
    worker: strictly in order); ``shutdown(wait=True)`` returns once its own tasks
    are done, whatever other executors still run.
    """

    def __init__(
        self, max_workers: int | None = None, pool: WorkerPool | None = None
    ) -> None:
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        if max_workers <= 0:
            raise ValueError('max_workers must be greater than 0')
        self._max_workers = max_workers
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._borrowed = 0  # pool workers currently draining this executor's queue
        self._all_done: threading.Event | None = None  # made by a waiting shutdown
        self._shut_down = False
        self._pool = pool  # None: the process's shared pool, looked up per submit
        self._generation = _generation

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)``; return its ``Future``."""
        future: Future = Future()
        if self._generation != _generation:
            self._after_fork()
        with self._lock:
            if self._shut_down:
                raise RuntimeError('cannot schedule new futures after shutdown')
            self._queue.append((future, fn, args, kwargs))
            if self._borrowed >= self._max_workers:
                return future
            self._borrowed += 1
        if self._may_run_next_here():
            _state.run_next = self
            return future
        try:
            (self._pool or shared_pool()).run(self._drain)
        except BaseException:
            with self._lock:
                self._queue.remove((future, fn, args, kwargs))
                self._release_borrowed()
            raise
        return future

    def _may_run_next_here(self) -> bool:
        """Whether this thread may run the task just queued once its own task ends."""
        draining = _state.draining
        return (
            _state.last_submission
            and draining is not None
            and draining is not self
            and _state.run_next is None
            and not draining._queue  # nobody waits for this thread's executor
            and SUBMITTING_THREAD_RUNS_REQUEST.passed()
        )

    def _drain(self) -> None:
        """Run queued tasks until the queue is empty, then give the worker back."""
        previous, _state.draining = _state.draining, self
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._release_borrowed()
                        return
                    future, fn, args, kwargs = self._queue.popleft()
                _run_task(future, fn, args, kwargs)
                del future, fn, args, kwargs
                run_next, _state.run_next = _state.run_next, None
                if run_next is not None:
                    run_next._run_one_here()
        finally:
            _state.draining = previous

    def _run_one_here(self) -> None:
        """Run one queued task on this thread with the slot reserved for it."""
        with self._lock:
            item = self._queue.popleft() if self._queue else None
            if item is None:
                self._release_borrowed()
                return
        previous, _state.draining = _state.draining, self
        try:
            _run_task(*item)
        finally:
            _state.draining = previous
        del item
        with self._lock:
            if not self._queue:
                self._release_borrowed()
                return
        # More arrived meanwhile: a pool worker drains the rest with the same slot.
        try:
            (self._pool or shared_pool()).run(self._drain)
        except BaseException:
            with self._lock:
                self._release_borrowed()
            raise

    def _release_borrowed(self) -> None:
        """Give back one borrowed slot (lock held)."""
        self._borrowed -= 1
        if not self._borrowed and self._all_done is not None:
            self._all_done.set()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new tasks; with ``wait``, return once this executor's tasks ran."""
        if self._generation != _generation:
            self._after_fork()
        with self._lock:
            self._shut_down = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft()[0].cancel()
            if not wait or not self._borrowed:
                return
            if self._all_done is None:
                self._all_done = threading.Event()
            all_done = self._all_done
        all_done.wait()

    def _after_fork(self) -> None:
        # In a forked child the parent's workers (and any lock they held) are gone.
        self._lock = threading.Lock()
        self._all_done = None
        self._borrowed = 0
        self._generation = _generation


def _run_task(future: Future, fn: Callable, args: tuple, kwargs: dict) -> None:
    """Run one task into its future, as ``ThreadPoolExecutor``'s workers do."""
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


_pool = WorkerPool()
_generation = 0  # bumped in a forked child: executors then forget what they borrowed


def shared_pool() -> WorkerPool:
    """The process's pool."""
    return _pool


def _reset_after_fork() -> None:
    """In a forked child: an empty pool, and executors with nothing borrowed."""
    global _pool, _generation
    _pool = WorkerPool()
    _generation += 1


def _close_at_exit() -> None:
    _pool.close()


os.register_at_fork(after_in_child=_reset_after_fork)
if _register_atexit is not None:
    try:
        _register_atexit(_close_at_exit)
    except RuntimeError:  # imported while the interpreter shuts down
        pass


def _can_share_threads() -> bool:
    return True


SHARED_THREADS = fastpaths.SelfCheck('shared threads', _can_share_threads)
SUBMITTING_THREAD_RUNS_REQUEST = fastpaths.SelfCheck(
    'request on the submitting thread', _can_share_threads
)
