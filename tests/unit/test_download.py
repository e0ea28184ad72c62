"""Unit tests of s3transfer.download: output managers, GET tasks, DeferQueue, chunks."""

import io
import os
import threading
import time

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError
from hypothesis import given, settings
from hypothesis import strategies as st

from s3transfer.download import (
    CompleteDownloadNOOPTask,
    DeferQueue,
    DownloadChunkIterator,
    DownloadFilenameOutputManager,
    DownloadNonSeekableOutputManager,
    DownloadOutputManager,
    DownloadSeekableOutputManager,
    DownloadSpecialFilenameOutputManager,
    DownloadSubmissionTask,
    GetObjectFirstChunkOnDoneCallback,
    GetObjectTask,
    ImmediatelyWriteIOGetObjectTask,
    IOCloseTask,
    IORenameFileTask,
    IOStreamingWriteTask,
    IOWriteTask,
)
from s3transfer.exceptions import (
    RetriesExceededError,
    S3DownloadFailedError,
    S3ValidationError,
)
from s3transfer.futures import (
    IN_MEMORY_DOWNLOAD_TAG,
    BoundedExecutor,
    ExecutorFuture,
    NonThreadedExecutor,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.utils import CallArgs, OSUtils
from tests.helpers import WriteOnly

KB = 1024


# --- helpers -------------------------------------------------------------------------


class Body:
    """A response body that can fail with ``error`` after ``fail_after`` bytes."""

    def __init__(self, data, fail_after=None, error=None):
        self._stream = io.BytesIO(data)
        self._fail_after = fail_after
        self._error = error
        self.closed = False

    def read(self, amount=None):
        if self._fail_after is not None and self._stream.tell() >= self._fail_after:
            raise self._error
        if self._fail_after is not None:
            amount = min(amount, self._fail_after - self._stream.tell())
        return self._stream.read(amount)

    def close(self):
        self.closed = True


class FakeClient:
    """Answers get_object calls from a scripted list of responses or errors."""

    def __init__(self, *responses):
        self._responses = list(responses)
        self.calls = []

    def get_object(self, **kwargs):
        self.calls.append(kwargs)
        response = self._responses.pop(0)
        if isinstance(response, BaseException):
            raise response
        return response


class Progress:
    def __init__(self):
        self.amounts = []

    def __call__(self, bytes_transferred):
        self.amounts.append(bytes_transferred)


def client_error(code, status=400):
    return ClientError(
        {'Error': {'Code': code, 'Message': code}, 'ResponseMetadata': {}},
        'GetObject',
    )


def inline_executor():
    return BoundedExecutor(1000, 1, executor_cls=NonThreadedExecutor)


def response(data, etag='"e1"', content_range=None, **body_kwargs):
    result = {'Body': Body(data, **body_kwargs), 'ContentLength': len(data)}
    if etag is not None:
        result['ETag'] = etag
    if content_range is not None:
        result['ContentRange'] = content_range
    return result


def future_for(fileobj, extra_args=None, subscribers=None):
    call_args = CallArgs(
        bucket='bucket',
        key='key',
        fileobj=fileobj,
        extra_args=extra_args or {},
        subscribers=subscribers or [],
    )
    coordinator = TransferCoordinator(transfer_id=1)
    return TransferFuture(TransferMeta(call_args, transfer_id=1), coordinator)


@pytest.fixture
def coordinator():
    return TransferCoordinator(transfer_id=1)


def run_get(task_cls, coordinator, client, manager, fileobj, **overrides):
    progress = Progress()
    kwargs = {
        'client': client,
        'bucket': 'bucket',
        'key': 'key',
        'fileobj': fileobj,
        'extra_args': {},
        'callbacks': [progress],
        'max_attempts': 5,
        'download_output_manager': manager,
        'io_chunksize': 4,
    }
    kwargs.update(overrides)
    task = task_cls(coordinator, main_kwargs=kwargs)
    task()
    return task, progress


# --- DownloadChunkIterator -----------------------------------------------------------


def test_chunk_iterator_reads_in_chunksize_pieces():
    assert list(DownloadChunkIterator(io.BytesIO(b'1234'), 3)) == [b'123', b'4']


def test_chunk_iterator_yields_one_empty_chunk_for_an_empty_body():
    assert list(DownloadChunkIterator(io.BytesIO(b''), 3)) == [b'']


def test_chunk_iterator_protocol_and_next_alias():
    iterator = DownloadChunkIterator(io.BytesIO(b'ab'), 1)
    assert iter(iterator) is iterator
    assert iterator.next() == b'a'
    assert next(iterator) == b'b'
    with pytest.raises(StopIteration):
        next(iterator)


# --- DeferQueue ----------------------------------------------------------------------


def as_pairs(writes):
    return [(write['offset'], write['data']) for write in writes]


def test_defer_queue_spec_example():
    queue = DeferQueue()
    assert queue.request_writes(4, b'ef') == []
    assert as_pairs(queue.request_writes(0, b'ab')) == [(0, b'ab')]
    assert as_pairs(queue.request_writes(2, b'cd')) == [(2, b'cd'), (4, b'ef')]
    assert as_pairs(queue.request_writes(4, b'efgh')) == [(6, b'gh')]


def test_defer_queue_longer_pending_data_wins_ties_keep_first():
    queue = DeferQueue()
    assert as_pairs(queue.request_writes(0, b'01234567')) == [(0, b'01234567')]
    assert queue.request_writes(9, b'x') == []
    assert queue.request_writes(9, b'xyz') == []
    assert queue.request_writes(9, b'q') == []
    assert queue.request_writes(9, b'abc') == []
    assert as_pairs(queue.request_writes(8, b'0')) == [(8, b'0'), (9, b'xyz')]


def test_defer_queue_drops_fully_written_retries_and_empty_writes():
    queue = DeferQueue()
    queue.request_writes(0, b'abcd')
    assert queue.request_writes(0, b'abcd') == []
    assert queue.request_writes(2, b'cd') == []
    assert queue.request_writes(0, b'') == []


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=64),
    chunk=st.integers(min_value=1, max_value=9),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(min_value=0, max_value=20), max_size=5),
)
def test_defer_queue_reassembles_any_order_with_duplicates(data, chunk, order, repeats):
    pieces = [(i, data[i : i + chunk]) for i in range(0, len(data), chunk)]
    pieces += [pieces[r % len(pieces)] for r in repeats]
    order.shuffle(pieces)
    queue = DeferQueue()
    released = []
    for offset, piece in pieces:
        released += queue.request_writes(offset, piece)
    assert b''.join(write['data'] for write in released) == data
    offsets = [write['offset'] for write in released]
    assert offsets == sorted(offsets)


