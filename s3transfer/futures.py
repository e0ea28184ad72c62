"""Futures handed to callers, the per-transfer coordinator and the bounded executors.

Everything that reads or changes a transfer's status lives in ``TransferCoordinator``
below; the statuses and the transitions between them are the one table
``_ALLOWED_TRANSITIONS``.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent import futures
from types import TracebackType
from typing import Any

from s3transfer.exceptions import CancelledError, TransferNotDoneError
from s3transfer.threads import SHARED_THREADS, BorrowingExecutor
from s3transfer.utils import FunctionContainer, NoResourcesAvailable, TaskSemaphore
from s3transfer.waiting import wait_for_event

try:
    from botocore.context import get_context
except ImportError:

    def get_context() -> Any:
        """Stand-in for botocore's context lookup on botocore versions without it."""
        return None


logger = logging.getLogger(__name__)

_NOT_DONE_STATES = ('not-started', 'queued', 'running')
_DONE_STATES = ('success', 'failed', 'cancelled')

# status -> the statuses it may be entered from. Only `set_result` (the final task
# always wins) and `set_exception(override=True)` may leave a done status.
_ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    'not-started': (),
    'queued': _NOT_DONE_STATES,
    'running': _NOT_DONE_STATES,
    'success': _NOT_DONE_STATES + _DONE_STATES,
    'failed': _NOT_DONE_STATES,
    'cancelled': _NOT_DONE_STATES,
}


def _is_allowed(current: str, desired: str) -> bool:
    """Whether the coordinator may move from ``current`` to ``desired``."""
    return current in _ALLOWED_TRANSITIONS[desired]


class BaseTransferFuture:
    """Interface of the future returned for every transfer."""

    @property
    def meta(self) -> BaseTransferMeta:
        """Metadata about the transfer."""
        raise NotImplementedError('meta')

    def done(self) -> bool:
        """Whether the transfer is finished (successfully or not)."""
        raise NotImplementedError('done()')

    def result(self) -> Any:
        """Wait for the transfer; return its result or raise its exception."""
        raise NotImplementedError('result()')

    def cancel(self) -> None:
        """Cancel the transfer."""
        raise NotImplementedError('cancel()')


class BaseTransferMeta:
    """Interface of the metadata attached to a transfer future."""

    @property
    def call_args(self) -> Any:
        """The arguments the transfer was requested with."""
        raise NotImplementedError('call_args')

    @property
    def transfer_id(self) -> Any:
        """The id of the transfer."""
        raise NotImplementedError('transfer_id')

    @property
    def user_context(self) -> dict:
        """A dict callers may use to attach their own data."""
        raise NotImplementedError('user_context')


class MetaRecord(BaseTransferMeta):
    """``BaseTransferMeta`` kept as given: the call arguments, the id and a fresh
    user-context dict (the base of every engine's meta: threads, CRT, processes)."""

    def __init__(self, call_args: Any = None, transfer_id: Any = None) -> None:
        self._call_args = call_args
        self._transfer_id = transfer_id
        self._user_context: dict = {}

    @property
    def call_args(self) -> Any:
        """The ``CallArgs`` the transfer was requested with."""
        return self._call_args

    @property
    def transfer_id(self) -> Any:
        """The id of the transfer."""
        return self._transfer_id

    @property
    def user_context(self) -> dict:
        """A per-transfer dict for callers' own data."""
        return self._user_context


class TransferMeta(MetaRecord):
    """Call arguments, id, size, etag and user data of one transfer."""

    def __init__(self, call_args: Any = None, transfer_id: Any = None) -> None:
        super().__init__(call_args, transfer_id)
        self._size: int | None = None
        self._etag: str | None = None
        self._checksum_verification: Any = None

    @property
    def size(self) -> int | None:
        """The transfer size in bytes, once known."""
        return self._size

    @property
    def etag(self) -> str | None:
        """The object's ETag, if provided."""
        return self._etag

    def provide_transfer_size(self, size: int) -> None:
        """Record the size, sparing the transfer from looking it up."""
        self._size = size

    def provide_object_etag(self, etag: str) -> None:
        """Record the ETag ranged requests must match."""
        self._etag = etag

    @property
    def checksum_verification(self) -> Any:
        """A download's ``checksums.VerificationResult`` (``None``: not asked for)."""
        return self._checksum_verification

    def provide_checksum_verification(self, result: Any) -> None:
        """Record what verifying the download established (or that it could not)."""
        self._checksum_verification = result


