"""TransferManager as a whole: validation, ids, subscribers, shutdown and Ctrl-C."""

import io
import logging
import threading
import time

import pytest
from botocore.awsrequest import AWSResponse

from s3transfer.exceptions import CancelledError, FatalError
from s3transfer.futures import NonThreadedExecutor
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.helpers import offline_client

OBJECT_LAMBDA_ARN = 'arn:aws:s3-object-lambda:eu-west-1:111122223333:accesspoint/olap-1'
WAIT = 10  # seconds: upper bound for anything these tests wait on


class Recorder(BaseSubscriber):
    """Records every event it receives, in order."""

    def __init__(self):
        self.events = []

    def on_queued(self, future, **kwargs):
        self.events.append(('queued', future.meta.transfer_id))

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.events.append(('progress', bytes_transferred))

    def on_done(self, future, **kwargs):
        self.events.append(('done', future.done()))


class BlockingQueued(BaseSubscriber):
    """Holds its transfer in on_queued until released."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_queued(self, future, **kwargs):
        self.entered.set()
        self.release.wait(WAIT)


def expect_delete(stubber, bucket='bucket', key='key', **extra):
    stubber.add_response(
        'delete_object', {}, expected_params={'Bucket': bucket, 'Key': key, **extra}
    )


def test_delete_sends_exactly_one_request_with_extra_args(client, stubber):
    expect_delete(stubber, VersionId='v1', RequestPayer='requester')
    recorder = Recorder()
    with TransferManager(client) as manager:
        future = manager.delete(
            'bucket',
            'key',
            extra_args={'VersionId': 'v1', 'RequestPayer': 'requester'},
            subscribers=[recorder],
        )
        assert future.result() is None
    stubber.assert_no_pending_responses()
    assert recorder.events == [('queued', 0), ('done', True)]


def test_delete_client_error_is_raised_from_result(client, stubber):
    stubber.add_client_error('delete_object', 'AccessDenied', http_status_code=403)
    with TransferManager(client) as manager:
        future = manager.delete('bucket', 'key')
        with pytest.raises(client.exceptions.ClientError, match='AccessDenied'):
            future.result()


def test_unknown_extra_arg_is_rejected_before_any_request(client, stubber):
    manager = TransferManager(client)
    with pytest.raises(ValueError) as exc:
        manager.delete('bucket', 'key', extra_args={'Bogus': 1})
    assert str(exc.value) == (
        "Invalid extra_args key 'Bogus', must be one of: "
        "MFA, VersionId, RequestPayer, ExpectedBucketOwner"
    )
    manager.shutdown()
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    'call',
    [
        lambda m: m.upload('file', OBJECT_LAMBDA_ARN, 'key'),
        lambda m: m.download(OBJECT_LAMBDA_ARN, 'key', 'file'),
        lambda m: m.copy({'Bucket': 'b', 'Key': 'k'}, OBJECT_LAMBDA_ARN, 'key'),
        lambda m: m.copy({'Bucket': OBJECT_LAMBDA_ARN, 'Key': 'k'}, 'b', 'key'),
        lambda m: m.delete(OBJECT_LAMBDA_ARN, 'key'),
    ],
)
def test_object_lambda_buckets_are_rejected(client, call):
    with TransferManager(client) as manager:
        with pytest.raises(ValueError, match='S3 Object Lambda'):
            call(manager)


def test_bucket_validation_can_be_disabled_per_instance(client, stubber):
    expect_delete(stubber, bucket=OBJECT_LAMBDA_ARN)
    with TransferManager(client) as manager:
        manager.VALIDATE_SUPPORTED_BUCKET_VALUES = False
        manager.delete(OBJECT_LAMBDA_ARN, 'key').result()


def test_transfer_ids_count_only_submitted_transfers(client, stubber):
    for _ in range(2):
        expect_delete(stubber)
    with TransferManager(client) as manager:
        first = manager.delete('bucket', 'key')
        with pytest.raises(ValueError):
            manager.delete('bucket', 'key', extra_args={'Nope': 1})
        second = manager.delete('bucket', 'key')
    assert (first.meta.transfer_id, second.meta.transfer_id) == (0, 1)


def test_call_args_hold_the_defaulted_arguments(client, stubber):
    expect_delete(stubber)
    with TransferManager(client) as manager:
        future = manager.delete('bucket', 'key')
    call_args = future.meta.call_args
    assert (call_args.bucket, call_args.key) == ('bucket', 'key')
    assert call_args.extra_args == {} and call_args.subscribers == []


def test_upload_extra_args_are_copied_and_get_checksum_default(client):
    manager = TransferManager(client, executor_cls=NonThreadedExecutor)
    extra_args = {'ContentType': 'text/plain'}
    manager._submission_executor.submit = lambda task, **kw: None
    future = manager.upload('missing-file', 'bucket', 'key', extra_args=extra_args)
    assert extra_args == {'ContentType': 'text/plain'}
    assert future.meta.call_args.extra_args == {
        'ContentType': 'text/plain',
        'ChecksumAlgorithm': 'CRC32',
    }


def test_copy_warns_about_ignored_metadata_and_tagging(client, caplog):
    manager = TransferManager(client)
    manager._submission_executor.submit = lambda task, **kw: None
    with caplog.at_level(logging.WARNING, logger='s3transfer.manager'):
        manager.copy(
            {'Bucket': 'src', 'Key': 'k'},
            'dest',
            'k',
            extra_args={'Metadata': {'a': 'b'}, 'Tagging': 'a=b'},
        )
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith('Metadata was supplied without') for m in messages)
    assert any(m.startswith('Tagging was supplied without') for m in messages)


class SignalCountingBody(io.BytesIO):
    """A request body that counts the manager's transferring signals."""

    def __init__(self, data):
        super().__init__(data)
        self.transferring = 0
        self.not_transferring = 0

    def signal_transferring(self):
        self.transferring += 1

    def signal_not_transferring(self):
        self.not_transferring += 1