def test_defer_queue_is_thread_safe():
    data = os.urandom(64 * KB)
    queue = DeferQueue()
    released = []
    lock = threading.Lock()

    def feed(start):
        for offset in range(start, len(data), 1024 * 4):
            writes = queue.request_writes(offset, data[offset : offset + 1024])
            with lock:
                released.extend(writes)

    threads = [threading.Thread(target=feed, args=(i * 1024,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    released.sort(key=lambda write: write['offset'])
    assert b''.join(write['data'] for write in released) == data


# --- output manager selection --------------------------------------------------------


class SpecialOSUtils(OSUtils):
    def is_special_file(self, filename):
        return True


@pytest.mark.parametrize(
    ('target', 'osutil', 'expected'),
    [
        ('/dev/null-ish', SpecialOSUtils(), DownloadSpecialFilenameOutputManager),
        ('some/file', OSUtils(), DownloadFilenameOutputManager),
        (io.BytesIO(), OSUtils(), DownloadSeekableOutputManager),
        (WriteOnly(), OSUtils(), DownloadNonSeekableOutputManager),
    ],
)
def test_output_manager_resolution_order(target, osutil, expected):
    task = DownloadSubmissionTask(TransferCoordinator())
    found = task._get_download_output_manager_cls(future_for(target), osutil)
    assert found is expected


def test_unsupported_output_raises_runtime_error():
    target = object()
    task = DownloadSubmissionTask(TransferCoordinator())
    with pytest.raises(RuntimeError) as error:
        task._get_download_output_manager_cls(future_for(target), OSUtils())
    assert str(error.value) == (
        f'Output {target} of type: {type(target)} is not supported.'
    )


def test_real_special_file_is_detected(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    assert DownloadSpecialFilenameOutputManager.is_compatible(str(fifo), OSUtils())
    assert not DownloadSpecialFilenameOutputManager.is_compatible(
        str(tmp_path / 'plain'), OSUtils()
    )


def test_seekable_target_is_also_compatible_with_the_non_seekable_manager():
    assert DownloadNonSeekableOutputManager.is_compatible(io.BytesIO(), OSUtils())


def test_base_output_manager_defaults(coordinator):
    manager = DownloadOutputManager(OSUtils(), coordinator, None)
    assert manager.get_download_task_tag() is None
    with pytest.raises(NotImplementedError):
        DownloadOutputManager.is_compatible('x', OSUtils())
    with pytest.raises(NotImplementedError):
        manager.get_fileobj_for_io_writes(None)
    with pytest.raises(NotImplementedError):
        manager.get_final_io_task()


def test_tags_of_output_managers(coordinator):
    assert DownloadNonSeekableOutputManager(
        OSUtils(), coordinator, None
    ).get_download_task_tag() is (IN_MEMORY_DOWNLOAD_TAG)
    assert DownloadSpecialFilenameOutputManager(
        OSUtils(), coordinator, None
    ).get_download_task_tag() is (IN_MEMORY_DOWNLOAD_TAG)
    assert (
        DownloadFilenameOutputManager(
            OSUtils(), coordinator, None
        ).get_download_task_tag()
        is None
    )


# --- filename output manager ---------------------------------------------------------


class RecordingOSUtils(OSUtils):
    def __init__(self):
        self.opened = []
        self.renamed = []

    def open(self, filename, mode):
        self.opened.append((filename, mode))
        return super().open(filename, mode)

    def rename_file(self, current_filename, new_filename):
        self.renamed.append((current_filename, new_filename))
        super().rename_file(current_filename, new_filename)


def test_filename_manager_writes_temp_file_then_renames(tmp_path, coordinator):
    target = str(tmp_path / 'out.bin')
    osutil = RecordingOSUtils()
    io_executor = inline_executor()
    manager = DownloadFilenameOutputManager(osutil, coordinator, io_executor)
    fileobj = manager.get_fileobj_for_io_writes(future_for(target))
    assert os.path.dirname(fileobj.name) == str(tmp_path)
    assert os.path.basename(fileobj.name).startswith('out.bin.')
    assert os.listdir(tmp_path) == []  # opened lazily
    manager.queue_file_io_task(fileobj, b'world', 5)
    manager.queue_file_io_task(fileobj, b'hello', 0)
    assert os.listdir(tmp_path) == [os.path.basename(fileobj.name)]
    final_task = manager.get_final_io_task()
    assert isinstance(final_task, IORenameFileTask)
    final_task()
    assert (tmp_path / 'out.bin').read_bytes() == b'helloworld'
    assert os.listdir(tmp_path) == ['out.bin']
    assert osutil.opened == [(fileobj.name, 'wb')]
    assert osutil.renamed == [(fileobj.name, target)]
    assert coordinator.status == 'success'


def test_filename_manager_positional_writes_bypass_the_io_executor(
    tmp_path, coordinator, fast_paths_on
):
    class NoIOExecutor:
        def submit(self, task, tag=None, block=True):
            raise AssertionError('the io executor must not be used for temp files')

    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, NoIOExecutor())
    fileobj = manager.get_fileobj_for_io_writes(future_for(str(tmp_path / 'f')))
    threads = [
        threading.Thread(
            target=manager.queue_file_io_task, args=(fileobj, bytes([i]) * 100, i * 100)
        )
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    fileobj.close()
    expected = b''.join(bytes([i]) * 100 for i in range(8))
    with open(fileobj.name, 'rb') as f:
        assert f.read() == expected


def test_filename_manager_falls_back_to_io_tasks_without_file_descriptor(
    tmp_path, coordinator
):
    class MemoryFile(io.BytesIO):
        def fileno(self):
            raise io.UnsupportedOperation('fileno')

        def close(self):
            self.final_value = self.getvalue()
            super().close()

    class MemoryOSUtils(OSUtils):
        files = {}

        def open(self, filename, mode):
            self.files[filename] = MemoryFile()
            return self.files[filename]

    osutil = MemoryOSUtils()
    io_executor = inline_executor()
    manager = DownloadFilenameOutputManager(osutil, coordinator, io_executor)
    fileobj = manager.get_fileobj_for_io_writes(future_for(str(tmp_path / 'f')))
    manager.queue_file_io_task(fileobj, b'cd', 2)
    manager.queue_file_io_task(fileobj, b'ab', 0)
    fileobj.close()
    assert osutil.files[fileobj.name].final_value == b'abcd'


def test_filename_manager_failure_cleanups_close_then_remove(tmp_path, coordinator):
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, inline_executor())
    fileobj = manager.get_fileobj_for_io_writes(future_for(str(tmp_path / 'f')))
    manager.queue_file_io_task(fileobj, b'partial', 0)
    cleanups = coordinator.failure_cleanups
    assert [c._func for c in cleanups] == [fileobj.close, manager._osutil.remove_file]
    coordinator.set_exception(ValueError('boom'))
    manager.get_final_io_task()()
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        coordinator.result()


def test_filename_manager_rejects_a_directory_before_anything_happens(tmp_path):
    coordinator = TransferCoordinator()
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, None)
    with pytest.raises(IsADirectoryError) as error:
        manager._check_download_target(future_for(str(tmp_path)))
    assert error.value.filename == str(tmp_path)
    assert str(tmp_path) in str(error.value)
    assert coordinator.failure_cleanups == []
    assert os.listdir(tmp_path) == []


def test_filename_manager_rejects_a_missing_folder(tmp_path):
    target = str(tmp_path / 'missing' / 'file')
    manager = DownloadFilenameOutputManager(OSUtils(), TransferCoordinator(), None)
    with pytest.raises(FileNotFoundError) as error:
        manager._check_download_target(future_for(target))
    assert error.value.filename == target
    assert 'does not exist' in str(error.value)


def test_filename_manager_accepts_a_bare_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    coordinator = TransferCoordinator()
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, inline_executor())
    future = future_for('plain-name')
    manager._check_download_target(future)
    fileobj = manager.get_fileobj_for_io_writes(future)
    manager.queue_file_io_task(fileobj, b'x', 0)
    manager.get_final_io_task()()
    assert (tmp_path / 'plain-name').read_bytes() == b'x'


# --- seekable / non-seekable / special output managers -------------------------------


def test_seekable_manager_writes_at_offsets_via_io_executor(coordinator):
    target = io.BytesIO()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, inline_executor())
    fileobj = manager.get_fileobj_for_io_writes(future_for(target))
    assert fileobj is target
    manager.queue_file_io_task(fileobj, b'cd', 2)
    manager.queue_file_io_task(fileobj, b'ab', 0)
    assert target.getvalue() == b'abcd'
    final_task = manager.get_final_io_task()
    assert isinstance(final_task, CompleteDownloadNOOPTask)
    final_task()
    assert coordinator.status == 'success'


