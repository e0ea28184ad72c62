"""Unit tests for s3transfer.processpool: pieces tested in-process with fakes."""

import os
import queue
import signal
import threading

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ResponseStreamingError
from hypothesis import given, settings
from hypothesis import strategies as st

from s3transfer import processpool
from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS, MB, PROCESS_USER_AGENT
from s3transfer.exceptions import CancelledError, RetriesExceededError
from s3transfer.futures import BaseTransferFuture, BaseTransferMeta
from s3transfer.processpool import (
    SHUTDOWN_SIGNAL,
    BaseS3TransferProcess,
    ClientFactory,
    DownloadFileRequest,
    GetObjectJob,
    GetObjectSubmitter,
    GetObjectWorker,
    ProcessPoolDownloader,
    ProcessPoolTransferFuture,
    ProcessPoolTransferMeta,
    ProcessTransferConfig,
    TransferMonitor,
    TransferMonitorManager,
    TransferState,
    ignore_ctrl_c,
)
from s3transfer.utils import CallArgs, OSUtils

# --- fakes -------------------------------------------------------------------------


class FakeBody:
    """A streaming body that records read sizes and can fail once per instance."""

    def __init__(self, data, error=None):
        self._data = data
        self._error = error
        self.read_sizes = []

    def read(self, amount):
        self.read_sizes.append(amount)
        if self._error is not None:
            raise self._error
        chunk, self._data = self._data[:amount], self._data[amount:]
        return chunk


class FakeClient:
    """Answers get_object/head_object from scripted responses and records calls."""

    def __init__(self, get_responses=(), size=None, head_error=None):
        self.calls = []
        self._get_responses = list(get_responses)
        self._size = size
        self._head_error = head_error

    def head_object(self, **kwargs):
        self.calls.append(('head_object', kwargs))
        if self._head_error:
            raise self._head_error
        return {'ContentLength': self._size}

    def get_object(self, **kwargs):
        self.calls.append(('get_object', kwargs))
        response = self._get_responses.pop(0)
        if isinstance(response, Exception):
            raise response
        return {'Body': response}


class FakeClientFactory:
    def __init__(self, client):
        self.client = client
        self.created = 0

    def create_client(self):
        self.created += 1
        return self.client


class RecordingMonitor:
    """Records the order of future-facing monitor calls."""

    def __init__(self, poll_error=None):
        self.calls = []
        self._poll_error = poll_error

    def is_done(self, transfer_id):
        self.calls.append(('is_done', transfer_id))
        return True

    def poll_for_result(self, transfer_id):
        self.calls.append(('poll_for_result', transfer_id))
        if self._poll_error:
            raise self._poll_error
        return None

    def _connect(self):
        self.calls.append(('_connect',))

    def notify_exception(self, transfer_id, exception):
        self.calls.append(('notify_exception', transfer_id, exception))


def client_error(code='NoSuchKey', operation='GetObject'):
    return ClientError({'Error': {'Code': code, 'Message': 'x'}}, operation)


def retryable_error():
    return ResponseStreamingError(error='connection reset')


# --- module level names ------------------------------------------------------------


def test_messages_and_signal():
    assert SHUTDOWN_SIGNAL == 'SHUTDOWN'
    assert DownloadFileRequest._fields == (
        'transfer_id',
        'bucket',
        'key',
        'filename',
        'extra_args',
        'expected_size',
    )
    assert GetObjectJob._fields == (
        'transfer_id',
        'bucket',
        'key',
        'temp_filename',
        'extra_args',
        'offset',
        'filename',
    )


def test_ignore_ctrl_c_swallows_sigint_and_restores_handler():
    before = signal.getsignal(signal.SIGINT)
    with ignore_ctrl_c():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)  # would raise KeyboardInterrupt otherwise
    assert signal.getsignal(signal.SIGINT) is before


def test_add_ignore_handler_returns_previous_handler():
    before = signal.getsignal(signal.SIGINT)
    try:
        assert processpool._add_ignore_handler_for_interrupts() is before
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_transfer_monitor_is_registered_with_the_manager():
    assert 'TransferMonitor' in TransferMonitorManager._registry
    assert TransferMonitorManager._registry['TransferMonitor'][0] is TransferMonitor


