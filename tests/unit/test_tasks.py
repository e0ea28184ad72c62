"""Unit tests for s3transfer.tasks: the task lifecycle and the shared MPU tasks."""

import concurrent.futures
import copy
import functools
import threading

import pytest
from botocore.context import ClientContext, get_context, start_as_current_context
from botocore.useragent import register_feature_id

from s3transfer.exceptions import CancelledError
from s3transfer.futures import (
    BoundedExecutor,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.tasks import (
    CompleteMultipartUploadTask,
    CreateMultipartUploadTask,
    SubmissionTask,
    Task,
)
from s3transfer.utils import CallArgs

WAIT = 5  # upper bound (seconds) for anything that should happen promptly


class RecordingTask(Task):
    """Records the kwargs ``_main`` receives and returns ``result``."""

    def __init__(self, *args, result='main result', error=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []
        self._result = result
        self._error = error

    def _main(self, **kwargs):
        self.calls.append(kwargs)
        if self._error is not None:
            raise self._error
        return self._result


class PutObjectTask(Task):
    """Only here for its class name in ``repr``."""


class RecordingFuture:
    """A future-like object that records ``result()`` calls in a shared log."""

    def __init__(self, name, log, value=None, error=None):
        self._name, self._log = name, log
        self._value, self._error = value, error

    def result(self):
        self._log.append(self._name)
        if self._error is not None:
            raise self._error
        return self._value


def _done_future(value):
    future = concurrent.futures.Future()
    future.set_result(value)
    return future


def _coordinator_with_done_log():
    coordinator = TransferCoordinator(transfer_id=1)
    log = []
    coordinator.add_done_callback(log.append, 'announced')
    return coordinator, log


# --- Task: construction and repr --------------------------------------------


def test_task_constructor_defaults_and_transfer_id():
    coordinator = TransferCoordinator(transfer_id=9)
    task = Task(coordinator)
    assert task._transfer_coordinator is coordinator
    assert task._main_kwargs == {}
    assert task._pending_main_kwargs == {}
    assert task._done_callbacks == []
    assert task._is_final is False
    assert task.transfer_id == 9
    coordinator.transfer_id = 10
    assert task.transfer_id == 10


def test_task_positional_parameter_order():
    coordinator = TransferCoordinator()
    pending = {'x': _done_future(1)}
    callbacks = [print]
    task = Task(coordinator, {'a': 1}, pending, callbacks, True)
    assert task._main_kwargs == {'a': 1}
    assert task._pending_main_kwargs is pending
    assert task._done_callbacks is callbacks
    assert task._is_final is True


def test_repr_shows_selected_main_kwargs_in_fixed_order():
    task = PutObjectTask(
        TransferCoordinator(transfer_id=3),
        main_kwargs={'extra_args': {}, 'client': object(), 'key': 'k', 'bucket': 'b'},
    )
    assert repr(task) == (
        "PutObjectTask(transfer_id=3, {'bucket': 'b', 'key': 'k', 'extra_args': {}})"
    )


def test_repr_lists_every_displayed_param():
    names = [
        'extra_args',
        'offset',
        'transfer_future',
        'final_filename',
        'part_number',
        'key',
        'bucket',
    ]
    task = Task(
        TransferCoordinator(transfer_id='id'),
        main_kwargs={name: name for name in names + ['data', 'fileobj']},
    )
    expected = {name: name for name in reversed(names)}
    assert repr(task) == f'Task(transfer_id=id, {expected})'


def test_kwargs_filter_helpers():
    task = Task(TransferCoordinator())
    kwargs = {'a': 1, 'b': 2, 'data': b'x'}
    assert task._get_kwargs_with_params_to_include(kwargs, ['b', 'z', 'a']) == {
        'b': 2,
        'a': 1,
    }
    assert task._get_kwargs_with_params_to_exclude(kwargs, ['data']) == {
        'a': 1,
        'b': 2,
    }


# --- Task: lifecycle --------------------------------------------------------


def test_main_receives_main_kwargs_and_its_value_is_returned():
    coordinator = TransferCoordinator()
    task = RecordingTask(coordinator, main_kwargs={'bucket': 'b', 'key': 'k'})
    assert task() == 'main result'
    assert task.calls == [{'bucket': 'b', 'key': 'k'}]
    assert coordinator.status == 'not-started'


def test_main_kwargs_are_copied_not_mutated():
    main_kwargs = {'a': 1}
    task = RecordingTask(
        TransferCoordinator(),
        main_kwargs=main_kwargs,
        pending_main_kwargs={'b': _done_future(2)},
    )
    task()
    assert task.calls == [{'a': 1, 'b': 2}]
    assert main_kwargs == {'a': 1}


def test_pending_kwargs_resolve_single_futures_and_lists_in_order():
    task = RecordingTask(
        TransferCoordinator(),
        pending_main_kwargs={
            'upload_id': _done_future('id'),
            'parts': [_done_future({'PartNumber': n}) for n in (1, 2, 3)],
        },
    )
    task()
    assert task.calls == [
        {
            'upload_id': 'id',
            'parts': [{'PartNumber': 1}, {'PartNumber': 2}, {'PartNumber': 3}],
        }
    ]


def test_pending_futures_are_all_waited_on_before_errors_surface():
    log = []
    error = ValueError('dependency failed')
    coordinator = TransferCoordinator()
    task = RecordingTask(
        coordinator,
        pending_main_kwargs={
            'first': RecordingFuture('first', log, error=error),
            'rest': [RecordingFuture('second', log), RecordingFuture('third', log)],
        },
    )
    assert task() is None
    # Step 1 waits on all three; step 2 stops at the first failing result().
    assert log == ['first', 'second', 'third', 'first']
    assert task.calls == []
    assert coordinator.exception is error


def test_pending_futures_wait_for_threads_to_finish():
    gate = threading.Event()
    pool = concurrent.futures.ThreadPoolExecutor(1)
    slow = pool.submit(lambda: gate.wait(WAIT) and 'slow value')
    task = RecordingTask(TransferCoordinator(), pending_main_kwargs={'x': slow})
    results = []
    thread = threading.Thread(target=lambda: results.append(task()))
    thread.start()
    thread.join(0.05)
    assert thread.is_alive()
    gate.set()
    thread.join(WAIT)
    pool.shutdown()
    assert task.calls == [{'x': 'slow value'}]
    assert results == ['main result']


FINISHERS = {
    'cancelled': lambda c: c.cancel(),
    'failed': lambda c: c.set_exception(ValueError()),
    'success': lambda c: c.set_result(None),
}


@pytest.mark.parametrize('status', sorted(FINISHERS))
def test_main_is_skipped_when_coordinator_is_done(status):
    coordinator = TransferCoordinator()
    coordinator.set_status_to_queued()
    FINISHERS[status](coordinator)
    done_calls = []
    task = RecordingTask(coordinator, done_callbacks=[lambda: done_calls.append(1)])
    assert task() is None
    assert task.calls == []
    assert done_calls == [1]
    assert coordinator.status == status


def test_final_task_sets_result_and_announces():
    coordinator, log = _coordinator_with_done_log()
    task = RecordingTask(coordinator, is_final=True, result={'done': True})
    assert task() == {'done': True}
    assert coordinator.status == 'success'
    assert coordinator.result() == {'done': True}
    assert log == ['announced']


def test_non_final_task_neither_sets_result_nor_announces():
    coordinator, log = _coordinator_with_done_log()
    RecordingTask(coordinator)()
    assert coordinator.status == 'not-started'
    assert log == []


def test_final_task_of_failed_transfer_announces_and_runs_cleanups():
    coordinator, log = _coordinator_with_done_log()
    coordinator.add_failure_cleanup(log.append, 'cleanup')
    error = ValueError('earlier failure')
    coordinator.set_exception(error)
    task = RecordingTask(coordinator, is_final=True)
    assert task() is None
    assert task.calls == []
    assert log == ['cleanup', 'announced']
    with pytest.raises(ValueError) as info:
        coordinator.result()
    assert info.value is error


def test_failing_final_task_records_error_then_announces():
    coordinator, log = _coordinator_with_done_log()
    coordinator.add_failure_cleanup(log.append, 'cleanup')
    error = KeyError('boom')
    assert RecordingTask(coordinator, is_final=True, error=error)() is None
    assert coordinator.status == 'failed'
    assert log == ['cleanup', 'announced']


def test_done_callbacks_run_in_order_whatever_the_outcome():
    for error in (None, ValueError('x')):
        calls = []
        task = RecordingTask(
            TransferCoordinator(),
            error=error,
            done_callbacks=[
                functools.partial(calls.append, 1),
                functools.partial(calls.append, 2),
            ],
        )
        task()
        assert calls == [1, 2]


def test_done_callbacks_run_before_announce():
    coordinator = TransferCoordinator()
    calls = []
    coordinator.add_done_callback(calls.append, 'announced')
    task = RecordingTask(
        coordinator, is_final=True, done_callbacks=[lambda: calls.append('callback')]
    )
    task()
    assert calls == ['callback', 'announced']


def test_done_callback_errors_propagate():
    def explode():
        raise RuntimeError('done callback failed')

    task = RecordingTask(TransferCoordinator(), done_callbacks=[explode])
    with pytest.raises(RuntimeError, match='done callback failed'):
        task()


def test_first_exception_wins_across_tasks():
    coordinator = TransferCoordinator()
    first, second = ValueError('first'), KeyError('second')
    RecordingTask(coordinator, error=first)()
    RecordingTask(coordinator, error=second)()
    assert coordinator.exception is first


def test_base_main_must_be_implemented():
    coordinator = TransferCoordinator()
    assert Task(coordinator)() is None
    assert isinstance(coordinator.exception, NotImplementedError)
    assert str(coordinator.exception) == '_main() must be implemented'


def test_base_exceptions_are_not_caught_by_task():
    coordinator, log = _coordinator_with_done_log()
    calls = []
    task = RecordingTask(
        coordinator,
        error=KeyboardInterrupt(),
        is_final=True,
        done_callbacks=[lambda: calls.append('callback')],
    )
    with pytest.raises(KeyboardInterrupt):
        task()
    assert coordinator.exception is None
    assert calls == ['callback']
    assert log == ['announced']


def test_task_runs_inside_the_given_botocore_context():
    with start_as_current_context():
        ctx = get_context()
    seen = []

    class ContextTask(Task):
        def _main(self):
            seen.append(get_context())

    before = get_context()
    ContextTask(TransferCoordinator())(ctx)
    assert seen[0] is not None
    assert seen[0] is ctx or seen[0] == ctx
    assert get_context() is before


def test_task_sees_the_submitters_features_without_sharing_them():
    with start_as_current_context():
        register_feature_id('S3_TRANSFER')
        ctx = get_context()
    transfer_feature = set(ctx.features)
    seen = []

    class FeatureTask(Task):
        def _main(self):
            seen.append(set(get_context().features))
            register_feature_id('RETRY_MODE_STANDARD')

    FeatureTask(TransferCoordinator())(ctx)
    FeatureTask(TransferCoordinator())(None)
    assert seen == [transfer_feature, set()]
    assert transfer_feature and ctx.features == transfer_feature


def test_task_context_deep_copies_into_an_independent_client_context():
    # botocore deep-copies the current context on every API call.
    seen = []

    class CopyingTask(Task):
        def _main(self):
            current = get_context()
            clone = copy.deepcopy(current)
            clone.features.add('added to the copy')
            seen.extend([current, clone])

    with start_as_current_context():
        register_feature_id('S3_TRANSFER')
        submitted = get_context()
        CopyingTask(TransferCoordinator())(submitted)
    current, clone = seen
    assert isinstance(current, ClientContext) and isinstance(clone, ClientContext)
    assert current == submitted and current.features == submitted.features
    assert clone.features == submitted.features | {'added to the copy'}


# --- SubmissionTask ---------------------------------------------------------


class QueuedRecorder:
    def __init__(self, name, log, coordinator, action=None):
        self._name, self._log, self._coordinator = name, log, coordinator
        self._action = action

    def on_queued(self, future, **kwargs):
        self._log.append((self._name, self._coordinator.status, future))
        if self._action:
            self._action()


class RecordingSubmissionTask(SubmissionTask):
    def __init__(self, *args, submit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.submit_calls = []
        self._submit_fn = submit

    def _submit(self, transfer_future, **kwargs):
        self.submit_calls.append(
            (transfer_future, self._transfer_coordinator.status, kwargs)
        )
        if self._submit_fn:
            self._submit_fn()


def _transfer(subscriber_factories=()):
    coordinator = TransferCoordinator(transfer_id=1)
    log = []
    subscribers = [make(log, coordinator) for make in subscriber_factories]
    future = TransferFuture(
        TransferMeta(CallArgs(subscribers=subscribers), 1), coordinator
    )
    coordinator.add_done_callback(log.append, 'announced')
    return coordinator, future, log


def test_submission_task_queues_calls_on_queued_then_runs_and_submits():
    coordinator, future, log = _transfer(
        [
            lambda log, c: QueuedRecorder('first', log, c),
            lambda log, c: QueuedRecorder('second', log, c),
        ]
    )
    task = RecordingSubmissionTask(
        coordinator, main_kwargs={'transfer_future': future, 'client': 'client'}
    )
    assert task() is None
    assert log == [('first', 'queued', future), ('second', 'queued', future)]
    assert task.submit_calls == [(future, 'running', {'client': 'client'})]
    assert coordinator.status == 'running'


def test_base_submit_must_be_implemented_and_failure_is_announced():
    coordinator, future, log = _transfer()
    SubmissionTask(coordinator, main_kwargs={'transfer_future': future})()
    assert log == ['announced']
    with pytest.raises(NotImplementedError, match=r'^_submit\(\) must be implemented$'):
        future.result()


@pytest.mark.parametrize('error', [ValueError('bad'), KeyboardInterrupt()])
def test_submission_task_catches_any_base_exception(error):
    coordinator, future, log = _transfer()
    coordinator.add_failure_cleanup(log.append, 'cleanup')

    def fail():
        raise error

    task = RecordingSubmissionTask(
        coordinator, main_kwargs={'transfer_future': future}, submit=fail
    )
    assert task() is None
    assert coordinator.status == 'failed'
    assert coordinator.exception is error
    assert log == ['cleanup', 'announced']


def test_submission_task_skipped_when_cancelled_before_start():
    coordinator, future, log = _transfer([lambda log, c: QueuedRecorder('sub', log, c)])
    future.cancel()
    task = RecordingSubmissionTask(coordinator, main_kwargs={'transfer_future': future})
    task()
    assert task.submit_calls == []
    assert log == ['announced']
    with pytest.raises(CancelledError):
        future.result()


def test_cancel_during_on_queued_keeps_cancellation_and_announces_once():
    coordinator, future, log = _transfer(
        [lambda log, c: QueuedRecorder('sub', log, c, action=c.cancel)]
    )
    task = RecordingSubmissionTask(coordinator, main_kwargs={'transfer_future': future})
    task()
    assert task.submit_calls == []
    assert log == [('sub', 'queued', future), 'announced']
    assert type(coordinator.exception) is CancelledError


def test_submission_failure_waits_for_futures_spawned_by_tasks():
    coordinator, future, log = _transfer()
    executor = BoundedExecutor(10, 4)
    gate, grandchild_gate = threading.Event(), threading.Event()

    def grandchild_finishes():
        # A done callback: it runs even though the failed transfer skips _main.
        assert grandchild_gate.wait(WAIT)
        log.append('grandchild finished')

    class Child(Task):
        def _main(self):
            assert gate.wait(WAIT)
            grandchild = Task(coordinator, done_callbacks=[grandchild_finishes])
            coordinator.submit(executor, grandchild)
            threading.Timer(0.05, grandchild_gate.set).start()
            log.append('child finished')

    def submit_then_fail():
        coordinator.submit(executor, Child(coordinator))
        threading.Timer(0.05, gate.set).start()
        raise ValueError('submission failed')

    task = RecordingSubmissionTask(
        coordinator, main_kwargs={'transfer_future': future}, submit=submit_then_fail
    )
    task()
    executor.shutdown()
    assert log == ['child finished', 'grandchild finished', 'announced']
    assert coordinator.associated_futures == set()


def test_wait_for_submitted_futures_rereads_until_unchanged():
    coordinator = TransferCoordinator()
    log = []
    late = RecordingFuture('late', log)

    class Spawning(RecordingFuture):
        def result(self):
            coordinator.add_associated_future(late)
            return super().result()

    coordinator.add_associated_future(Spawning('early', log))
    SubmissionTask(coordinator)._wait_for_all_submitted_futures_to_complete()
    assert log.count('late') >= 1
    assert log[0] == 'early'


def test_callbacks_run_once_when_final_task_and_submission_both_announce():
    coordinator, future, log = _transfer()
    coordinator.add_failure_cleanup(log.append, 'cleanup')
    executor = BoundedExecutor(10, 2)

    def submit_final_then_fail():
        final = RecordingTask(coordinator, is_final=True, error=ValueError('part'))
        coordinator.submit(executor, final)
        raise KeyError('submission')

    RecordingSubmissionTask(
        coordinator,
        main_kwargs={'transfer_future': future},
        submit=submit_final_then_fail,
    )()
    executor.shutdown()
    assert log == ['cleanup', 'announced']
    assert coordinator.status == 'failed'


# --- multipart upload tasks -------------------------------------------------


class FakeClient:
    def __init__(self):
        self.calls = []

    def create_multipart_upload(self, **kwargs):
        self.calls.append(('create_multipart_upload', kwargs))
        return {'UploadId': 'upload-id', 'Bucket': kwargs['Bucket']}

    def abort_multipart_upload(self, **kwargs):
        self.calls.append(('abort_multipart_upload', kwargs))

    def complete_multipart_upload(self, **kwargs):
        self.calls.append(('complete_multipart_upload', kwargs))
        return {'ETag': '"etag"'}


EXTRA_ARGS = {'RequestPayer': 'requester', 'ExpectedBucketOwner': '123'}


def _create_task(coordinator, client):
    return CreateMultipartUploadTask(
        coordinator,
        main_kwargs={
            'client': client,
            'bucket': 'bucket',
            'key': 'key',
            'extra_args': dict(EXTRA_ARGS),
        },
    )


def test_create_multipart_upload_returns_upload_id_and_registers_abort():
    coordinator, client = TransferCoordinator(), FakeClient()
    assert _create_task(coordinator, client)() == 'upload-id'
    assert client.calls == [
        (
            'create_multipart_upload',
            {'Bucket': 'bucket', 'Key': 'key', **EXTRA_ARGS},
        )
    ]
    assert len(coordinator.failure_cleanups) == 1
    coordinator.set_exception(ValueError())
    coordinator.announce_done()
    assert client.calls[-1] == (
        'abort_multipart_upload',
        {'Bucket': 'bucket', 'Key': 'key', 'UploadId': 'upload-id'},
    )


def test_create_multipart_upload_is_not_aborted_on_success():
    coordinator, client = TransferCoordinator(), FakeClient()
    _create_task(coordinator, client)()
    coordinator.set_result(None)
    coordinator.announce_done()
    assert [name for name, _ in client.calls] == ['create_multipart_upload']


def test_complete_multipart_upload_call_shape():
    coordinator, client = TransferCoordinator(), FakeClient()
    parts = [{'ETag': f'"{n}"', 'PartNumber': n} for n in (1, 2)]
    task = CompleteMultipartUploadTask(
        coordinator,
        main_kwargs={
            'client': client,
            'bucket': 'bucket',
            'key': 'key',
            'extra_args': {'RequestPayer': 'requester'},
        },
        pending_main_kwargs={
            'upload_id': _done_future('upload-id'),
            'parts': [_done_future(part) for part in parts],
        },
        is_final=True,
    )
    assert task() is None
    assert client.calls == [
        (
            'complete_multipart_upload',
            {
                'Bucket': 'bucket',
                'Key': 'key',
                'UploadId': 'upload-id',
                'MultipartUpload': {'Parts': parts},
                'RequestPayer': 'requester',
            },
        )
    ]
    assert coordinator.status == 'success'
    assert coordinator.result() is None