class TransferFuture(BaseTransferFuture):
    """The caller's handle on one transfer, backed by its coordinator."""

    def __init__(
        self,
        meta: TransferMeta | None = None,
        coordinator: TransferCoordinator | None = None,
    ) -> None:
        self._meta = TransferMeta() if meta is None else meta
        self._coordinator = (
            TransferCoordinator() if coordinator is None else coordinator
        )

    @property
    def meta(self) -> TransferMeta:
        """Metadata about the transfer."""
        return self._meta

    def done(self) -> bool:
        """Whether the transfer is finished (successfully or not)."""
        return self._coordinator.done()

    def result(self) -> Any:
        """Wait for the transfer; on Ctrl-C cancel it before re-raising."""
        try:
            return self._coordinator.result()
        except KeyboardInterrupt:
            # Ctrl-C interrupts: a resumable transfer keeps its state.
            self._coordinator.keep_resume_state = True
            self.cancel()
            raise

    def cancel(self) -> None:
        """Cancel the transfer with a ``CancelledError``."""
        self._coordinator.cancel()

    @property
    def resume_token(self) -> Any:
        """A ``ResumeToken`` snapshot of a resumable transfer, else ``None``.

        Only multipart uploads from a file name and ranged downloads to a file name
        of a manager with ``TransferConfig(resumable=True)`` (or ``resume_dir``) have
        one, once their multipart upload or temp file exists.
        """
        journal = self._coordinator.resume_journal
        if journal is None or self._coordinator.status == 'success':
            return None
        token = journal.snapshot()
        if token.kind == 'upload' and token.upload_id is None:
            return None
        return token

    def pause(self) -> Any:
        """Stop the transfer, keeping its state; wait for it; return ``resume_token``.

        Unlike ``cancel()``, the multipart upload or temp file (and the journal in
        ``resume_dir``) stay, for ``TransferManager.resume`` or a later run. Do not
        call it from the transfer's own callbacks (it waits for the transfer).
        """
        self._coordinator.keep_resume_state = True
        self._coordinator.cancel('Paused: the transfer can be resumed.')
        try:
            self._coordinator.result()
        except Exception:
            pass  # the CancelledError (or an earlier failure) is the outcome
        return self.resume_token

    def set_exception(self, exception: BaseException | type) -> None:
        """Replace the outcome of a finished transfer with ``exception``."""
        if not self.done():
            raise TransferNotDoneError(
                'set_exception can only be called once the transfer is complete.'
            )
        self._coordinator.set_exception(exception, override=True)


_WAITS_ON_ITSELF = (
    "result() was called from inside the transfer's own work (e.g. an on_progress "
    'subscriber): it would wait forever for itself. Wait from another thread, or '
    'use an on_done subscriber.'
)
_working_for = threading.local()


def current_transfer() -> Any:
    """The coordinator whose task this thread is running, or ``None``."""
    return getattr(_working_for, 'coordinator', None)


def set_current_transfer(coordinator: Any) -> Any:
    """Mark this thread as working for ``coordinator``; return the previous mark."""
    previous = getattr(_working_for, 'coordinator', None)
    _working_for.coordinator = coordinator
    return previous


class _CallbackList:
    """Callbacks run together at most once, under their own lock."""

    def __init__(self) -> None:
        self.items: list[FunctionContainer] = []
        self.ran = False
        # Re-entrant so a running callback may register another one.
        self.lock = threading.RLock()