# --- ProcessTransferConfig ---------------------------------------------------------


def test_process_transfer_config_defaults_and_no_validation():
    config = ProcessTransferConfig()
    assert config.multipart_threshold == 8 * MB
    assert config.multipart_chunksize == 8 * MB
    assert config.max_request_processes == 10
    config = ProcessTransferConfig(1, -2, 0)
    assert (config.multipart_threshold, config.multipart_chunksize) == (1, -2)
    assert config.max_request_processes == 0


# --- meta and future ---------------------------------------------------------------


def test_meta_positional_order_and_user_context():
    call_args = CallArgs(bucket='b')
    meta = ProcessPoolTransferMeta(3, call_args)
    assert isinstance(meta, BaseTransferMeta)
    assert meta.transfer_id == 3
    assert meta.call_args is call_args
    assert meta.user_context == {}
    meta.user_context['k'] = 'v'
    assert ProcessPoolTransferMeta(4, call_args).user_context == {}


def make_future(monitor, transfer_id=7):
    meta = ProcessPoolTransferMeta(transfer_id=transfer_id, call_args=CallArgs())
    return ProcessPoolTransferFuture(monitor=monitor, meta=meta)


def test_future_delegates_to_monitor():
    monitor = RecordingMonitor()
    future = make_future(monitor)
    assert isinstance(future, BaseTransferFuture)
    assert future.meta.transfer_id == 7
    assert future.done() is True
    assert future.result() is None
    assert monitor.calls == [('is_done', 7), ('poll_for_result', 7)]


def test_future_result_raises_recorded_exception():
    error = client_error()
    with pytest.raises(ClientError) as exc_info:
        make_future(RecordingMonitor(poll_error=error)).result()
    assert exc_info.value is error


def test_future_cancel_records_cancelled_error():
    monitor = RecordingMonitor()
    make_future(monitor).cancel()
    [(name, transfer_id, exception)] = monitor.calls
    assert (name, transfer_id) == ('notify_exception', 7)
    assert type(exception) is CancelledError