def test_non_seekable_manager_releases_writes_in_order(coordinator):
    target = WriteOnly()
    manager = DownloadNonSeekableOutputManager(
        OSUtils(), coordinator, inline_executor()
    )
    fileobj = manager.get_fileobj_for_io_writes(future_for(target))
    manager.queue_file_io_task(fileobj, b'ef', 4)
    manager.queue_file_io_task(fileobj, b'cd', 2)
    assert target.parts == []
    manager.queue_file_io_task(fileobj, b'ab', 0)
    manager.queue_file_io_task(fileobj, b'ab', 0)
    assert target.parts == [b'ab', b'cd', b'ef']
    assert isinstance(manager.get_io_write_task(fileobj, b'x', 9), IOStreamingWriteTask)


def test_non_seekable_manager_accepts_any_defer_queue(coordinator):
    class EchoQueue:
        def request_writes(self, offset, data):
            return [{'offset': offset, 'data': data.upper()}]

    target = WriteOnly()
    manager = DownloadNonSeekableOutputManager(
        OSUtils(), coordinator, inline_executor(), defer_queue=EchoQueue()
    )
    manager.queue_file_io_task(target, b'zz', 7)
    assert target.parts == [b'ZZ']


def test_special_file_manager_opens_target_lazily_and_closes(tmp_path, coordinator):
    target = str(tmp_path / 'special')
    manager = DownloadSpecialFilenameOutputManager(
        OSUtils(), coordinator, inline_executor()
    )
    fileobj = manager.get_fileobj_for_io_writes(future_for(target))
    assert fileobj.name == target
    assert os.listdir(tmp_path) == []
    manager.queue_file_io_task(fileobj, b'data', 0)
    final_task = manager.get_final_io_task()
    assert isinstance(final_task, IOCloseTask)
    final_task()
    assert (tmp_path / 'special').read_bytes() == b'data'
    assert coordinator.status == 'success'