class TransferCoordinator:
    """Owns one transfer's status, outcome, associated futures and callbacks."""

    def __init__(self, transfer_id: Any = None) -> None:
        self.transfer_id = transfer_id
        self._status = 'not-started'
        self._result: Any = None
        self._exception: Any = None
        self._associated_futures: set = set()
        self._failure_cleanups = _CallbackList()
        self._done_callbacks = _CallbackList()
        self._done_event = threading.Event()
        # Re-entrant: done callbacks of a not-started cancel run under the state lock.
        self._lock = threading.RLock()
        self._associated_futures_lock = threading.Lock()
        # Resume (opt-in): the transfer's journal, and whether an unsuccessful end
        # keeps its state (multipart upload, temp file, journal) for a later run.
        self.resume_journal: Any = None
        self.keep_resume_state = False

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transfer_id={self.transfer_id})'

    @property
    def exception(self) -> Any:
        """The stored exception, or ``None``."""
        return self._exception

    @property
    def associated_futures(self) -> set:
        """A snapshot of the executor futures still running for this transfer."""
        with self._associated_futures_lock:
            return set(self._associated_futures)

    @property
    def failure_cleanups(self) -> list[FunctionContainer]:
        """The registered failure cleanups, in registration order."""
        return self._failure_cleanups.items

    @property
    def status(self) -> str:
        """The current status string."""
        return self._status

    def done(self) -> bool:
        """Whether the transfer reached a done status."""
        return self._status in _DONE_STATES

    def set_result(self, result: Any) -> None:
        """Store the successful result; it overrides any earlier failure."""
        with self._lock:
            self._exception = None
            self._result = result
            self._status = 'success'

    def set_exception(self, exception: Any, override: bool = False) -> None:
        """Fail the transfer, unless it is done already and ``override`` is false."""
        with self._lock:
            if override or _is_allowed(self._status, 'failed'):
                self._exception = exception
                self._status = 'failed'

    def result(self) -> Any:
        """Wait until done is announced; return the result or raise the exception.

        Raises ``RuntimeError`` at once when called from inside this transfer's own
        work (a task, or a subscriber such as ``on_progress`` that a task runs):
        that wait could never end.
        """
        if not self._done_event.is_set() and current_transfer() is self:
            raise RuntimeError(_WAITS_ON_ITSELF)
        wait_for_event(self._done_event)
        # No lock: done callbacks may wait on other threads' result() calls.
        if self._exception:
            raise self._exception
        return self._result

    def cancel(self, msg: str = '', exc_type: type = CancelledError) -> None:
        """Cancel unless done; only a not-started transfer announces done here."""
        with self._lock:
            if not _is_allowed(self._status, 'cancelled'):
                return
            should_announce_done = self._status == 'not-started'
            logger.debug('%s cancel(%s) called', self, msg)
            self._exception = exc_type(msg)
            self._status = 'cancelled'
            if should_announce_done:
                self.announce_done()

    def set_status_to_queued(self) -> None:
        """Mark the transfer queued."""
        self._transition_to_non_done_state('queued')

    def set_status_to_running(self) -> None:
        """Mark the transfer running."""
        self._transition_to_non_done_state('running')

    def _transition_to_non_done_state(self, desired_state: str) -> None:
        with self._lock:
            if not _is_allowed(self._status, desired_state):
                raise RuntimeError(
                    f'Unable to transition from done state {self._status} to '
                    f'non-done state {desired_state}.'
                )
            self._status = desired_state

    def submit(self, executor: BoundedExecutor, task: Any, tag: Any = None) -> Any:
        """Submit ``task`` and track its future until it completes."""
        logger.debug(
            'Submitting task %s to executor %s for transfer request: %s.',
            task,
            executor,
            self.transfer_id,
        )
        future = executor.submit(task, tag=tag)
        self.add_associated_future(future)
        future.add_done_callback(
            FunctionContainer(self.remove_associated_future, future)
        )
        return future

    def add_associated_future(self, future: Any) -> None:
        """Track a future spawned for this transfer."""
        with self._associated_futures_lock:
            self._associated_futures.add(future)

    def remove_associated_future(self, future: Any) -> None:
        """Stop tracking a future (``KeyError`` if it is unknown)."""
        with self._associated_futures_lock:
            self._associated_futures.remove(future)

    def add_done_callback(self, function: Callable, *args: Any, **kwargs: Any) -> None:
        """Run ``function(*args, **kwargs)`` once the transfer is announced done."""
        self._add(self._done_callbacks, FunctionContainer(function, *args, **kwargs))

    def add_failure_cleanup(
        self, function: Callable, *args: Any, **kwargs: Any
    ) -> None:
        """Run ``function(*args, **kwargs)`` if the transfer ends unsuccessfully."""
        self._add(self._failure_cleanups, FunctionContainer(function, *args, **kwargs))

    def announce_done(self) -> None:
        """Run failure cleanups (unless successful), release waiters, run callbacks."""
        if self.status != 'success':
            self._run_failure_cleanups()
        self._done_event.set()
        self._run_done_callbacks()

    def _add(self, callbacks: _CallbackList, callback: FunctionContainer) -> None:
        with callbacks.lock:
            if not callbacks.ran:
                callbacks.items.append(callback)
                return
        # Its list already ran: run it now rather than lose it.
        self._run_callback(callback)

    def _run_done_callbacks(self) -> None:
        self._run_once(self._done_callbacks)

    def _run_failure_cleanups(self) -> None:
        self._run_once(self._failure_cleanups)

    def _run_once(self, callbacks: _CallbackList) -> None:
        with callbacks.lock:
            self._run_callbacks(callbacks.items)
            callbacks.items = []
            callbacks.ran = True

    def _run_callbacks(self, callbacks: list) -> None:
        for callback in callbacks:
            self._run_callback(callback)

    def _run_callback(self, callback: Callable[[], Any]) -> None:
        try:
            callback()
        except Exception:
            logger.debug('Exception raised in %s.', callback, exc_info=True)