def test_future_result_keyboard_interrupt_reconnects_then_cancels():
    monitor = RecordingMonitor(poll_error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        make_future(monitor).result()
    names = [call[0] for call in monitor.calls]
    assert names == ['poll_for_result', '_connect', 'notify_exception']
    assert isinstance(monitor.calls[2][2], CancelledError)


# --- TransferMonitor / TransferState -----------------------------------------------


def test_monitor_ids_count_from_zero():
    monitor = TransferMonitor()
    assert [monitor.notify_new_transfer() for _ in range(3)] == [0, 1, 2]


def test_monitor_done_and_result():
    monitor = TransferMonitor()
    transfer_id = monitor.notify_new_transfer()
    assert monitor.is_done(transfer_id) is False
    assert monitor.get_exception(transfer_id) is None
    monitor.notify_done(transfer_id)
    assert monitor.is_done(transfer_id) is True
    assert monitor.poll_for_result(transfer_id) is None


def test_monitor_exception_is_raised_and_can_be_overwritten():
    monitor = TransferMonitor()
    transfer_id = monitor.notify_new_transfer()
    monitor.notify_exception(transfer_id, ValueError('first'))
    second = client_error()
    monitor.notify_exception(transfer_id, second)
    assert monitor.get_exception(transfer_id) is second
    assert monitor.is_done(transfer_id) is False
    monitor.notify_done(transfer_id)
    with pytest.raises(ClientError):
        monitor.poll_for_result(transfer_id)


def test_monitor_poll_waits_for_done_from_another_thread():
    monitor = TransferMonitor()
    transfer_id = monitor.notify_new_transfer()
    results = []
    thread = threading.Thread(
        target=lambda: results.append(monitor.poll_for_result(transfer_id))
    )
    thread.start()
    thread.join(0.05)
    assert thread.is_alive()  # still waiting: not done yet
    monitor.notify_done(transfer_id)
    thread.join(5)
    assert not thread.is_alive()
    assert results == [None]


def test_monitor_cancel_all_only_touches_unfinished_transfers():
    monitor = TransferMonitor()
    done_id, running_id = monitor.notify_new_transfer(), monitor.notify_new_transfer()
    monitor.notify_done(done_id)
    monitor.notify_cancel_all_in_progress()
    assert monitor.get_exception(done_id) is None
    assert isinstance(monitor.get_exception(running_id), CancelledError)
    assert monitor.is_done(running_id) is False


def test_monitor_job_counting():
    monitor = TransferMonitor()
    transfer_id = monitor.notify_new_transfer()
    monitor.notify_expected_jobs_to_complete(transfer_id, 2)
    assert monitor.notify_job_complete(transfer_id) == 1
    assert monitor.notify_job_complete(transfer_id) == 0


@pytest.mark.parametrize(
    'method, args',
    [
        ('is_done', ()),
        ('notify_done', ()),
        ('poll_for_result', ()),
        ('get_exception', ()),
        ('notify_exception', (ValueError(),)),
        ('notify_expected_jobs_to_complete', (1,)),
        ('notify_job_complete', ()),
    ],
)
def test_monitor_unknown_id_raises_key_error(method, args):
    with pytest.raises(KeyError):
        getattr(TransferMonitor(), method)(42, *args)


def test_transfer_state():
    state = TransferState()
    assert (state.done, state.exception, state.jobs_to_complete) == (False, None, 0)
    state.jobs_to_complete = 3
    assert state.decrement_jobs_to_complete() == 2
    assert state.jobs_to_complete == 2
    error = ValueError()
    state.exception = error
    assert state.exception is error
    state.set_done()
    state.wait_till_done()  # returns at once
    assert state.done is True


# --- ClientFactory -----------------------------------------------------------------


def test_client_factory_adds_process_user_agent_to_a_default_config():
    client_kwargs = {}
    ClientFactory(client_kwargs)
    assert client_kwargs['config'].user_agent_extra == PROCESS_USER_AGENT
    assert PROCESS_USER_AGENT == 's3transfer/0.19.3 processpool'


def test_client_factory_appends_to_existing_extra_without_touching_the_original():
    original = Config(user_agent_extra='mine')
    client_kwargs = {'config': original}
    ClientFactory(client_kwargs)
    assert client_kwargs['config'] is not original
    assert client_kwargs['config'].user_agent_extra == 'mine ' + PROCESS_USER_AGENT
    assert original.user_agent_extra == 'mine'


def test_client_factory_default_kwargs():
    factory = ClientFactory()
    assert factory._client_kwargs['config'].user_agent_extra == PROCESS_USER_AGENT


def capture_user_agent(client):
    """Answer the next request locally and return its User-Agent header."""
    seen = {}

    class Captured(Exception):
        pass

    def capture(request, **kwargs):
        seen['ua'] = request.headers['User-Agent'].decode()
        seen['url'] = request.url
        raise Captured()

    client.meta.events.register_first('before-send.s3.HeadObject', capture)
    with pytest.raises(Captured):
        client.head_object(Bucket='bucket', Key='key')
    return seen


@pytest.mark.parametrize(
    'config',
    [None, Config(user_agent_extra='extra/1'), Config(user_agent='custom/2')],
)
def test_created_client_carries_process_user_agent_and_region(config):
    client_kwargs = {
        'region_name': 'eu-west-1',
        'aws_access_key_id': 'testing',
        'aws_secret_access_key': 'testing',
    }
    if config is not None:
        client_kwargs['config'] = config
    client = ClientFactory(client_kwargs).create_client()
    assert client.meta.region_name == 'eu-west-1'
    seen = capture_user_agent(client)
    assert 's3transfer/0.19.3 processpool' in seen['ua']
    assert 'eu-west-1' in seen['url']


def test_create_client_uses_a_new_session_each_time(monkeypatch):
    sessions = []
    real_session = botocore.session.Session

    def recording_session(*args, **kwargs):
        sessions.append(real_session(*args, **kwargs))
        return sessions[-1]

    monkeypatch.setattr(botocore.session, 'Session', recording_session)
    factory = ClientFactory({'region_name': 'us-east-1'})
    factory.create_client()
    factory.create_client()
    assert len(sessions) == 2 and sessions[0] is not sessions[1]


# --- ProcessPoolDownloader (nothing started) ---------------------------------------


def test_downloader_late_binds_client_factory(monkeypatch):
    created = []
    monkeypatch.setattr(
        processpool, 'ClientFactory', lambda *args, **kw: created.append((args, kw))
    )
    client_kwargs = {'region_name': 'us-west-2'}
    ProcessPoolDownloader(client_kwargs=client_kwargs)
    ProcessPoolDownloader()
    assert created == [((client_kwargs,), {}), (({},), {})]


def test_downloader_constructor_starts_nothing():
    downloader = ProcessPoolDownloader()
    assert downloader._transfer_config.max_request_processes == 10
    assert downloader._started is False
    assert downloader._transfer_monitor is None
    assert downloader._submitter is None
    assert downloader._workers == []


def test_shutdown_and_exit_are_safe_when_never_started():
    downloader = ProcessPoolDownloader()
    downloader.shutdown()
    with pytest.raises(KeyboardInterrupt):
        with downloader:
            raise KeyboardInterrupt()
    assert downloader._started is False


def test_allowed_download_args_is_the_validation_list():
    # download_file validates against this very list (see the functional tests).
    assert 'VersionId' in ALLOWED_DOWNLOAD_ARGS and 'Range' not in ALLOWED_DOWNLOAD_ARGS


# --- BaseS3TransferProcess -----------------------------------------------------------


def test_base_process_do_run_is_abstract():
    with pytest.raises(NotImplementedError, match=r'_do_run\(\)'):
        BaseS3TransferProcess(FakeClientFactory(None))._do_run()


def test_run_creates_client_then_works_with_sigint_ignored():
    observed = {}

    class Probe(BaseS3TransferProcess):
        def _do_run(self):
            observed['client'] = self._client
            observed['handler'] = signal.getsignal(signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    client = object()
    Probe(FakeClientFactory(client)).run()
    assert observed == {'client': client, 'handler': signal.SIG_IGN}
    assert signal.getsignal(signal.SIGINT) is before


# --- GetObjectSubmitter ------------------------------------------------------------


class RecordingOSUtils(OSUtils):
    """Real file operations, with a fixed temp name and a record of allocations."""

    def __init__(self):
        self.allocations = []

    def get_temp_filename(self, filename):
        return filename + '.tmp'

    def allocate(self, filename, size):
        self.allocations.append((filename, size))
        super().allocate(filename, size)


def run_submitter(client, requests, monitor, osutil, config=None):
    request_queue, worker_queue = queue.Queue(), queue.Queue()
    for request in [*requests, SHUTDOWN_SIGNAL]:
        request_queue.put(request)
    submitter = GetObjectSubmitter(
        transfer_config=config or ProcessTransferConfig(),
        client_factory=FakeClientFactory(client),
        transfer_monitor=monitor,
        osutil=osutil,
        download_request_queue=request_queue,
        worker_queue=worker_queue,
    )
    submitter.run()
    return [worker_queue.get_nowait() for _ in range(worker_queue.qsize())]


def new_request(monitor, filename, expected_size=None, extra_args=None):
    return DownloadFileRequest(
        transfer_id=monitor.notify_new_transfer(),
        bucket='bucket',
        key='key',
        filename=filename,
        extra_args=extra_args or {},
        expected_size=expected_size,
    )


def test_submitter_splits_into_ranges(tmp_path):
    monitor, osutil = TransferMonitor(), RecordingOSUtils()
    filename = str(tmp_path / 'f')
    request = new_request(monitor, filename, expected_size=7, extra_args={'X': 1})
    config = ProcessTransferConfig(multipart_threshold=7, multipart_chunksize=3)
    jobs = run_submitter(FakeClient(), [request], monitor, osutil, config)
    assert [(job.offset, job.extra_args) for job in jobs] == [
        (0, {'Range': 'bytes=0-2', 'X': 1}),
        (3, {'Range': 'bytes=3-5', 'X': 1}),
        (6, {'Range': 'bytes=6-', 'X': 1}),
    ]
    assert {(job.temp_filename, job.filename) for job in jobs} == {
        (filename + '.tmp', filename)
    }
    assert osutil.allocations == [(filename + '.tmp', 7)]
    assert os.path.getsize(filename + '.tmp') == 7
    assert monitor._transfer_states[0].jobs_to_complete == 3


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 2000), chunksize=st.integers(1, 300))
def test_submitter_ranges_tile_the_object(tmp_path_factory, size, chunksize):
    monitor, osutil = TransferMonitor(), RecordingOSUtils()
    filename = str(tmp_path_factory.mktemp('ranges') / 'f')
    request = new_request(monitor, filename, expected_size=size)
    config = ProcessTransferConfig(multipart_threshold=1, multipart_chunksize=chunksize)
    jobs = run_submitter(FakeClient(), [request], monitor, osutil, config)
    position = 0
    for job in jobs:
        start, end = job.extra_args['Range'][len('bytes=') :].split('-')
        assert job.offset == int(start) == position
        position = int(end) + 1 if end else size
    assert position == size and jobs[-1].extra_args['Range'].endswith('-')
    assert monitor._transfer_states[0].jobs_to_complete == len(jobs)