# --- io tasks ------------------------------------------------------------------------


def test_io_tasks(tmp_path, coordinator):
    target = io.BytesIO(b'..........')
    IOWriteTask(coordinator, {'fileobj': target, 'data': b'ab', 'offset': 3})()
    assert target.getvalue() == b'...ab.....'
    target.seek(0)
    IOStreamingWriteTask(coordinator, {'fileobj': target, 'data': b'zz'})()
    assert target.getvalue() == b'zz.ab.....'
    closing = io.BytesIO()
    IOCloseTask(coordinator, {'fileobj': closing})()
    assert closing.closed


def test_rename_task_replaces_existing_file(tmp_path, coordinator):
    (tmp_path / 'final').write_bytes(b'old')
    temp = open(tmp_path / 'temp', 'wb')
    temp.write(b'new')
    task = IORenameFileTask(
        coordinator,
        {
            'fileobj': temp,
            'final_filename': str(tmp_path / 'final'),
            'osutil': OSUtils(),
        },
        is_final=True,
    )
    task()
    assert (tmp_path / 'final').read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['final']


def test_complete_download_noop_task_is_final_by_default(coordinator):
    task = CompleteDownloadNOOPTask(coordinator)
    assert task._is_final is True
    assert task() is None
    assert coordinator.done()
    assert not CompleteDownloadNOOPTask(coordinator, is_final=False)._is_final


# --- GetObjectTask -------------------------------------------------------------------


def seekable_manager(coordinator):
    return DownloadSeekableOutputManager(OSUtils(), coordinator, inline_executor())


def test_get_object_task_streams_chunks_at_offsets(coordinator):
    target = io.BytesIO()
    client = FakeClient(response(b'0123456789'))
    task, progress = run_get(
        GetObjectTask,
        coordinator,
        client,
        seekable_manager(coordinator),
        target,
        start_index=5,
        extra_args={'Range': 'bytes=5-'},
    )
    assert target.getvalue() == b'\0' * 5 + b'0123456789'
    assert progress.amounts == [4, 4, 2]
    assert client.calls == [{'Bucket': 'bucket', 'Key': 'key', 'Range': 'bytes=5-'}]
    assert task.get_response()['ETag'] == '"e1"'
    assert coordinator.exception is None


