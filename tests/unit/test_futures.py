"""Unit tests for s3transfer.futures: futures, the coordinator and the executors."""

import concurrent.futures
import logging
import sys
import threading
import time
import traceback

import pytest
from botocore.context import get_context, start_as_current_context

import s3transfer.futures
from s3transfer.exceptions import CancelledError, FatalError, TransferNotDoneError
from s3transfer.futures import (
    IN_MEMORY_DOWNLOAD_TAG,
    IN_MEMORY_UPLOAD_TAG,
    BaseExecutor,
    BaseTransferFuture,
    BaseTransferMeta,
    BoundedExecutor,
    ExecutorFuture,
    NonThreadedExecutor,
    NonThreadedExecutorFuture,
    TaskTag,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.utils import FunctionContainer, NoResourcesAvailable, TaskSemaphore

WAIT = 5  # upper bound (seconds) for anything that should happen promptly


class _Task:
    """A minimal callable with the ``transfer_id`` executors read."""

    def __init__(self, fn=lambda: 'done', transfer_id=1):
        self._fn = fn
        self.transfer_id = transfer_id
        self.ctx = 'not called'

    def __call__(self, ctx=None):
        self.ctx = ctx
        return self._fn()


def _coordinator_in(status):
    """A coordinator brought to ``status`` through its public API only."""
    coordinator = TransferCoordinator(transfer_id=1)
    if status in ('queued', 'running', 'cancelled'):
        coordinator.set_status_to_queued()
    if status == 'running':
        coordinator.set_status_to_running()
    if status == 'success':
        coordinator.set_result('result')
    if status == 'failed':
        coordinator.set_exception(ValueError('boom'))
    if status == 'cancelled':
        coordinator.cancel()
    assert coordinator.status == status
    return coordinator


def _in_thread(fn):
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread


# --- abstract bases ---------------------------------------------------------


@pytest.mark.parametrize(
    'call, message',
    [
        (lambda f: f.meta, 'meta'),
        (lambda f: f.done(), 'done()'),
        (lambda f: f.result(), 'result()'),
        (lambda f: f.cancel(), 'cancel()'),
    ],
)
def test_base_transfer_future_members_are_abstract(call, message):
    with pytest.raises(NotImplementedError) as info:
        call(BaseTransferFuture())
    assert str(info.value) == message


@pytest.mark.parametrize('name', ['call_args', 'transfer_id', 'user_context'])
def test_base_transfer_meta_properties_are_abstract(name):
    with pytest.raises(NotImplementedError) as info:
        getattr(BaseTransferMeta(), name)
    assert str(info.value) == name


# --- TransferMeta -----------------------------------------------------------


def test_transfer_meta_defaults():
    meta = TransferMeta()
    assert meta.call_args is None
    assert meta.transfer_id is None
    assert meta.size is None
    assert meta.etag is None
    assert meta.user_context == {}


def test_transfer_meta_holds_call_args_and_id():
    call_args = object()
    meta = TransferMeta(call_args, 7)
    assert meta.call_args is call_args
    assert meta.transfer_id == 7
    assert TransferMeta(call_args=call_args, transfer_id=8).transfer_id == 8


def test_transfer_meta_size_and_etag_are_provided_later():
    meta = TransferMeta()
    meta.provide_transfer_size(10)
    meta.provide_transfer_size(20)
    meta.provide_object_etag('"abc"')
    assert meta.size == 20
    assert meta.etag == '"abc"'


def test_transfer_meta_user_context_is_per_instance_and_mutable():
    first, second = TransferMeta(), TransferMeta()
    first.user_context['key'] = 'value'
    assert first.user_context == {'key': 'value'}
    assert second.user_context == {}


# --- TransferFuture ---------------------------------------------------------


def test_transfer_future_creates_missing_parts():
    future = TransferFuture()
    assert isinstance(future.meta, TransferMeta)
    assert not future.done()
    future.cancel()
    assert future.done()


def test_transfer_future_uses_given_meta_and_coordinator():
    meta, coordinator = TransferMeta(), TransferCoordinator()
    future = TransferFuture(meta, coordinator)
    assert future.meta is meta
    coordinator.set_result('value')
    assert future.done()
    coordinator.announce_done()
    assert future.result() == 'value'


def test_transfer_future_result_blocks_until_announced():
    coordinator = TransferCoordinator()
    future = TransferFuture(coordinator=coordinator)
    results = []
    waiter = _in_thread(lambda: results.append(future.result()))
    coordinator.set_result('value')
    waiter.join(0.05)
    assert waiter.is_alive(), 'set_result alone must not release result()'
    coordinator.announce_done()
    waiter.join(WAIT)
    assert results == ['value']


def test_transfer_future_result_reraises_the_stored_exception():
    coordinator = TransferCoordinator()
    error = ValueError('boom')
    coordinator.set_exception(error)
    coordinator.announce_done()
    with pytest.raises(ValueError) as info:
        TransferFuture(coordinator=coordinator).result()
    assert info.value is error


def test_transfer_future_cancel_uses_cancelled_error_with_empty_message():
    future = TransferFuture()
    future.cancel()
    with pytest.raises(CancelledError) as info:
        future.result()
    assert type(info.value) is CancelledError
    assert str(info.value) == ''


def test_transfer_future_set_exception_requires_done():
    future = TransferFuture()
    with pytest.raises(TransferNotDoneError) as info:
        future.set_exception(ValueError())
    assert str(info.value) == (
        'set_exception can only be called once the transfer is complete.'
    )
    assert not future.done()


def test_transfer_future_set_exception_overrides_success():
    coordinator = TransferCoordinator()
    future = TransferFuture(coordinator=coordinator)
    coordinator.set_result('value')
    coordinator.announce_done()
    future.set_exception(ValueError('later'))
    assert coordinator.status == 'failed'
    with pytest.raises(ValueError, match='later'):
        future.result()


def test_transfer_future_set_exception_replaces_earlier_error():
    coordinator = _coordinator_in('failed')
    coordinator.announce_done()
    TransferFuture(coordinator=coordinator).set_exception(KeyError('second'))
    with pytest.raises(KeyError, match='second'):
        coordinator.result()


class _InterruptedCoordinator(TransferCoordinator):
    """A coordinator whose result() is interrupted by Ctrl-C."""

    def result(self):
        raise KeyboardInterrupt()


def test_transfer_future_result_cancels_on_keyboard_interrupt():
    coordinator = _InterruptedCoordinator()
    coordinator.set_status_to_queued()
    future = TransferFuture(coordinator=coordinator)
    with pytest.raises(KeyboardInterrupt):
        future.result()
    assert coordinator.status == 'cancelled'
    assert type(coordinator.exception) is CancelledError


# --- TransferCoordinator: state table ---------------------------------------

ALL_STATES = ['not-started', 'queued', 'running', 'success', 'failed', 'cancelled']
DONE_STATES = ['success', 'failed', 'cancelled']


def test_coordinator_starts_not_started():
    coordinator = TransferCoordinator()
    assert coordinator.status == 'not-started'
    assert coordinator._status == 'not-started'
    assert coordinator.transfer_id is None
    assert coordinator.exception is None
    assert not coordinator.done()


def test_coordinator_repr_and_public_transfer_id():
    coordinator = TransferCoordinator(transfer_id=7)
    assert repr(coordinator) == 'TransferCoordinator(transfer_id=7)'
    coordinator.transfer_id = 8
    assert repr(coordinator) == 'TransferCoordinator(transfer_id=8)'


@pytest.mark.parametrize('status', ALL_STATES)
def test_done_is_true_exactly_for_done_states(status):
    assert _coordinator_in(status).done() == (status in DONE_STATES)


@pytest.mark.parametrize('start', ['not-started', 'queued', 'running'])
@pytest.mark.parametrize('desired', ['queued', 'running'])
def test_non_done_states_move_to_queued_or_running(start, desired):
    coordinator = _coordinator_in(start)
    getattr(coordinator, f'set_status_to_{desired}')()
    assert coordinator.status == desired


@pytest.mark.parametrize('start', DONE_STATES)
@pytest.mark.parametrize('desired', ['queued', 'running'])
def test_done_states_refuse_non_done_states(start, desired):
    coordinator = _coordinator_in(start)
    with pytest.raises(RuntimeError) as info:
        getattr(coordinator, f'set_status_to_{desired}')()
    assert str(info.value) == (
        f'Unable to transition from done state {start} to non-done state {desired}.'
    )
    assert coordinator.status == start


@pytest.mark.parametrize('start', ALL_STATES)
def test_set_result_always_wins(start):
    coordinator = _coordinator_in(start)
    coordinator.set_result('final')
    assert coordinator.status == 'success'
    assert coordinator.exception is None
    coordinator.announce_done()
    assert coordinator.result() == 'final'


@pytest.mark.parametrize('start', ALL_STATES)
def test_set_exception_only_from_non_done_states(start):
    coordinator = _coordinator_in(start)
    before = coordinator.exception
    error = KeyError('new')
    coordinator.set_exception(error)
    if start in DONE_STATES:
        assert coordinator.status == start
        assert coordinator.exception is before
    else:
        assert coordinator.status == 'failed'
        assert coordinator.exception is error


@pytest.mark.parametrize('start', ALL_STATES)
def test_set_exception_with_override_from_any_state(start):
    coordinator = _coordinator_in(start)
    error = KeyError('new')
    coordinator.set_exception(error, override=True)
    assert coordinator.status == 'failed'
    assert coordinator.exception is error


@pytest.mark.parametrize('start', ALL_STATES)
def test_cancel_only_from_non_done_states(start):
    coordinator = _coordinator_in(start)
    before = coordinator.exception
    coordinator.cancel('why', FatalError)
    if start in DONE_STATES:
        assert coordinator.status == start
        assert coordinator.exception is before
    else:
        assert coordinator.status == 'cancelled'
        assert type(coordinator.exception) is FatalError
        assert str(coordinator.exception) == 'why'


def test_first_exception_wins():
    coordinator = TransferCoordinator()
    first = ValueError('first')
    coordinator.set_exception(first)
    coordinator.set_exception(KeyError('second'))
    assert coordinator.exception is first


def test_exception_class_is_raised_by_result():
    coordinator = TransferCoordinator()
    coordinator.set_exception(ValueError)
    coordinator.announce_done()
    with pytest.raises(ValueError):
        coordinator.result()


# --- TransferCoordinator: cancel and announce -------------------------------


def test_cancel_of_not_started_transfer_announces_done():
    coordinator = TransferCoordinator()
    calls = []
    coordinator.add_done_callback(calls.append, 'done')
    coordinator.add_failure_cleanup(calls.append, 'cleanup')
    coordinator.cancel('stop')
    assert calls == ['cleanup', 'done']
    with pytest.raises(CancelledError, match='stop'):
        coordinator.result()


def test_done_callback_of_not_started_cancel_may_call_result():
    coordinator = TransferCoordinator()
    seen = []

    def on_done():
        with pytest.raises(CancelledError):
            coordinator.result()
        seen.append(coordinator.status)

    coordinator.add_done_callback(on_done)
    coordinator.cancel()
    assert seen == ['cancelled']


def test_done_callback_of_not_started_cancel_may_change_state():
    coordinator = TransferCoordinator()
    coordinator.add_done_callback(coordinator.set_exception, KeyError('x'), True)
    # Run in a thread so a deadlock on the state lock fails instead of hanging.
    thread = _in_thread(coordinator.cancel)
    thread.join(WAIT)
    assert not thread.is_alive()
    assert coordinator.status == 'failed'


@pytest.mark.parametrize('start', ['queued', 'running'])
def test_cancel_of_started_transfer_does_not_announce(start):
    coordinator = _coordinator_in(start)
    calls = []
    coordinator.add_done_callback(calls.append, 'done')
    coordinator.add_failure_cleanup(calls.append, 'cleanup')
    coordinator.cancel()
    assert coordinator.status == 'cancelled'
    assert calls == []
    coordinator.announce_done()
    assert calls == ['cleanup', 'done']


def test_announce_done_on_success_skips_failure_cleanups():
    coordinator = TransferCoordinator()
    calls = []
    coordinator.add_failure_cleanup(calls.append, 'cleanup')
    coordinator.add_done_callback(calls.append, 'done')
    coordinator.set_result('value')
    coordinator.announce_done()
    assert calls == ['done']
    assert coordinator.result() == 'value'


def test_announce_done_runs_each_list_in_order_and_only_once():
    coordinator = TransferCoordinator()
    calls = []
    for name in ('c1', 'c2'):
        coordinator.add_failure_cleanup(calls.append, name)
    for name in ('d1', 'd2'):
        coordinator.add_done_callback(calls.append, name)
    coordinator.set_exception(ValueError())
    coordinator.announce_done()
    coordinator.announce_done()
    assert calls == ['c1', 'c2', 'd1', 'd2']
    assert coordinator.failure_cleanups == []


def test_callbacks_receive_args_and_kwargs():
    coordinator = TransferCoordinator()
    calls = []
    coordinator.add_done_callback(lambda *a, **k: calls.append((a, k)), 1, x=2)
    coordinator.add_failure_cleanup(lambda *a, **k: calls.append((a, k)), 3, y=4)
    coordinator.set_exception(ValueError())
    coordinator.announce_done()
    assert calls == [((3,), {'y': 4}), ((1,), {'x': 2})]


def test_failure_cleanups_is_the_live_list_of_function_containers():
    coordinator = TransferCoordinator()
    coordinator.add_failure_cleanup(print, 'a', sep='')
    coordinator.add_failure_cleanup(len, 'b')
    cleanups = coordinator.failure_cleanups
    assert all(isinstance(c, FunctionContainer) for c in cleanups)
    assert [str(c) for c in cleanups] == [
        f"Function: {print} with args ('a',) and kwargs {{'sep': ''}}",
        f"Function: {len} with args ('b',) and kwargs {{}}",
    ]
    assert cleanups[1]() == 1


def test_raising_callbacks_do_not_stop_the_others(caplog):
    coordinator = TransferCoordinator()
    calls = []

    def explode():
        raise ValueError('callback failed')

    coordinator.add_failure_cleanup(explode)
    coordinator.add_failure_cleanup(calls.append, 'cleanup')
    coordinator.add_done_callback(explode)
    coordinator.add_done_callback(calls.append, 'done')
    coordinator.set_exception(KeyError())
    with caplog.at_level(logging.DEBUG, logger='s3transfer.futures'):
        coordinator.announce_done()
    assert calls == ['cleanup', 'done']
    assert sum('callback failed' in r.exc_text for r in caplog.records if r.exc_text)
    with pytest.raises(KeyError):
        coordinator.result()


def test_failure_cleanups_happen_before_waiters_wake():
    coordinator = TransferCoordinator()
    events = []

    def waiter():
        with pytest.raises(ValueError):
            coordinator.result()
        events.append('woke')

    def slow_cleanup():
        events.append('cleanup started')
        time.sleep(0.05)
        events.append('cleanup finished')

    coordinator.add_failure_cleanup(slow_cleanup)
    thread = _in_thread(waiter)
    coordinator.set_exception(ValueError())
    coordinator.announce_done()
    thread.join(WAIT)
    assert events == ['cleanup started', 'cleanup finished', 'woke']


def test_done_callback_added_after_announce_runs_immediately():
    coordinator = TransferCoordinator()
    coordinator.set_result(None)
    coordinator.announce_done()
    calls = []
    coordinator.add_done_callback(calls.append, 'late')
    assert calls == ['late']
    coordinator.announce_done()
    assert calls == ['late']


def test_failure_cleanup_added_after_failed_announce_runs_immediately():
    coordinator = _coordinator_in('failed')
    coordinator.announce_done()
    calls = []
    coordinator.add_failure_cleanup(calls.append, 'late')
    assert calls == ['late']


def test_failure_cleanup_added_after_successful_announce_never_runs():
    coordinator = _coordinator_in('success')
    coordinator.announce_done()
    calls = []
    coordinator.add_failure_cleanup(calls.append, 'late')
    coordinator.announce_done()
    assert calls == []
    assert len(coordinator.failure_cleanups) == 1


def test_done_callback_may_register_another_done_callback():
    coordinator = TransferCoordinator()
    calls = []
    coordinator.add_done_callback(coordinator.add_done_callback, calls.append, 'nested')
    coordinator.set_result(None)
    coordinator.announce_done()
    coordinator.announce_done()
    assert calls == ['nested']


# --- TransferCoordinator: associated futures and submit ---------------------


def test_associated_futures_is_a_copy():
    coordinator = TransferCoordinator()
    future = object()
    coordinator.add_associated_future(future)
    snapshot = coordinator.associated_futures
    snapshot.clear()
    assert coordinator.associated_futures == {future}
    coordinator.remove_associated_future(future)
    assert coordinator.associated_futures == set()
    with pytest.raises(KeyError):
        coordinator.remove_associated_future(future)


class _RecordingExecutor:
    """Stands in for a BoundedExecutor; returns a future we complete by hand."""

    def __init__(self):
        self.calls = []
        self.future = concurrent.futures.Future()

    def submit(self, task, **kwargs):
        self.calls.append((task, kwargs))
        return ExecutorFuture(self.future)


class _RecordingCoordinator(TransferCoordinator):
    def __init__(self):
        super().__init__()
        self.recorded = []

    def add_associated_future(self, future):
        self.recorded.append(future)
        super().add_associated_future(future)


def test_submit_tracks_the_future_until_it_completes():
    coordinator = _RecordingCoordinator()
    executor = _RecordingExecutor()
    task = _Task()
    future = coordinator.submit(executor, task, tag=IN_MEMORY_UPLOAD_TAG)
    assert executor.calls == [(task, {'tag': IN_MEMORY_UPLOAD_TAG})]
    assert coordinator.recorded == [future]
    assert coordinator.associated_futures == {future}
    executor.future.set_result(None)
    assert coordinator.associated_futures == set()


def test_submit_passes_tag_none_by_keyword():
    executor = _RecordingExecutor()
    TransferCoordinator().submit(executor, _Task())
    assert executor.calls[0][1] == {'tag': None}


def test_submit_of_already_done_future_removes_it_at_once():
    coordinator = TransferCoordinator()
    executor = BoundedExecutor(2, 1, executor_cls=NonThreadedExecutor)
    future = coordinator.submit(executor, _Task(lambda: 'ran'))
    assert future.done()
    assert future.result() == 'ran'
    assert coordinator.associated_futures == set()


# --- concurrency ------------------------------------------------------------


def test_cancel_racing_set_result_ends_in_one_consistent_state():
    for _ in range(200):
        coordinator = _coordinator_in('running')
        barrier = threading.Barrier(2)

        def cancel(coordinator=coordinator, barrier=barrier):
            barrier.wait()
            coordinator.cancel()

        thread = _in_thread(cancel)
        barrier.wait()
        coordinator.set_result('value')
        thread.join(WAIT)
        coordinator.announce_done()
        # set_result wins whether it ran before or after the cancel.
        assert coordinator.status == 'success'
        assert coordinator.exception is None
        assert coordinator.result() == 'value'


def test_cancel_racing_set_exception_keeps_one_outcome():
    for _ in range(200):
        coordinator = _coordinator_in('running')
        barrier = threading.Barrier(2)
        error = ValueError('boom')

        def fail(coordinator=coordinator, barrier=barrier, error=error):
            barrier.wait()
            coordinator.set_exception(error)

        thread = _in_thread(fail)
        barrier.wait()
        coordinator.cancel()
        thread.join(WAIT)
        status, exception = coordinator.status, coordinator.exception
        assert (status, type(exception)) in {
            ('failed', ValueError),
            ('cancelled', CancelledError),
        }
        assert (exception is error) == (status == 'failed')


def test_not_started_cancel_racing_final_announce_runs_callbacks_once():
    for _ in range(200):
        coordinator = TransferCoordinator()
        calls = []
        coordinator.add_done_callback(calls.append, 'done')
        barrier = threading.Barrier(2)

        def finish(coordinator=coordinator, barrier=barrier):
            barrier.wait()
            coordinator.set_result('value')
            coordinator.announce_done()

        thread = _in_thread(finish)
        barrier.wait()
        coordinator.cancel()
        thread.join(WAIT)
        assert calls == ['done']
        assert coordinator.status == 'success'


def test_done_callback_added_during_announce_runs_exactly_once():
    coordinator = TransferCoordinator()
    announcing, about_to_add = threading.Event(), threading.Event()
    calls = []

    def slow_first_callback():
        announcing.set()
        assert about_to_add.wait(WAIT)
        time.sleep(0.02)  # let the adder reach the callbacks lock
        calls.append('first')

    def adder():
        assert announcing.wait(WAIT)
        about_to_add.set()
        coordinator.add_done_callback(calls.append, 'added')

    coordinator.add_done_callback(slow_first_callback)
    thread = _in_thread(adder)
    coordinator.set_result(None)
    coordinator.announce_done()
    thread.join(WAIT)
    assert calls == ['first', 'added']


def test_done_callback_added_concurrently_with_announce_runs_exactly_once():
    for _ in range(200):
        coordinator = TransferCoordinator()
        calls = []
        barrier = threading.Barrier(2)

        def adder(coordinator=coordinator, barrier=barrier, calls=calls):
            barrier.wait()
            coordinator.add_done_callback(calls.append, 'added')

        thread = _in_thread(adder)
        coordinator.set_result(None)
        barrier.wait()
        coordinator.announce_done()
        thread.join(WAIT)
        assert calls == ['added']


# --- BoundedExecutor --------------------------------------------------------


def test_bounded_executor_runs_task_with_callers_botocore_context():
    executor = BoundedExecutor(2, 1)
    task = _Task(lambda: 'ran')
    with start_as_current_context():
        ctx = get_context()
        future = executor.submit(task)
    assert isinstance(future, ExecutorFuture)
    assert future.result() == 'ran'
    assert task.ctx is ctx
    executor.shutdown()


def test_bounded_executor_uses_executor_cls_class_attribute(monkeypatch):
    assert BoundedExecutor.EXECUTOR_CLS is concurrent.futures.ThreadPoolExecutor
    created = []

    class Recording(NonThreadedExecutor):
        def __init__(self, max_workers=None):
            created.append(max_workers)

    monkeypatch.setattr(BoundedExecutor, 'EXECUTOR_CLS', Recording)
    executor = BoundedExecutor(1, 3)
    assert created == [3]
    # Inline execution proves the replacement class is in use.
    assert executor.submit(_Task(threading.get_ident)).result() == (
        threading.get_ident()
    )


def test_bounded_executor_explicit_executor_cls_wins():
    executor = BoundedExecutor(1, 1, executor_cls=NonThreadedExecutor)
    assert executor.submit(_Task(threading.get_ident)).done()


def test_bounded_executor_blocks_when_full():
    executor = BoundedExecutor(4, 8)
    release = threading.Event()
    for _ in range(4):
        executor.submit(_Task(lambda: release.wait(WAIT)))
    submitted = []
    thread = _in_thread(lambda: submitted.append(executor.submit(_Task())))
    thread.join(0.05)
    assert thread.is_alive(), 'a fifth submit must wait for a free slot'
    assert submitted == []
    release.set()
    thread.join(WAIT)
    assert submitted[0].result() == 'done'
    executor.shutdown()


def test_bounded_executor_non_blocking_submit_raises_when_full():
    executor = BoundedExecutor(1, 2)
    release = threading.Event()
    executor.submit(_Task(lambda: release.wait(WAIT)))
    with pytest.raises(NoResourcesAvailable):
        executor.submit(_Task(), None, False)
    release.set()
    executor.shutdown()


def test_bounded_executor_never_exceeds_max_size_in_flight():
    executor = BoundedExecutor(4, 16)
    lock = threading.Lock()
    state = {'running': 0, 'max': 0, 'ran': 0}

    def work():
        with lock:
            state['running'] += 1
            state['max'] = max(state['max'], state['running'])
        time.sleep(0.002)
        with lock:
            state['running'] -= 1
            state['ran'] += 1

    threads = [
        _in_thread(lambda: executor.submit(_Task(work)).result()) for _ in range(50)
    ]
    for thread in threads:
        thread.join(WAIT * 6)
    executor.shutdown()
    assert state['ran'] == 50
    assert 1 <= state['max'] <= 4


class _RecordingSemaphore(TaskSemaphore):
    def __init__(self, count):
        super().__init__(count)
        self.calls = []

    def acquire(self, tag, blocking=True):
        self.calls.append(('acquire', tag, blocking))
        super().acquire(tag, blocking)
        return f'token-{tag}'

    def release(self, tag, acquire_token):
        self.calls.append(('release', tag, acquire_token))
        super().release(tag, acquire_token)


def test_bounded_executor_tagged_task_uses_only_its_tag_semaphore():
    tag_semaphore = _RecordingSemaphore(1)
    executor = BoundedExecutor(
        1,
        1,
        tag_semaphores={IN_MEMORY_UPLOAD_TAG: tag_semaphore},
        executor_cls=NonThreadedExecutor,
    )
    executor._semaphore = default = _RecordingSemaphore(1)
    executor.submit(_Task(transfer_id=5), IN_MEMORY_UPLOAD_TAG)
    assert tag_semaphore.calls == [
        ('acquire', 5, True),
        ('release', 5, 'token-5'),
    ]
    assert default.calls == []
    executor.submit(_Task(transfer_id=6), block=False)
    assert default.calls == [('acquire', 6, False), ('release', 6, 'token-6')]


def test_bounded_executor_default_semaphore_is_free_while_tag_is_full():
    gate = threading.Event()
    executor = BoundedExecutor(
        1, 3, tag_semaphores={IN_MEMORY_DOWNLOAD_TAG: TaskSemaphore(1)}
    )
    executor.submit(_Task(lambda: gate.wait(WAIT)), tag=IN_MEMORY_DOWNLOAD_TAG)
    with pytest.raises(NoResourcesAvailable):
        executor.submit(_Task(), IN_MEMORY_DOWNLOAD_TAG, False)
    assert executor.submit(_Task(), block=False).result() == 'done'
    gate.set()
    executor.shutdown()


class _FailingExecutor(BaseExecutor):
    def submit(self, fn, *args, **kwargs):
        raise RuntimeError('cannot schedule new futures after shutdown')


def test_bounded_executor_gives_slot_back_when_submit_fails():
    executor = BoundedExecutor(1, 1, executor_cls=_FailingExecutor)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            executor.submit(_Task(), block=False)


def test_bounded_executor_gives_slot_back_on_inline_keyboard_interrupt():
    executor = BoundedExecutor(1, 1, executor_cls=NonThreadedExecutor)

    def interrupt():
        raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        executor.submit(_Task(interrupt))
    assert executor.submit(_Task(), block=False).result() == 'done'


def test_bounded_executor_shutdown_passes_wait_through():
    calls = []

    class Recording(NonThreadedExecutor):
        def shutdown(self, wait=True):
            calls.append(wait)

    executor = BoundedExecutor(1, 1, executor_cls=Recording)
    executor.shutdown()
    executor.shutdown(False)
    assert calls == [True, False]


# --- ExecutorFuture ---------------------------------------------------------


def test_executor_future_wraps_result_done_and_callbacks():
    inner = concurrent.futures.Future()
    future = ExecutorFuture(inner)
    calls = []
    future.add_done_callback(lambda: calls.append('first'))
    assert not future.done()
    inner.set_result(3)
    assert future.done()
    assert future.result() == 3
    future.add_done_callback(lambda: calls.append('late'))
    assert calls == ['first', 'late']


def test_executor_future_result_raises_escaped_errors():
    inner = concurrent.futures.Future()
    inner.set_exception(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        ExecutorFuture(inner).result()


# --- BaseExecutor / NonThreadedExecutor -------------------------------------


def test_base_executor_is_abstract():
    executor = BaseExecutor(max_workers=3)
    with pytest.raises(NotImplementedError, match=r'^submit\(\)$'):
        executor.submit(print)
    with pytest.raises(NotImplementedError, match=r'^shutdown\(\)$'):
        executor.shutdown()


def test_non_threaded_executor_runs_inline():
    executor = NonThreadedExecutor()
    calls = []
    future = executor.submit(lambda *a, **k: calls.append((a, k)) or 'r', 1, k=2)
    assert calls == [((1,), {'k': 2})]
    assert future.done()
    assert future.result() == 'r'
    assert executor.submit(threading.get_ident).result() == threading.get_ident()
    assert executor.shutdown() is None
    assert executor.shutdown(wait=False) is None


def _raise_value_error():
    raise ValueError('from the task')


def test_non_threaded_executor_keeps_exception_and_traceback():
    future = NonThreadedExecutor().submit(_raise_value_error)
    assert future.done()
    with pytest.raises(ValueError, match='from the task') as info:
        future.result()
    last_frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert last_frame.name == '_raise_value_error'


def test_non_threaded_executor_lets_base_exceptions_propagate():
    def interrupt():
        raise KeyboardInterrupt()

    with pytest.raises(KeyboardInterrupt):
        NonThreadedExecutor().submit(interrupt)


def test_non_threaded_future_callbacks_run_once_done():
    future = NonThreadedExecutorFuture()
    seen = []
    future.add_done_callback(seen.append)
    assert not future.done()
    assert seen == []
    future.set_result('x')
    assert seen == [future]
    future.add_done_callback(seen.append)
    assert seen == [future, future]
    assert future.result() == 'x'


def test_non_threaded_future_set_exception_info():
    future = NonThreadedExecutorFuture()
    seen = []
    future.add_done_callback(seen.append)
    try:
        _raise_value_error()
    except ValueError:
        error, tb = sys.exc_info()[1:]
    future.set_exception_info(error, tb)
    assert seen == [future]
    with pytest.raises(ValueError) as info:
        future.result(timeout=1)
    assert info.value is error


# --- tags -------------------------------------------------------------------


def test_task_tags():
    assert TaskTag._fields == ('name',)
    assert IN_MEMORY_UPLOAD_TAG == TaskTag('in_memory_upload')
    assert IN_MEMORY_DOWNLOAD_TAG == TaskTag(name='in_memory_download')
    assert s3transfer.futures.IN_MEMORY_UPLOAD_TAG is IN_MEMORY_UPLOAD_TAG


def test_result_from_inside_the_transfers_own_task_raises_instead_of_waiting():
    """Issue 21 point 6: the wait could never end; say so at once."""
    from s3transfer.tasks import Task

    class WaitsOnItself(Task):
        def _main(self):
            self._transfer_coordinator.result()

    coordinator = TransferCoordinator()
    coordinator.set_status_to_queued()
    coordinator.set_status_to_running()
    worker = threading.Thread(target=WaitsOnItself(coordinator, is_final=True))
    worker.daemon = True
    worker.start()
    worker.join(5)
    if worker.is_alive():  # deadlocked: release it, then fail
        coordinator.set_exception(AssertionError('deadlocked'))
        coordinator.announce_done()
    with pytest.raises(RuntimeError, match='wait forever for itself'):
        coordinator.result()


def test_result_of_another_transfer_from_a_task_still_waits():
    from s3transfer.tasks import Task

    other = TransferCoordinator()
    other.set_result('other done')
    other.announce_done()

    class WaitsOnOther(Task):
        def _main(self):
            return other.result()

    coordinator = TransferCoordinator()
    coordinator.set_status_to_queued()
    coordinator.set_status_to_running()
    WaitsOnOther(coordinator, is_final=True)()
    assert coordinator.result() == 'other done'