class _EmptyRaw:
    def stream(self, **kwargs):
        yield b''


def test_handlers_are_registered_once_per_client():
    # No checksum trailer, so botocore sends our body object unwrapped.
    client = offline_client(request_checksum_calculation='when_required')
    TransferManager(client)
    TransferManager(client)

    def fake_send(request, **kwargs):
        return AWSResponse(request.url, 200, {}, _EmptyRaw())

    client.meta.events.register('before-send.s3.PutObject', fake_send)
    body = SignalCountingBody(b'data')
    client.put_object(Bucket='bucket', Key='key', Body=body)
    assert (body.not_transferring, body.transferring) == (1, 1)


def test_shutdown_cancel_cancels_in_flight_transfers(client, stubber):
    blocker = BlockingQueued()
    manager = TransferManager(client)
    future = manager.delete('bucket', 'key', subscribers=[blocker])
    assert blocker.entered.wait(WAIT)
    shutdown = threading.Thread(
        target=manager.shutdown, kwargs={'cancel': True, 'cancel_msg': 'stop now'}
    )
    shutdown.start()
    deadline = time.monotonic() + WAIT
    while future._coordinator.status != 'cancelled' and time.monotonic() < deadline:
        time.sleep(0.01)
    blocker.release.set()
    shutdown.join(WAIT)
    assert not shutdown.is_alive()
    with pytest.raises(CancelledError, match='stop now') as exc:
        future.result()
    assert not isinstance(exc.value, FatalError)
    stubber.assert_no_pending_responses()  # no DeleteObject was sent


def test_calls_after_shutdown_raise_runtime_error(client, stubber):
    manager = TransferManager(client)
    manager.shutdown()
    for call in (
        lambda: manager.upload('f', 'bucket', 'key'),
        lambda: manager.download('bucket', 'key', 'f'),
        lambda: manager.copy({'Bucket': 'b', 'Key': 'k'}, 'bucket', 'key'),
        lambda: manager.delete('bucket', 'key'),
    ):
        with pytest.raises(RuntimeError, match='shut down'):
            call()
    assert manager._coordinator_controller.tracked_transfer_coordinators == set()
    started = time.monotonic()
    manager.shutdown()
    assert time.monotonic() - started < 1


def test_calls_after_shutdown_raise_with_non_threaded_executor(client, stubber):
    manager = TransferManager(client, executor_cls=NonThreadedExecutor)
    manager.shutdown()
    with pytest.raises(RuntimeError, match='shut down'):
        manager.delete('bucket', 'key')