def test_get_response_is_none_before_any_request(coordinator):
    assert GetObjectTask(coordinator).get_response() is None


@pytest.mark.parametrize(
    'error',
    [
        ReadTimeoutError(endpoint_url='http://x'),
        ResponseStreamingError(error='reset'),
        ConnectionResetError('reset'),
        TimeoutError('socket timeout'),
    ],
)
def test_get_object_task_retries_streaming_errors_and_rolls_back_progress(
    coordinator, error
):
    target = io.BytesIO()
    client = FakeClient(
        response(b'0123456789', fail_after=8, error=error),
        response(b'0123456789'),
    )
    run_get(GetObjectTask, coordinator, client, seekable_manager(coordinator), target)
    assert target.getvalue() == b'0123456789'
    assert len(client.calls) == 2
    assert coordinator.exception is None


def test_progress_rollback_matches_spec_example(coordinator):
    data = os.urandom(600 * KB)
    client = FakeClient(
        response(data, fail_after=512 * KB, error=ReadTimeoutError(endpoint_url='u')),
        response(data),
    )
    target = io.BytesIO()
    _, progress = run_get(
        GetObjectTask,
        coordinator,
        client,
        seekable_manager(coordinator),
        target,
        io_chunksize=256 * KB,
    )
    assert progress.amounts == [
        256 * KB,
        256 * KB,
        -512 * KB,
        256 * KB,
        256 * KB,
        88 * KB,
    ]
    assert sum(progress.amounts) == len(data)
    assert target.getvalue() == data


def test_errors_from_get_object_call_are_retried_too(coordinator):
    target = io.BytesIO()
    client = FakeClient(ConnectionResetError('early'), response(b'abc'))
    _, progress = run_get(
        GetObjectTask, coordinator, client, seekable_manager(coordinator), target
    )
    assert target.getvalue() == b'abc'
    assert progress.amounts == [3]


def test_retries_exceeded_after_max_attempts(coordinator):
    errors = [ResponseStreamingError(error=f'reset {i}') for i in range(3)]
    client = FakeClient(*[response(b'abcdef', fail_after=2, error=e) for e in errors])
    _, progress = run_get(
        GetObjectTask,
        coordinator,
        client,
        seekable_manager(coordinator),
        io.BytesIO(),
        max_attempts=3,
    )
    assert len(client.calls) == 3
    assert isinstance(coordinator.exception, RetriesExceededError)
    assert coordinator.exception.last_exception is errors[-1]
    assert progress.amounts == [2, -2, 2, -2, 2, -2]


def test_precondition_failed_is_a_download_failure_and_not_retried(coordinator):
    client = FakeClient(client_error('PreconditionFailed', 412))
    run_get(GetObjectTask, coordinator, client, seekable_manager(coordinator), None)
    assert len(client.calls) == 1
    assert isinstance(coordinator.exception, S3DownloadFailedError)
    assert str(coordinator.exception) == (
        'Contents of stored object "key" in bucket "bucket" did not match expected '
        'ETag.'
    )


def test_invalid_range_is_an_empty_object(coordinator):
    client = FakeClient(client_error('InvalidRange', 416))
    task, _ = run_get(
        GetObjectTask, coordinator, client, seekable_manager(coordinator), None
    )
    assert coordinator.exception is None
    assert task.get_response() == {
        'ContentLength': 0,
        'ContentRange': None,
        'ETag': None,
    }


def test_other_client_errors_propagate_unretried(coordinator):
    error = client_error('AccessDenied', 403)
    client = FakeClient(error)
    run_get(GetObjectTask, coordinator, client, seekable_manager(coordinator), None)
    assert coordinator.exception is error
    assert len(client.calls) == 1


def test_other_errors_propagate_unretried(coordinator):
    client = FakeClient(response(b'abc', fail_after=1, error=ValueError('bad')))
    run_get(
        GetObjectTask, coordinator, client, seekable_manager(coordinator), io.BytesIO()
    )
    assert isinstance(coordinator.exception, ValueError)
    assert len(client.calls) == 1


def test_streaming_stops_silently_once_the_transfer_is_done(coordinator):
    class CancellingManager(DownloadSeekableOutputManager):
        def queue_file_io_task(self, fileobj, data, offset):
            super().queue_file_io_task(fileobj, data, offset)
            coordinator.cancel('stop')

    target = io.BytesIO()
    the_response = response(b'0123456789')
    client = FakeClient(the_response)
    manager = CancellingManager(OSUtils(), coordinator, inline_executor())
    run_get(GetObjectTask, coordinator, client, manager, target)
    assert target.getvalue() == b'0123'
    assert the_response['Body'].closed