_THREAD_POOL_EXECUTOR = futures.ThreadPoolExecutor


def _shared_threads_instead(executor_cls: type) -> type:
    """``BorrowingExecutor`` for the stock ``ThreadPoolExecutor`` (fast path "shared
    threads", s3transfer.threads); any other class, given or patched in, as is."""
    if executor_cls is _THREAD_POOL_EXECUTOR and SHARED_THREADS.passed():
        return BorrowingExecutor
    return executor_cls


class BoundedExecutor:
    """An executor whose ``submit`` blocks while too many tasks are in flight."""

    EXECUTOR_CLS = futures.ThreadPoolExecutor

    def __init__(
        self,
        max_size: int,
        max_num_threads: int,
        tag_semaphores: Mapping[Hashable, Any] | None = None,
        executor_cls: type | None = None,
    ) -> None:
        if executor_cls is None:
            executor_cls = _shared_threads_instead(self.EXECUTOR_CLS)
        self._max_num_threads = max_num_threads
        self._executor = executor_cls(max_workers=self._max_num_threads)
        self._max_size = max_size
        self._semaphore = TaskSemaphore(max_size)
        self._tag_semaphores = tag_semaphores
        self._multi_slot_lock = threading.Lock()

    def submit(self, task: Any, tag: Any = None, block: bool = True) -> ExecutorFuture:
        """Take a slot from the tag's (or the default) semaphore, then run ``task``.

        A task standing for several queued items takes that many slots: its
        ``queue_slots`` (declared by ``tasks.Task``; 1 for callables without it).
        """
        semaphore = self._semaphore
        if tag:
            if self._tag_semaphores is None:
                raise TypeError(f'tag {tag!r} given, but there are no tag_semaphores')
            semaphore = self._tag_semaphores[tag]
        slots = min(getattr(task, 'queue_slots', 1), self._max_size)
        if slots > 1 and not tag:
            release = self._acquire_slots(task, slots, block)
        else:
            acquire_token = semaphore.acquire(task.transfer_id, block)
            release = FunctionContainer(
                semaphore.release, task.transfer_id, acquire_token
            )
        try:
            future = ExecutorFuture(self._executor.submit(task, get_context()))
        except BaseException:
            # The task never ran, so nothing else would give its slot back.
            release()
            raise
        future.add_done_callback(release)
        return future

    def _acquire_slots(self, task: Any, slots: int, block: bool) -> Callable[[], None]:
        # One multi-slot taker at a time: two holding part of the slots each while
        # waiting for the rest could otherwise wait on each other forever.
        if not self._multi_slot_lock.acquire(block):
            raise NoResourcesAvailable(f"Cannot acquire tag '{task.transfer_id}'")
        tokens: list = []
        release = FunctionContainer(self._release_slots, task.transfer_id, tokens)
        try:
            for _ in range(slots):
                tokens.append(self._semaphore.acquire(task.transfer_id, block))
        except BaseException:
            release()
            raise
        finally:
            self._multi_slot_lock.release()
        return release

    def _release_slots(self, transfer_id: Any, tokens: list) -> None:
        for token in tokens:
            self._semaphore.release(transfer_id, token)

    def shutdown(self, wait: bool = True) -> None:
        """Shut down the underlying executor."""
        self._executor.shutdown(wait)