def test_submitter_heads_for_size_below_threshold(tmp_path):
    monitor, osutil = TransferMonitor(), RecordingOSUtils()
    client = FakeClient(size=5)
    request = new_request(monitor, str(tmp_path / 'f'), extra_args={'VersionId': 'v'})
    [job] = run_submitter(client, [request], monitor, osutil)
    assert client.calls == [
        ('head_object', {'Bucket': 'bucket', 'Key': 'key', 'VersionId': 'v'})
    ]
    assert (job.offset, job.extra_args) == (0, {'VersionId': 'v'})
    assert monitor._transfer_states[0].jobs_to_complete == 1


def test_submitter_zero_size_creates_empty_temp_file(tmp_path):
    monitor, osutil = TransferMonitor(), RecordingOSUtils()
    filename = str(tmp_path / 'f')
    [job] = run_submitter(
        FakeClient(), [new_request(monitor, filename, 0)], monitor, osutil
    )
    assert os.path.getsize(job.temp_filename) == 0
    assert osutil.allocations == []  # posix_fallocate would reject a zero length


def test_submitter_failure_finishes_transfer_and_continues(tmp_path):
    monitor, osutil = TransferMonitor(), RecordingOSUtils()
    error = client_error('404', 'HeadObject')
    failing = new_request(monitor, str(tmp_path / 'a'))
    good = new_request(monitor, str(tmp_path / 'b'), expected_size=1)
    jobs = run_submitter(FakeClient(head_error=error), [failing, good], monitor, osutil)
    assert monitor.get_exception(failing.transfer_id) is error
    assert monitor.is_done(failing.transfer_id)
    assert [job.transfer_id for job in jobs] == [good.transfer_id]
    assert os.listdir(tmp_path) == ['b.tmp']