def test_bandwidth_limiter_wraps_the_progress_stream(coordinator):
    class Limiter:
        def __init__(self):
            self.calls = []

        def get_bandwith_limited_stream(self, *args, **kwargs):
            self.calls.append((args, kwargs))
            return args[0]

    limiter = Limiter()
    target = io.BytesIO()
    client = FakeClient(response(b'abcdef'))
    _, progress = run_get(
        GetObjectTask,
        coordinator,
        client,
        seekable_manager(coordinator),
        target,
        bandwidth_limiter=limiter,
    )
    [(args, kwargs)] = limiter.calls
    assert kwargs == {}
    assert args[1] is coordinator
    assert target.getvalue() == b'abcdef'
    assert progress.amounts == [4, 2]


@pytest.mark.parametrize(
    ('requested', 'content_range'),
    [
        (None, 'bytes 0-3/10'),
        ('bytes=0-3', None),
        ('bytes=0-3', 'bytes 0-3/10'),
        ('bytes=0-9', 'bytes 0-3/4'),  # shorter than requested is fine
        ('bytes=8-', 'bytes 8-9/10'),
        ('bytes=-4', 'bytes 6-9/10'),  # suffix ranges are not checked
    ],
)
def test_content_range_accepted(coordinator, requested, content_range):
    GetObjectTask(coordinator)._validate_content_range(requested, content_range)


@pytest.mark.parametrize(
    ('requested', 'content_range', 'message'),
    [
        (
            'bytes=5-9',
            'bytes 0-4/10',
            'Response range start `0` does not match requested start `5`',
        ),
        (
            'bytes=0-4',
            'bytes 0-9/10',
            'Response range end `9` exceeds requested end `4`',
        ),
        (
            'bytes=8-',
            'bytes 8-10/10',
            'Response range end `10` exceeds requested end `9`',
        ),
    ],
)
def test_content_range_rejected(coordinator, requested, content_range, message):
    with pytest.raises(S3ValidationError) as error:
        GetObjectTask(coordinator)._validate_content_range(requested, content_range)
    assert str(error.value) == message


def test_content_range_mismatch_fails_the_task_without_retry(coordinator):
    client = FakeClient(response(b'abc', content_range='bytes 1-3/4'))
    run_get(
        GetObjectTask,
        coordinator,
        client,
        seekable_manager(coordinator),
        io.BytesIO(),
        extra_args={'Range': 'bytes=0-2'},
    )
    assert isinstance(coordinator.exception, S3ValidationError)
    assert len(client.calls) == 1


# --- ImmediatelyWriteIOGetObjectTask -------------------------------------------------


def test_immediate_task_writes_without_io_executor(coordinator):
    target = io.BytesIO()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, None)
    run_get(
        ImmediatelyWriteIOGetObjectTask,
        coordinator,
        FakeClient(response(b'0123456789')),
        manager,
        target,
    )
    assert target.getvalue() == b'0123456789'


def test_immediate_task_does_not_duplicate_retried_bytes_when_streaming(coordinator):
    target = WriteOnly()
    manager = DownloadNonSeekableOutputManager(OSUtils(), coordinator, None)
    error = ResponseStreamingError(error='reset')
    client = FakeClient(
        response(b'0123456789', fail_after=6, error=error),
        response(b'0123456789', fail_after=9, error=error),
        response(b'0123456789'),
    )
    _, progress = run_get(
        ImmediatelyWriteIOGetObjectTask, coordinator, client, manager, target
    )
    assert target.value == b'0123456789'
    assert coordinator.exception is None
    assert progress.amounts == [4, 2, -6, 4, 4, 1, -9, 4, 4, 2]


def test_immediate_task_refuses_a_retry_of_a_changed_object_when_streaming(
    coordinator,
):
    target = WriteOnly()
    manager = DownloadNonSeekableOutputManager(OSUtils(), coordinator, None)
    client = FakeClient(
        response(b'0123456789', fail_after=4, error=ConnectionResetError()),
        response(b'abcdefghij', etag='"e2"'),
    )
    run_get(ImmediatelyWriteIOGetObjectTask, coordinator, client, manager, target)
    assert isinstance(coordinator.exception, S3DownloadFailedError)
    assert target.value == b'0123'


def test_immediate_task_rewrites_seekable_targets_on_retry(coordinator):
    target = io.BytesIO()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, None)
    client = FakeClient(
        response(b'0123456789', fail_after=4, error=ConnectionResetError()),
        response(b'abcdefghij', etag='"e2"'),
    )
    run_get(ImmediatelyWriteIOGetObjectTask, coordinator, client, manager, target)
    assert coordinator.exception is None
    assert target.getvalue() == b'abcdefghij'