class ExecutorFuture:
    """Wraps an executor's future; done callbacks take no arguments."""

    def __init__(self, future: Any) -> None:
        self._future = future

    def result(self) -> Any:
        """Wait for and return the task's return value."""
        return self._future.result()

    def add_done_callback(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` when the future completes (at once if it already has)."""

        def done_callback(future_passed_to_callback: Any) -> None:
            fn()

        self._future.add_done_callback(done_callback)

    def done(self) -> bool:
        """Whether the future has completed."""
        return self._future.done()


class BaseExecutor:
    """Interface of the executors ``BoundedExecutor`` can wrap."""

    def __init__(self, max_workers: int | None = None) -> None:
        pass

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Schedule ``fn(*args, **kwargs)`` and return a future."""
        raise NotImplementedError('submit()')

    def shutdown(self, wait: bool = True) -> None:
        """Release the executor's resources."""
        raise NotImplementedError('shutdown()')


class NonThreadedExecutor(BaseExecutor):
    """Runs every submitted function inline, in the calling thread."""

    def submit(
        self, fn: Callable, *args: Any, **kwargs: Any
    ) -> NonThreadedExecutorFuture:
        """Call ``fn`` now; an ``Exception`` is kept in the returned future."""
        future = NonThreadedExecutorFuture()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            _, exception, traceback = sys.exc_info()
            assert exception is not None
            future.set_exception_info(exception, traceback)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Nothing to release."""


class NonThreadedExecutorFuture:
    """A minimal, single-threaded future for ``NonThreadedExecutor``."""

    def __init__(self) -> None:
        self._result: Any = None
        self._exception: BaseException | None = None
        self._traceback: TracebackType | None = None
        self._done = False
        self._done_callbacks: list[Callable[[Any], Any]] = []

    def set_result(self, result: Any) -> None:
        """Complete with ``result``."""
        self._result = result
        self._set_done()

    def set_exception_info(
        self, exception: BaseException, traceback: TracebackType | None
    ) -> None:
        """Complete with ``exception``, keeping its original traceback."""
        self._exception = exception
        self._traceback = traceback
        self._set_done()

    def result(self, timeout: float | None = None) -> Any:
        """Return the result, or re-raise the exception from its original site."""
        if self._exception is not None:
            raise self._exception.with_traceback(self._traceback)
        return self._result

    def _set_done(self) -> None:
        self._done = True
        callbacks, self._done_callbacks = self._done_callbacks, []
        for done_callback in callbacks:
            done_callback(self)

    def done(self) -> bool:
        """Whether the future has completed."""
        return self._done

    def add_done_callback(self, fn: Callable[[Any], Any]) -> None:
        """Call ``fn(self)`` on completion (at once if already complete)."""
        if self._done:
            fn(self)
        else:
            self._done_callbacks.append(fn)


TaskTag = collections.namedtuple('TaskTag', ['name'])

IN_MEMORY_UPLOAD_TAG = TaskTag('in_memory_upload')
IN_MEMORY_DOWNLOAD_TAG = TaskTag('in_memory_download')