def test_submitter_allocation_failure_fails_transfer(tmp_path):
    monitor = TransferMonitor()
    request = new_request(monitor, str(tmp_path / 'missing-dir' / 'f'), 4)
    assert run_submitter(FakeClient(), [request], monitor, RecordingOSUtils()) == []
    assert isinstance(monitor.get_exception(request.transfer_id), OSError)
    assert monitor.is_done(request.transfer_id)


# --- GetObjectWorker ---------------------------------------------------------------


def make_job(monitor, tmp_path, offset=0, num_jobs=1, content=b''):
    transfer_id = monitor.notify_new_transfer()
    monitor.notify_expected_jobs_to_complete(transfer_id, num_jobs)
    temp_filename = str(tmp_path / 'f.tmp')
    with open(temp_filename, 'wb') as f:
        f.write(content)
    return GetObjectJob(
        transfer_id=transfer_id,
        bucket='bucket',
        key='key',
        temp_filename=temp_filename,
        extra_args={'Range': 'bytes=2-'},
        offset=offset,
        filename=str(tmp_path / 'f'),
    )


def run_worker(client, jobs, monitor, osutil=None):
    job_queue = queue.Queue()
    for job in [*jobs, SHUTDOWN_SIGNAL]:
        job_queue.put(job)
    worker = GetObjectWorker(
        queue=job_queue,
        client_factory=FakeClientFactory(client),
        transfer_monitor=monitor,
        osutil=osutil or OSUtils(),
    )
    worker.run()
    return worker