@pytest.mark.parametrize(
    'exc, exc_type, message',
    [
        (KeyboardInterrupt(), CancelledError, 'KeyboardInterrupt()'),
        (RuntimeError('boom'), FatalError, 'boom'),
        (RuntimeError(), FatalError, 'RuntimeError()'),
    ],
)
def test_exception_in_context_cancels_in_flight_transfers(
    client, stubber, exc, exc_type, message
):
    blocker = BlockingQueued()
    with pytest.raises(type(exc)):
        with TransferManager(client) as manager:
            future = manager.delete('bucket', 'key', subscribers=[blocker])
            assert blocker.entered.wait(WAIT)
            threading.Timer(0.2, blocker.release.set).start()
            raise exc
    with pytest.raises(exc_type) as raised:
        future.result()
    assert str(raised.value) == message
    if exc_type is CancelledError:
        assert not isinstance(raised.value, FatalError)
    stubber.assert_no_pending_responses()


def test_context_exit_keeps_results_of_finished_transfers(client, stubber):
    expect_delete(stubber)
    with pytest.raises(RuntimeError):
        with TransferManager(client) as manager:
            future = manager.delete('bucket', 'key')
            future.result()
            raise RuntimeError('later')
    assert future.result() is None


def test_non_threaded_executor_runs_inline(client, stubber):
    expect_delete(stubber)
    manager = TransferManager(client, executor_cls=NonThreadedExecutor)
    caller = threading.current_thread()
    seen = []

    class ThreadRecorder(BaseSubscriber):
        def on_queued(self, future, **kwargs):
            seen.append(threading.current_thread())

    future = manager.delete('bucket', 'key', subscribers=[ThreadRecorder()])
    assert future.done()
    assert seen == [caller]


def test_on_queued_error_fails_the_transfer(client, stubber):
    class Failing(BaseSubscriber):
        def on_queued(self, future, **kwargs):
            raise ValueError('no queue for you')

    with TransferManager(client) as manager:
        future = manager.delete('bucket', 'key', subscribers=[Failing()])
        with pytest.raises(ValueError, match='no queue for you'):
            future.result()
    stubber.assert_no_pending_responses()


def test_on_done_can_set_exception_seen_by_later_subscribers(client, stubber):
    expect_delete(stubber)
    seen = []

    class Failer(BaseSubscriber):
        def on_done(self, future, **kwargs):
            future.set_exception(OSError('post-processing failed'))

    class Checker(BaseSubscriber):
        def on_done(self, future, **kwargs):
            try:
                future.result()
            except OSError as e:
                seen.append(str(e))

    with TransferManager(client) as manager:
        future = manager.delete('bucket', 'key', subscribers=[Failer(), Checker()])
    assert seen == ['post-processing failed']
    with pytest.raises(OSError):
        future.result()


def test_many_concurrent_deletes_complete(client, stubber):
    for _ in range(50):
        stubber.add_response('delete_object', {})
    config = TransferConfig(max_submission_queue_size=3, max_request_queue_size=2)
    # Stubber responses are consumed in order, so submit from one thread.
    with TransferManager(client, config) as manager:
        futures = [manager.delete('bucket', f'k{i}') for i in range(50)]
    assert all(f.done() and f.result() is None for f in futures)
    stubber.assert_no_pending_responses()


def _user_agent_features(user_agent):
    """The feature codes of a botocore User-Agent (its ``m/`` field)."""
    for field in user_agent.split():
        if field.startswith('m/'):
            return set(field[2:].split(','))
    return set()


@pytest.mark.parametrize('from_context', [True, False])
def test_requests_carry_the_submitters_feature_ids(client, from_context):
    # boto3's upload_file registers S3_TRANSFER around its TransferManager calls;
    # the feature must reach the User-Agent of requests sent from worker threads.
    from botocore.context import get_context, start_as_current_context
    from botocore.useragent import register_feature_id

    agents = []

    def answer(request, **kwargs):
        agents.append(request.headers['User-Agent'].decode())
        return AWSResponse(request.url, 200, {'ETag': '"e"'}, _EmptyRaw())

    client.meta.events.register_first('before-send.s3.PutObject', answer)
    with start_as_current_context():
        register_feature_id('S3_TRANSFER')
        transfer_codes = set(get_context().features)
    with TransferManager(client) as manager:
        if from_context:
            with start_as_current_context():
                register_feature_id('S3_TRANSFER')
                future = manager.upload(io.BytesIO(b'data'), 'bucket', 'key')
        else:
            future = manager.upload(io.BytesIO(b'data'), 'bucket', 'key')
        future.result()
    assert len(agents) == 1
    carried = transfer_codes <= _user_agent_features(agents[0])
    assert carried is from_context