def test_immediate_task_writes_an_empty_object(tmp_path, coordinator):
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, None)
    fileobj = manager.get_fileobj_for_io_writes(future_for(str(tmp_path / 'e')))
    run_get(
        ImmediatelyWriteIOGetObjectTask,
        coordinator,
        FakeClient(response(b'')),
        manager,
        fileobj,
    )
    manager.get_final_io_task()()
    assert (tmp_path / 'e').read_bytes() == b''


# --- GetObjectFirstChunkOnDoneCallback -----------------------------------------------


class RecordingExecutor:
    def __init__(self):
        self.submitted = []

    def submit(self, task, tag=None, block=True):
        self.submitted.append((task, tag))
        return ExecutorFuture(NonThreadedExecutor().submit(lambda: None))


class Config:
    multipart_chunksize = 4
    num_download_attempts = 5
    io_chunksize = 2


class TaskWithResponse:
    def __init__(self, response):
        self._response = response

    def get_response(self):
        return self._response


def first_chunk_callback(coordinator, target, manager, request_executor, io_executor):
    future = future_for(target)
    return (
        GetObjectFirstChunkOnDoneCallback(
            transfer_future=future,
            download_output_manager=manager,
            io_executor=io_executor,
            transfer_coordinator=coordinator,
            client=None,
            config=Config(),
            request_executor=request_executor,
            bandwidth_limiter=None,
            fileobj=target,
            progress_callbacks=[],
            get_object_tag='TAG',
        ),
        future,
    )


def test_first_chunk_callback_requires_a_task(coordinator):
    callback, _ = first_chunk_callback(coordinator, None, None, None, None)
    with pytest.raises(RuntimeError) as error:
        callback()
    assert str(error.value) == 'set_task() must be called before the task is submitted'


@pytest.mark.parametrize('failed', [True, False])
def test_first_chunk_callback_finishes_when_no_response_or_done(coordinator, failed):
    class Coordinator(TransferCoordinator):
        def submit(self, *args, **kwargs):
            self.submit_args = (args, kwargs)

    coordinator = Coordinator()
    target = io.BytesIO()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, None)
    callback, future = first_chunk_callback(coordinator, target, manager, None, 'IO')
    callback.set_task(TaskWithResponse({'ContentLength': 3} if failed else None))
    if failed:
        coordinator.set_exception(ValueError())
    callback()
    args, kwargs = coordinator.submit_args
    assert args[0] == 'IO' and isinstance(args[1], CompleteDownloadNOOPTask)
    assert kwargs == {}
    assert future.meta.size is None


def test_first_chunk_callback_schedules_remaining_ranges(coordinator):
    requests = RecordingExecutor()
    io_executor = RecordingExecutor()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, io_executor)
    callback, future = first_chunk_callback(
        coordinator, io.BytesIO(), manager, requests, io_executor
    )
    callback.set_task(
        TaskWithResponse(
            {'ContentLength': 4, 'ContentRange': 'bytes 0-3/11', 'ETag': '"x"'}
        )
    )
    callback()  # same thread as construction: scheduled inline
    assert future.meta.size == 11
    assert future.meta.etag == '"x"'
    assert [task._main_kwargs['extra_args'] for task, _ in requests.submitted] == [
        {'Range': 'bytes=4-7', 'IfMatch': '"x"'},
        {'Range': 'bytes=8-', 'IfMatch': '"x"'},
    ]
    assert [task._main_kwargs['start_index'] for task, _ in requests.submitted] == [
        4,
        8,
    ]
    assert {tag for _, tag in requests.submitted} == {'TAG'}
    assert io_executor.submitted == []
    for task, _ in requests.submitted:
        task._done_callbacks[0]()
    [(final_task, tag)] = io_executor.submitted
    assert isinstance(final_task, CompleteDownloadNOOPTask) and tag is None


def test_first_chunk_callback_submits_from_a_helper_thread_off_request_thread(
    coordinator,
):
    requests = RecordingExecutor()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, None)
    callback, _ = first_chunk_callback(
        coordinator, io.BytesIO(), manager, requests, RecordingExecutor()
    )
    callback.set_task(TaskWithResponse({'ContentLength': 9, 'ETag': None}))
    submitting_threads = []
    original_submit = requests.submit

    def submit(task, tag=None, block=True):
        submitting_threads.append(threading.current_thread().name)
        return original_submit(task, tag, block)

    requests.submit = submit
    thread = threading.Thread(target=callback, name='request-thread')
    thread.start()
    thread.join(timeout=10)
    for _ in range(1000):
        if len(submitting_threads) == 2:
            break
        threading.Event().wait(0.01)
    assert len(submitting_threads) == 2
    assert 'request-thread' not in submitting_threads
    assert [t._main_kwargs['extra_args'] for t, _ in requests.submitted] == [
        {'Range': 'bytes=4-7'},
        {'Range': 'bytes=8-'},
    ]