def test_worker_writes_at_offset_in_io_chunks_then_renames(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path, offset=2, content=b'..xxxx')
    body = FakeBody(b'abcd')
    client = FakeClient([body])
    run_worker(client, [job], monitor)
    assert client.calls == [
        ('get_object', {'Bucket': 'bucket', 'Key': 'key', 'Range': 'bytes=2-'})
    ]
    assert body.read_sizes == [2 * MB, 2 * MB]
    assert GetObjectWorker._IO_CHUNKSIZE == 2 * MB
    assert (tmp_path / 'f').read_bytes() == b'..abcd'
    assert os.listdir(tmp_path) == ['f']
    assert monitor.poll_for_result(job.transfer_id) is None


def test_worker_finalizes_only_after_the_last_job(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path, num_jobs=2, content=b'xx')
    run_worker(FakeClient([FakeBody(b'a')]), [job], monitor)
    assert not monitor.is_done(job.transfer_id)
    assert os.listdir(tmp_path) == ['f.tmp']


def test_worker_retries_streaming_errors(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path, content=b'xx')
    responses = [FakeBody(b'', retryable_error()), FakeBody(b'ok')]
    client = FakeClient(responses)
    run_worker(client, [job], monitor)
    assert len(client.calls) == 2
    assert (tmp_path / 'f').read_bytes() == b'ok'


def test_worker_gives_up_after_five_attempts(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path)
    errors = [retryable_error() for _ in range(5)]
    client = FakeClient(errors)
    run_worker(client, [job], monitor)
    assert len(client.calls) == GetObjectWorker._MAX_ATTEMPTS == 5
    with pytest.raises(RetriesExceededError) as exc_info:
        monitor.poll_for_result(job.transfer_id)
    assert exc_info.value.last_exception is errors[-1]
    assert os.listdir(tmp_path) == []


def test_worker_records_other_errors_without_retrying(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path)
    client = FakeClient([client_error(), FakeBody(b'unused')])
    run_worker(client, [job], monitor)
    assert len(client.calls) == 1
    with pytest.raises(ClientError):
        monitor.poll_for_result(job.transfer_id)
    assert os.listdir(tmp_path) == []


def test_worker_skips_jobs_of_failed_transfers(tmp_path):
    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path)
    monitor.notify_exception(job.transfer_id, CancelledError())
    client = FakeClient()
    run_worker(client, [job], monitor)
    assert client.calls == []
    assert monitor.is_done(job.transfer_id)
    assert os.listdir(tmp_path) == []
    with pytest.raises(CancelledError):
        monitor.poll_for_result(job.transfer_id)


def test_worker_rename_failure_is_recorded_and_temp_removed(tmp_path):
    class FailingRename(OSUtils):
        def rename_file(self, current_filename, new_filename):
            raise PermissionError('denied')

    monitor = TransferMonitor()
    job = make_job(monitor, tmp_path)
    run_worker(FakeClient([FakeBody(b'a')]), [job], monitor, FailingRename())
    with pytest.raises(PermissionError):
        monitor.poll_for_result(job.transfer_id)
    assert os.listdir(tmp_path) == []


class ExplodingMonitor(TransferMonitor):
    """Rejects exceptions that could not be pickled across processes."""

    def notify_exception(self, transfer_id, exception):
        if not isinstance(exception, RuntimeError):
            raise TypeError('cannot pickle')
        super().notify_exception(transfer_id, exception)


def test_unrecordable_error_is_replaced_by_a_summary(tmp_path):
    monitor = ExplodingMonitor()
    job = make_job(monitor, tmp_path)
    run_worker(FakeClient([client_error()]), [job], monitor)
    with pytest.raises(RuntimeError, match='ClientError: An error occurred'):
        monitor.poll_for_result(job.transfer_id)