def test_first_chunk_callback_writes_an_empty_object(tmp_path, coordinator):
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, inline_executor())
    target = str(tmp_path / 'empty')
    fileobj = manager.get_fileobj_for_io_writes(future_for(target))
    callback, future = first_chunk_callback(
        coordinator, fileobj, manager, None, inline_executor()
    )
    callback.set_task(
        TaskWithResponse({'ContentLength': 0, 'ContentRange': None, 'ETag': None})
    )
    callback()
    assert future.meta.size == 0
    assert (tmp_path / 'empty').read_bytes() == b''
    assert coordinator.status == 'success'


# --- DownloadSubmissionTask helpers --------------------------------------------------


def test_legacy_range_helper(coordinator):
    task = DownloadSubmissionTask(coordinator)
    assert task._calculate_range_param(4, 0, 3) == 'bytes=0-3'
    assert task._calculate_range_param(4, 2, 3) == 'bytes=8-'


def test_final_io_task_submission_callback(coordinator):
    io_executor = RecordingExecutor()
    manager = DownloadSeekableOutputManager(OSUtils(), coordinator, io_executor)
    task = DownloadSubmissionTask(coordinator)
    callback = task._get_final_io_task_submission_callback(manager, io_executor)
    assert io_executor.submitted == []
    callback()
    [(final_task, tag)] = io_executor.submitted
    assert isinstance(final_task, CompleteDownloadNOOPTask) and tag is None


# --- positional temp-file writes ----------------------------------------------


class RecordingPwrite:
    """Stands in for os.pwrite: records calls, may write less than asked, and notes
    whether two calls ever overlapped."""

    def __init__(self, monkeypatch, most=None):
        self.calls = []
        self.overlapped = False
        self._most = most
        self._busy = threading.Lock()
        self._real = os.pwrite
        monkeypatch.setattr(os, 'pwrite', self)

    def __call__(self, fd, data, offset):
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            self._busy.acquire()
        try:
            data = bytes(data)[: self._most]
            self.calls.append((offset, len(data)))
            time.sleep(0.001)  # widen the window in which an overlap would show
            return self._real(fd, data, offset)
        finally:
            self._busy.release()


@pytest.fixture
def fast_paths_on(monkeypatch):
    """Positional-write tests exercise the fast path itself: run it switched on
    (CI also runs the suite with S3TRANSFER_NO_FAST_PATHS=1)."""
    monkeypatch.delenv('S3TRANSFER_NO_FAST_PATHS', raising=False)


def positional_file(tmp_path):
    from s3transfer.download import _PositionalTempFile

    return _PositionalTempFile(str(tmp_path / 'temp'), open)


def test_positional_short_writes_are_continued(tmp_path, monkeypatch, fast_paths_on):
    pwrite = RecordingPwrite(monkeypatch, most=3)
    temp = positional_file(tmp_path)
    assert temp.write_at(b'4567', 4)
    assert temp.write_at(b'0123', 0)
    temp.close()
    assert (tmp_path / 'temp').read_bytes() == b'01234567'
    assert pwrite.calls == [(4, 3), (7, 1), (0, 3), (3, 1)]


def test_positional_writes_of_many_threads_take_turns(
    tmp_path, monkeypatch, fast_paths_on
):
    pwrite = RecordingPwrite(monkeypatch)
    temp = positional_file(tmp_path)
    part, chunk = 64 * 1024, 8 * 1024
    barrier = threading.Barrier(4)

    def write_part(n):
        barrier.wait()
        for offset in range(n * part, (n + 1) * part, chunk):
            temp.write_at(bytes([n]) * chunk, offset)

    threads = [threading.Thread(target=write_part, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    temp.close()
    assert (tmp_path / 'temp').read_bytes() == b''.join(
        bytes([n]) * part for n in range(4)
    )
    assert len(pwrite.calls) == 4 * part // chunk
    assert not pwrite.overlapped


def test_positional_file_never_writes_after_close(tmp_path, fast_paths_on):
    temp = positional_file(tmp_path)
    assert temp.write_at(b'ab', 0)
    temp.close()
    # The descriptor number may already belong to another file: no pwrite to it.
    assert not temp.write_at(b'cd', 2)
    assert (tmp_path / 'temp').read_bytes() == b'ab'


def test_positional_fast_path_is_decided_once_per_file(tmp_path, monkeypatch):
    monkeypatch.delenv('S3TRANSFER_NO_FAST_PATHS', raising=False)
    temp = positional_file(tmp_path)
    assert temp.write_at(b'ab', 0)
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    assert temp.write_at(b'cd', 2)  # this file already went positional
    temp.close()
    from s3transfer.download import _PositionalTempFile

    off = _PositionalTempFile(str(tmp_path / "other"), open)
    assert not off.write_at(b'ab', 0)  # a new file reads the switch again
    off.close()
