"""Unit tests for s3transfer.utils (pure: no sockets)."""

import importlib.util
import io
import os
import random
import socket
import stat
import string
import threading
import time

import botocore.exceptions
import botocore.httpchecksum
import botocore.utils
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s3transfer.compat
import s3transfer.constants
import s3transfer.utils as utils
from s3transfer.utils import (
    MAX_PARTS,
    MAX_SINGLE_UPLOAD_SIZE,
    MIN_UPLOAD_CHUNKSIZE,
    S3_RETRYABLE_DOWNLOAD_ERRORS,
    CallArgs,
    ChunksizeAdjuster,
    CountCallbackInvoker,
    DeferredOpenFile,
    FunctionContainer,
    NoResourcesAvailable,
    OSUtils,
    ReadFileChunk,
    SlidingWindowSemaphore,
    StreamReaderProgress,
    TaskSemaphore,
    add_s3express_defaults,
    calculate_num_parts,
    calculate_range_parameter,
    create_nested_client,
    get_callbacks,
    get_filtered_dict,
    invoke_progress_callbacks,
    random_file_extension,
    set_default_checksum_algorithm,
    signal_not_transferring,
    signal_transferring,
)

KB = 1024
MB = KB * KB
GB = MB * KB
JOIN_TIMEOUT = 10


class RecordingProgress:
    """A progress callback that remembers every amount it was given."""

    def __init__(self):
        self.amounts = []

    def __call__(self, bytes_transferred):
        self.amounts.append(bytes_transferred)

    @property
    def total(self):
        return sum(self.amounts)


class RecordingFile(io.BytesIO):
    """A BytesIO that records the arguments of every read and seek."""

    def __init__(self, data=b''):
        super().__init__(data)
        self.reads = []
        self.seeks = []

    def read(self, size=-1):
        self.reads.append(size)
        return super().read(size)

    def seek(self, pos, whence=0):
        self.seeks.append(pos if whence == 0 else (pos, whence))
        return super().seek(pos, whence)


class Signals:
    """A body that records transferring signals."""

    def __init__(self):
        self.calls = []

    def signal_transferring(self):
        self.calls.append('transferring')

    def signal_not_transferring(self):
        self.calls.append('not_transferring')


class Request:
    def __init__(self, body):
        self.body = body


def run_threads(targets):
    """Start one thread per target and insist that every one finishes in time."""
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), 'deadlock'


def make_window(data, start, chunk_size, **kwargs):
    fileobj = RecordingFile(data)
    fileobj.seek(start)
    fileobj.seeks.clear()
    return fileobj, ReadFileChunk(fileobj, chunk_size, len(data), **kwargs)


# ---------------------------------------------------------------- module names


def test_names_imported_from_elsewhere_are_module_attributes():
    assert utils.SOCKET_ERROR is ConnectionError
    assert utils.fallocate is s3transfer.compat.fallocate
    assert utils.rename_file is s3transfer.compat.rename_file
    assert (
        utils.FULL_OBJECT_CHECKSUM_ARGS
        is s3transfer.constants.FULL_OBJECT_CHECKSUM_ARGS
    )
    assert utils.IncompleteReadError is botocore.exceptions.IncompleteReadError
    assert utils.ReadTimeoutError is botocore.exceptions.ReadTimeoutError
    assert utils.ResponseStreamingError is botocore.exceptions.ResponseStreamingError
    assert utils.DEFAULT_CHECKSUM_ALGORITHM == 'CRC32'
    assert utils.AwsChunkedWrapper is botocore.httpchecksum.AwsChunkedWrapper
    assert utils.is_s3express_bucket is botocore.utils.is_s3express_bucket


def test_constants():
    assert MAX_PARTS == 10000
    assert MAX_SINGLE_UPLOAD_SIZE == 5 * GB
    assert MIN_UPLOAD_CHUNKSIZE == 5 * MB


def test_retryable_download_errors_exact_tuple():
    assert S3_RETRYABLE_DOWNLOAD_ERRORS == (
        socket.timeout,
        ConnectionError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.IncompleteReadError,
        botocore.exceptions.ResponseStreamingError,
    )


def test_generic_oserror_is_not_retryable():
    assert not isinstance(OSError('disk full'), S3_RETRYABLE_DOWNLOAD_ERRORS)
    assert isinstance(ConnectionResetError(), S3_RETRYABLE_DOWNLOAD_ERRORS)
    assert isinstance(TimeoutError(), S3_RETRYABLE_DOWNLOAD_ERRORS)


# ---------------------------------------------------------------- free functions


@pytest.mark.parametrize('num_digits', [None, 0, 1, 8, 40])
def test_random_file_extension_length_and_alphabet(num_digits):
    if num_digits is None:
        value, expected_len = random_file_extension(), 8
    else:
        value, expected_len = random_file_extension(num_digits), num_digits
    assert len(value) == expected_len
    assert set(value) <= set(string.hexdigits)


def test_random_file_extension_is_random_and_uses_both_cases():
    values = {random_file_extension(num_digits=8) for _ in range(50)}
    assert len(values) > 45
    chars = set(''.join(values))
    assert chars & set('abcdef') and chars & set('ABCDEF') and chars & set('0123456789')


@pytest.mark.parametrize('operation', ['PutObject', 'UploadPart'])
def test_signal_handlers_call_body_for_upload_operations(operation):
    body = Signals()
    signal_not_transferring(Request(body), operation)
    signal_transferring(Request(body), operation, extra='ignored')
    assert body.calls == ['not_transferring', 'transferring']


@pytest.mark.parametrize('operation', ['GetObject', 'CreateMultipartUpload', 'put'])
def test_signal_handlers_ignore_other_operations(operation):
    body = Signals()
    signal_not_transferring(Request(body), operation)
    signal_transferring(Request(body), operation)
    assert body.calls == []


def test_signal_handlers_ignore_bodies_without_signals():
    signal_not_transferring(Request(b'bytes'), 'PutObject')
    signal_transferring(Request(None), 'UploadPart')


def test_signal_transferring_unwraps_aws_chunked_wrapper():
    body = Signals()
    wrapper = botocore.httpchecksum.AwsChunkedWrapper(body)
    signal_transferring(Request(wrapper), 'UploadPart')
    assert body.calls == ['transferring']


def test_signal_transferring_wrapper_without_raw_is_noop():
    wrapper = botocore.httpchecksum.AwsChunkedWrapper(Signals())
    del wrapper._raw
    signal_transferring(Request(wrapper), 'PutObject')


def test_signal_not_transferring_does_not_unwrap_aws_chunked_wrapper():
    body = Signals()
    wrapper = botocore.httpchecksum.AwsChunkedWrapper(body)
    signal_not_transferring(Request(wrapper), 'PutObject')
    assert body.calls == []


@pytest.mark.parametrize(
    'size, part_size, expected',
    [(0, 4, 0), (1, 4, 1), (4, 4, 1), (5, 4, 2), (10, 4, 3), (8 * MB, 8 * MB, 1)],
)
def test_calculate_num_parts(size, part_size, expected):
    result = calculate_num_parts(size, part_size)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    'args, kwargs, expected',
    [
        ((4, 0, 3), {}, 'bytes=0-3'),
        ((4, 1, 3), {}, 'bytes=4-7'),
        ((4, 2, 3), {}, 'bytes=8-'),
        ((4, 2, 3), {'total_size': 10}, 'bytes=8-9'),
        ((4, 0, 3), {'total_size': 10}, 'bytes=0-3'),
        ((5, 1, 2), {}, 'bytes=5-'),
        ((5, 0, 1), {}, 'bytes=0-'),
        ((5, 0, 1, 3), {}, 'bytes=0-2'),
    ],
)
def test_calculate_range_parameter(args, kwargs, expected):
    assert calculate_range_parameter(*args, **kwargs) == expected


class FakeFuture:
    def __init__(self, subscribers):
        self.meta = type('Meta', (), {})()
        self.meta.call_args = CallArgs(subscribers=subscribers)


def test_get_callbacks_binds_future_in_subscriber_order():
    calls = []

    class First:
        def on_progress(self, future, bytes_transferred, **kwargs):
            calls.append(('first', future, bytes_transferred))

    class NoProgress:
        def on_done(self, **kwargs):
            calls.append('wrong')

    class Last:  # need not subclass BaseSubscriber
        def on_progress(self, **kwargs):
            calls.append(('last', kwargs['future'], kwargs['bytes_transferred']))

    future = FakeFuture([First(), NoProgress(), Last()])
    callbacks = get_callbacks(future, 'progress')
    assert len(callbacks) == 2
    for callback in callbacks:
        callback(bytes_transferred=3)
    assert calls == [('first', future, 3), ('last', future, 3)]


def test_get_callbacks_unknown_type_and_no_subscribers():
    class Sub:
        def on_done(self, **kwargs):
            pass

    assert get_callbacks(FakeFuture([Sub()]), 'unknown') == []
    assert get_callbacks(FakeFuture([]), 'done') == []


def test_invoke_progress_callbacks():
    first, second = RecordingProgress(), RecordingProgress()
    invoke_progress_callbacks([first, second], 0)
    invoke_progress_callbacks([first, second], 5)
    invoke_progress_callbacks([first, second], -2)
    assert first.amounts == second.amounts == [5, -2]


def test_invoke_progress_callbacks_passes_keyword():
    seen = []
    invoke_progress_callbacks([lambda **kw: seen.append(kw)], 7)
    assert seen == [{'bytes_transferred': 7}]


@pytest.mark.parametrize(
    'whitelist, blocklist, expected',
    [
        (['b', 'a'], None, {'a': 1, 'b': 2}),
        (None, ['b'], {'a': 1, 'c': 3}),
        (['a'], ['a'], {'a': 1, 'b': 2, 'c': 3}),
        (['z'], ['a', 'b', 'c'], {}),
        (None, None, {}),
        ([], [], {}),
    ],
)
def test_get_filtered_dict(whitelist, blocklist, expected):
    original = {'a': 1, 'b': 2, 'c': 3}
    result = get_filtered_dict(
        original, whitelisted_keys=whitelist, blocklisted_keys=blocklist
    )
    assert result == expected
    assert list(result) == list(expected)
    assert original == {'a': 1, 'b': 2, 'c': 3}


def test_get_filtered_dict_preserves_order_positionally():
    original = {'c': 3, 'a': 1, 'b': 2}
    assert list(get_filtered_dict(original, ['a', 'b', 'c'])) == ['c', 'a', 'b']


def test_add_s3express_defaults():
    extra_args = {}
    add_s3express_defaults('mybucket--usw2-az1--x-s3', extra_args)
    assert extra_args == {'ChecksumAlgorithm': 'crc32'}
    extra_args = {'ChecksumAlgorithm': 'sha256'}
    add_s3express_defaults('mybucket--usw2-az1--x-s3', extra_args)
    assert extra_args == {'ChecksumAlgorithm': 'sha256'}
    extra_args = {}
    add_s3express_defaults('plain-bucket', extra_args)
    assert extra_args == {}


def test_set_default_checksum_algorithm_defaults_to_crc32():
    extra_args = {'ACL': 'private'}
    assert set_default_checksum_algorithm(extra_args) is None
    assert extra_args == {'ACL': 'private', 'ChecksumAlgorithm': 'CRC32'}


def test_set_default_checksum_algorithm_keeps_user_choice():
    extra_args = {'ChecksumAlgorithm': 'SHA256'}
    set_default_checksum_algorithm(extra_args)
    assert extra_args == {'ChecksumAlgorithm': 'SHA256'}


@pytest.mark.parametrize('checksum', s3transfer.constants.FULL_OBJECT_CHECKSUM_ARGS)
def test_set_default_checksum_algorithm_skips_full_object_checksums(checksum):
    extra_args = {checksum: 'abc='}
    set_default_checksum_algorithm(extra_args)
    assert extra_args == {checksum: 'abc='}


class FakeSession:
    def __init__(self):
        self.calls = []

    def create_client(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return 'client'


def test_create_nested_client_uses_botocore_helper():
    assert utils.create_client is botocore.utils.create_nested_client
    session = FakeSession()
    assert create_nested_client(session, 's3', region_name='us-west-2') == 'client'
    assert session.calls == [(('s3',), {'region_name': 'us-west-2'})]


def test_create_nested_client_looks_up_create_client_at_call_time(monkeypatch):
    seen = []
    monkeypatch.setattr(utils, 'create_client', lambda *a, **kw: seen.append((a, kw)))
    session = object()
    create_nested_client(session, 'sts', endpoint_url='http://x')
    assert seen == [((session, 'sts'), {'endpoint_url': 'http://x'})]


def test_create_client_fallback_without_nested_helper(monkeypatch):
    monkeypatch.delattr(botocore.utils, 'create_nested_client')
    spec = importlib.util.spec_from_file_location('_utils_copy', utils.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    session = FakeSession()
    assert module.create_nested_client(session, 's3', verify=False) == 'client'
    assert session.calls == [(('s3',), {'verify': False})]


# ---------------------------------------------------------------- small classes


def test_call_args_sets_and_allows_mutation():
    args = CallArgs(foo='bar', extra_args={})
    assert args.foo == 'bar'
    args.extra_args['x'] = 1
    args.bucket = 'new'
    assert (args.extra_args, args.bucket) == ({'x': 1}, 'new')
    assert vars(CallArgs()) == {}


def test_function_container_calls_and_reprs():
    def func(*args, **kwargs):
        return args, kwargs

    container = FunctionContainer(func, 1, 'a', key='v')
    assert container() == ((1, 'a'), {'key': 'v'})
    expected = f"Function: {func} with args (1, 'a') and kwargs {{'key': 'v'}}"
    assert repr(container) == expected
    assert str(container) == expected
    assert (
        repr(FunctionContainer(func))
        == f'Function: {func} with args () and kwargs {{}}'
    )


class TestCountCallbackInvoker:
    def setup_method(self):
        self.calls = []
        self.invoker = CountCallbackInvoker(lambda: self.calls.append('called'))

    def test_finalize_at_zero_calls_immediately(self):
        assert self.invoker.current_count == 0
        self.invoker.finalize()
        assert self.calls == ['called']

    def test_callback_after_count_returns_to_zero(self):
        self.invoker.increment()
        self.invoker.increment()
        assert self.invoker.current_count == 2
        self.invoker.decrement()
        self.invoker.finalize()
        assert self.calls == []
        self.invoker.decrement()
        assert self.calls == ['called']
        assert self.invoker.current_count == 0

    def test_not_called_without_finalize(self):
        self.invoker.increment()
        self.invoker.decrement()
        assert self.calls == []

    def test_increment_after_finalize(self):
        self.invoker.increment()
        self.invoker.finalize()
        with pytest.raises(RuntimeError) as e:
            self.invoker.increment()
        assert str(e.value) == (
            'Counter has been finalized it can no longer be incremented.'
        )

    def test_decrement_below_zero(self):
        with pytest.raises(RuntimeError) as e:
            self.invoker.decrement()
        assert str(e.value) == 'Counter is at zero. It cannot dip below zero'

    def test_threaded_counting_calls_once(self):
        def work():
            for _ in range(200):
                self.invoker.increment()
                self.invoker.decrement()

        self.invoker.increment()
        run_threads([work] * 8)
        self.invoker.finalize()
        assert self.calls == []
        self.invoker.decrement()
        assert self.calls == ['called']


# ---------------------------------------------------------------- OSUtils


class TestOSUtils:
    def test_has_no_instance_state(self):
        assert vars(OSUtils()) == {}
        assert OSUtils._MAX_FILENAME_LEN == 255

    def test_get_file_size(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'x' * 123)
        assert OSUtils().get_file_size(str(path)) == 123

    def test_open(self, tmp_path):
        path = str(tmp_path / 'f')
        with OSUtils().open(path, 'wb') as f:
            f.write(b'data')
        with OSUtils().open(path, 'rb') as f:
            assert f.read() == b'data'

    def test_open_file_chunk_reader_starts_with_callbacks_disabled(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        progress = RecordingProgress()
        chunk = OSUtils().open_file_chunk_reader(str(path), 2, 5, [progress])
        with chunk:
            assert len(chunk) == 5
            assert chunk.read(2) == b'23'
            assert progress.amounts == []
            chunk.enable_callback()
            assert chunk.read() == b'456'
        assert progress.amounts == [3]

    def test_open_file_chunk_reader_from_fileobj(self):
        fileobj = io.BytesIO(b'0123456789')
        progress, closed = RecordingProgress(), []
        chunk = OSUtils().open_file_chunk_reader_from_fileobj(
            fileobj, 4, 10, [progress], close_callbacks=[lambda: closed.append(1)]
        )
        assert chunk.read() == b'0123'
        assert progress.amounts == []
        chunk.signal_transferring()
        chunk.close()
        assert closed == [1]
        assert fileobj.closed

    def test_open_file_chunk_reader_from_fileobj_close_callbacks_optional(self):
        chunk = OSUtils().open_file_chunk_reader_from_fileobj(
            io.BytesIO(b'ab'), 2, 2, []
        )
        chunk.enable_callback()
        chunk.close()

    def test_remove_file(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'')
        OSUtils().remove_file(str(path))
        assert not path.exists()
        OSUtils().remove_file(str(path))  # missing: no-op
        OSUtils().remove_file(str(tmp_path))  # a directory: OSError ignored
        assert tmp_path.is_dir()

    def test_rename_file(self, tmp_path):
        src, dst = tmp_path / 'a', tmp_path / 'b'
        src.write_bytes(b'new')
        dst.write_bytes(b'old')
        OSUtils().rename_file(str(src), str(dst))
        assert not src.exists()
        assert dst.read_bytes() == b'new'

    def test_is_special_file(self, tmp_path):
        osutil = OSUtils()
        regular = tmp_path / 'regular'
        regular.write_bytes(b'')
        fifo = tmp_path / 'fifo'
        os.mkfifo(fifo)
        assert osutil.is_special_file(str(tmp_path / 'missing')) is False
        assert osutil.is_special_file(str(regular)) is False
        assert osutil.is_special_file(str(tmp_path)) is False
        assert osutil.is_special_file(str(fifo)) is True
        assert osutil.is_special_file(os.devnull) is True  # character device

    @pytest.mark.parametrize(
        'kind, expected',
        [(stat.S_IFSOCK, True), (stat.S_IFBLK, True), (stat.S_IFLNK, False)],
    )
    def test_is_special_file_by_mode(self, monkeypatch, kind, expected):
        fake = os.stat_result((kind | 0o644,) + (0,) * 9)
        monkeypatch.setattr(os.path, 'exists', lambda path: True)
        monkeypatch.setattr(os, 'stat', lambda path: fake)
        assert OSUtils().is_special_file('/somewhere') is expected

    def test_get_temp_filename(self, monkeypatch):
        name = OSUtils().get_temp_filename('/d/report.csv')
        head, _, ext = name.rpartition('.')
        assert head == '/d/report.csv'
        assert len(ext) == 8 and set(ext) <= set(string.hexdigits)
        assert OSUtils().get_temp_filename('/d/report.csv') != name

    def test_get_temp_filename_relative(self):
        name = OSUtils().get_temp_filename('report')
        assert name.startswith('report.') and len(name) == len('report.') + 8

    def test_get_temp_filename_truncates_long_basename(self):
        basename = 'a' * 300
        name = OSUtils().get_temp_filename(os.path.join('/dir', basename))
        dirname, temp_basename = os.path.split(name)
        assert dirname == '/dir'
        assert len(temp_basename) == 255
        assert temp_basename.startswith('a' * 246 + '.')

    def test_get_temp_filename_respects_overridden_max_len(self):
        class Short(OSUtils):
            _MAX_FILENAME_LEN = 20

        name = Short().get_temp_filename('/x/' + 'b' * 30)
        assert len(os.path.basename(name)) == 20

    def test_allocate_reserves_size(self, tmp_path):
        path = tmp_path / 'f'
        OSUtils().allocate(str(path), 1000)
        assert path.stat().st_size == 1000

    def test_allocate_zero_creates_empty_file(self, tmp_path):
        # Quirk fix: the original raised OSError (posix_fallocate rejects 0 bytes).
        path = tmp_path / 'empty'
        OSUtils().allocate(str(path), 0)
        assert path.exists() and path.stat().st_size == 0

    def test_allocate_zero_truncates_existing_file(self, tmp_path):
        path = tmp_path / 'existing'
        path.write_bytes(b'old contents')
        OSUtils().allocate(str(path), 0)
        assert path.read_bytes() == b''

    def test_allocate_uses_module_fallocate_at_call_time(self, tmp_path, monkeypatch):
        calls = []
        monkeypatch.setattr(utils, 'fallocate', lambda f, size: calls.append(size))
        OSUtils().allocate(str(tmp_path / 'f'), 42)
        OSUtils().allocate(str(tmp_path / 'g'), 0)
        assert calls == [42]

    def test_allocate_removes_file_and_reraises(self, tmp_path, monkeypatch):
        def fail(f, size):
            raise OSError('no space')

        monkeypatch.setattr(utils, 'fallocate', fail)
        path = tmp_path / 'f'
        with pytest.raises(OSError, match='no space'):
            OSUtils().allocate(str(path), 10)
        assert not path.exists()

    def test_allocate_opens_through_self_open(self, tmp_path):
        opened = []

        class Recording(OSUtils):
            def open(self, filename, mode):
                opened.append((filename, mode))
                return super().open(filename, mode)

        path = str(tmp_path / 'f')
        Recording().allocate(path, 3)
        assert opened == [(path, 'wb')]


# ---------------------------------------------------------------- DeferredOpenFile


class OpenRecorder:
    def __init__(self, data=b'0123456789'):
        self.data = data
        self.calls = []
        self.files = []

    def __call__(self, filename, mode):
        self.calls.append((filename, mode))
        fileobj = RecordingFile(self.data)
        self.files.append(fileobj)
        return fileobj


class TestDeferredOpenFile:
    def test_construction_and_tell_do_not_open(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', start_byte=4, open_function=opener)
        assert deferred.tell() == 4
        assert deferred.name == 'name'
        deferred.close()
        assert opener.calls == []

    def test_read_opens_once_and_seeks_to_start(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', start_byte=4, open_function=opener)
        assert deferred.read(2) == b'45'
        assert deferred.read() == b'6789'
        assert opener.calls == [('name', 'rb')]
        assert opener.files[0].seeks == [4]
        assert deferred.tell() == 10

    def test_no_seek_when_start_is_zero(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', open_function=opener)
        assert deferred.read(3) == b'012'
        assert opener.files[0].seeks == []

    def test_write_mode_and_close(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', mode='wb', open_function=opener)
        assert deferred.write(b'xy') is None
        assert opener.calls == [('name', 'wb')]
        deferred.close()
        assert opener.files[0].closed

    def test_seek_opens_and_forwards_whence(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', start_byte=2, open_function=opener)
        deferred.seek(-3, 2)
        assert opener.files[0].seeks == [2, (-3, 2)]
        assert deferred.read() == b'789'

    def test_context_manager_opens_and_closes(self):
        opener = OpenRecorder()
        with DeferredOpenFile('name', open_function=opener) as deferred:
            assert isinstance(deferred, DeferredOpenFile)
            assert len(opener.calls) == 1
        assert opener.files[0].closed

    def test_default_open_function_with_real_file(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'hello world')
        deferred = DeferredOpenFile(str(path), start_byte=6)
        assert deferred.read() == b'world'
        deferred.close()


# ---------------------------------------------------------------- ReadFileChunk


class TestReadFileChunk:
    def test_window_starts_at_current_position(self):
        fileobj, chunk = make_window(b'0123456789', 3, 4)
        assert fileobj.seeks == []
        assert len(chunk) == 4
        assert chunk.tell() == 0
        assert chunk.read() == b'3456'
        assert chunk.tell() == 4
        assert chunk.read() == b''

    def test_short_window_at_end_of_file(self):
        _, chunk = make_window(b'0123456789', 8, 5)
        assert len(chunk) == 2
        assert chunk.read() == b'89'

    @pytest.mark.parametrize('amount', [None, -1, -100])
    def test_read_none_or_negative_reads_the_rest(self, amount):
        _, chunk = make_window(b'0123456789', 2, 5)
        chunk.read(1)
        assert chunk.read(amount) == b'3456'

    def test_read_is_capped_and_always_calls_underlying_read(self):
        fileobj, chunk = make_window(b'0123456789', 0, 4)
        assert chunk.read(3) == b'012'
        assert chunk.read(3) == b'3'
        assert chunk.read(3) == b''
        assert fileobj.reads == [3, 1, 0]

    def test_read_progress_enabled(self):
        progress = RecordingProgress()
        _, chunk = make_window(b'0123456789', 1, 6, callbacks=[progress])
        chunk.read(4)
        chunk.read(4)
        chunk.read(4)
        assert progress.amounts == [4, 2]

    def test_callbacks_disabled_then_enabled(self):
        progress = RecordingProgress()
        _, chunk = make_window(
            b'0123456789', 0, 10, callbacks=[progress], enable_callbacks=False
        )
        chunk.read(2)
        chunk.seek(0)
        chunk.enable_callback()
        chunk.read(3)
        chunk.disable_callback()
        chunk.read(3)
        chunk.seek(0)
        assert progress.amounts == [3]

    def test_from_filename(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        progress = RecordingProgress()
        with ReadFileChunk.from_filename(str(path), 7, 5, [progress]) as chunk:
            assert len(chunk) == 3
            assert chunk.read() == b'789'
        assert progress.amounts == [3]

    def test_from_filename_callbacks_disabled(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        progress = RecordingProgress()
        chunk = ReadFileChunk.from_filename(
            str(path), 0, 4, callbacks=[progress], enable_callbacks=False
        )
        assert chunk.read() == b'0123'
        chunk.close()
        assert progress.amounts == []

    def test_worked_seek_example(self):
        progress = RecordingProgress()
        fileobj, chunk = make_window(bytes(range(20)), 4, 6, callbacks=[progress])
        steps = [
            ((8,), 12, [6], 8),
            ((2,), 6, [-4], 2),
            ((-3, 1), 4, [-2], 0),
            ((1, 2), 11, [6], 7),
            ((-1, 2), 9, [-1], 5),
        ]
        for args, underlying, amounts, position in steps:
            progress.amounts.clear()
            chunk.seek(*args)
            assert fileobj.seeks[-1] == underlying
            assert progress.amounts == amounts
            assert chunk.tell() == position
        chunk.seek(1, 2)
        assert chunk.read() == b''

    def test_seek_with_zero_clamped_delta_emits_nothing(self):
        progress = RecordingProgress()
        _, chunk = make_window(bytes(20), 4, 6, callbacks=[progress])
        chunk.seek(0)
        chunk.seek(-5)
        chunk.seek(9)
        progress.amounts.clear()
        chunk.seek(12)
        chunk.seek(6)
        assert progress.amounts == []
        assert chunk.tell() == 6

    def test_seek_back_after_full_read_rereads(self):
        progress = RecordingProgress()
        _, chunk = make_window(b'abcdefgh', 2, 4, callbacks=[progress])
        assert chunk.read() == b'cdef'
        chunk.seek(0)
        assert chunk.read() == b'cdef'
        assert progress.amounts == [4, -4, 4]

    @pytest.mark.parametrize('whence', [3, -1])
    def test_invalid_whence(self, whence):
        _, chunk = make_window(b'abc', 0, 3)
        with pytest.raises(ValueError) as e:
            chunk.seek(0, whence)
        assert str(e.value) == f'invalid whence ({whence}, should be 0, 1 or 2)'

    def test_iter_is_empty(self):
        _, chunk = make_window(b'abc', 0, 3)
        assert list(chunk) == []
        assert chunk.read() == b'abc'

    def test_signals_toggle_callbacks_and_forward(self):
        class SignalFile(io.BytesIO):
            calls = []

            def signal_transferring(self):
                self.calls.append('on')

            def signal_not_transferring(self):
                self.calls.append('off')

        progress = RecordingProgress()
        fileobj = SignalFile(b'abcdef')
        chunk = ReadFileChunk(fileobj, 6, 6, [progress], enable_callbacks=False)
        chunk.signal_transferring()
        chunk.read(2)
        chunk.signal_not_transferring()
        chunk.read(2)
        assert fileobj.calls == ['on', 'off']
        assert progress.amounts == [2]

    def test_signals_without_forwarding_target(self):
        progress = RecordingProgress()
        _, chunk = make_window(b'ab', 0, 2, callbacks=[progress])
        chunk.signal_not_transferring()
        chunk.read(1)
        chunk.signal_transferring()
        chunk.read(1)
        assert progress.amounts == [1]

    def test_close_callbacks_only_when_enabled(self):
        closed = []
        fileobj, chunk = make_window(
            b'ab', 0, 2, close_callbacks=[lambda: closed.append(1)]
        )
        chunk.disable_callback()
        chunk.close()
        assert closed == [] and fileobj.closed
        fileobj, chunk = make_window(
            b'ab', 0, 2, close_callbacks=[lambda: closed.append(1)] * 2
        )
        with chunk as entered:
            assert entered is chunk
        assert closed == [1, 1] and fileobj.closed

    def test_defaults(self):
        _, chunk = make_window(b'ab', 0, 2)
        assert chunk._callbacks == []
        assert chunk._close_callbacks is None
        chunk.close()

    def test_window_over_deferred_open_file_opens_lazily(self):
        opener = OpenRecorder()
        deferred = DeferredOpenFile('name', 3, open_function=opener)
        chunk = ReadFileChunk(deferred, 4, 10)
        assert len(chunk) == 4 and opener.calls == []
        assert chunk.read() == b'3456'
        assert opener.calls == [('name', 'rb')]


read_op = st.tuples(
    st.just('read'), st.one_of(st.none(), st.integers(min_value=-3, max_value=12))
)
seek_op = st.tuples(
    st.just('seek'),
    st.integers(min_value=-15, max_value=15),
    st.sampled_from([0, 1, 2]),
)


@settings(deadline=None, max_examples=200)
@given(
    data_size=st.integers(min_value=0, max_value=30),
    start=st.integers(min_value=0, max_value=30),
    chunk_size=st.integers(min_value=0, max_value=20),
    ops=st.lists(st.one_of(read_op, seek_op), max_size=25),
)
def test_read_file_chunk_progress_tracks_clamped_position(
    data_size, start, chunk_size, ops
):
    data = bytes(random.Random(data_size).randrange(256) for _ in range(data_size))
    start = min(start, data_size)
    progress = RecordingProgress()
    _, chunk = make_window(data, start, chunk_size, callbacks=[progress])
    size = min(chunk_size, data_size - start)
    assert len(chunk) == size
    window = data[start : start + size]
    for op in ops:
        before = chunk.tell()
        if op[0] == 'read':
            amount = op[1]
            got = chunk.read(amount)
            end = size if amount is None or amount < 0 else before + amount
            assert got == window[before:end]
            assert chunk.tell() == before + len(got)
        else:
            _, where, whence = op
            chunk.seek(where, whence)
            base = {0: 0, 1: before, 2: size}[whence]
            assert chunk.tell() == max(base + where, 0)
        assert progress.total == min(chunk.tell(), size)
        assert all(amount != 0 for amount in progress.amounts)


# ---------------------------------------------------------------- StreamReaderProgress


def test_stream_reader_progress_bytes():
    progress = RecordingProgress()
    stream = StreamReaderProgress(io.BufferedReader(io.BytesIO(b'abcdef')), [progress])
    assert stream.read(4) == b'abcd'
    assert stream.read(4) == b'ef'
    assert stream.read() == b''
    assert progress.amounts == [4, 2]


def test_stream_reader_progress_forwards_keyword_arguments():
    class Stream:
        def read(self, amt=None, decode_content=True):
            return f'{amt}-{decode_content}'

    progress = RecordingProgress()
    stream = StreamReaderProgress(Stream(), [progress])
    assert stream.read(amt=3, decode_content=False) == '3-False'
    assert progress.amounts == [7]


def test_stream_reader_progress_str_and_no_callbacks():
    progress = RecordingProgress()
    assert StreamReaderProgress(io.StringIO('héllo'), [progress]).read() == 'héllo'
    assert progress.amounts == [5]
    assert StreamReaderProgress(io.BytesIO(b'xy')).read() == b'xy'


# ---------------------------------------------------------------- semaphores


def test_no_resources_available_is_exception():
    assert issubclass(NoResourcesAvailable, Exception)


class TestTaskSemaphore:
    def test_acquire_returns_none_and_non_blocking_raises(self):
        semaphore = TaskSemaphore(1)
        assert semaphore.acquire('a') is None
        with pytest.raises(NoResourcesAvailable) as e:
            semaphore.acquire('my-tag', blocking=False)
        assert str(e.value) == "Cannot acquire tag 'my-tag'"
        semaphore.release('other', None)
        assert semaphore.acquire('b', False) is None

    def test_blocking_acquire_waits_for_release(self):
        semaphore = TaskSemaphore(1)
        semaphore.acquire('a')
        acquired = threading.Event()

        def waiter():
            semaphore.acquire('b')
            acquired.set()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert not acquired.wait(0.05)
        semaphore.release('a', None)
        assert acquired.wait(JOIN_TIMEOUT)
        thread.join(JOIN_TIMEOUT)


class TestSlidingWindowSemaphore:
    def test_first_example(self):
        semaphore = SlidingWindowSemaphore(2)
        assert semaphore.acquire('x') == 0
        assert semaphore.acquire('x') == 1
        assert semaphore.current_count() == 0
        semaphore.release('x', 1)
        assert semaphore.current_count() == 0
        semaphore.release('x', 0)
        assert semaphore.current_count() == 2

    def test_second_example_tags_share_count(self):
        semaphore = SlidingWindowSemaphore(3)
        assert semaphore.acquire('x') == 0
        assert semaphore.acquire('y') == 0
        assert semaphore.acquire('x') == 1
        semaphore.release('y', 0)
        assert semaphore.current_count() == 1
        semaphore.release('x', 1)
        assert semaphore.current_count() == 1
        semaphore.release('x', 0)
        assert semaphore.current_count() == 3
        assert semaphore.acquire('x') == 2

    def test_absorbs_several_pending_numbers(self):
        semaphore = SlidingWindowSemaphore(4)
        tokens = [semaphore.acquire('t') for _ in range(4)]
        assert tokens == [0, 1, 2, 3]
        for token in (3, 1, 2):
            semaphore.release('t', token)
            assert semaphore.current_count() == 0
        semaphore.release('t', 0)
        assert semaphore.current_count() == 4

    def test_current_count_is_a_method(self):
        assert SlidingWindowSemaphore(5).current_count() == 5

    def test_non_blocking_acquire_when_full(self):
        semaphore = SlidingWindowSemaphore(1)
        semaphore.acquire('x')
        with pytest.raises(NoResourcesAvailable) as e:
            semaphore.acquire('x', blocking=False)
        assert str(e.value) == "Cannot acquire tag 'x'"
        semaphore.release('x', 0)
        assert semaphore.acquire('x', blocking=False) == 1

    def test_release_unknown_tag(self):
        semaphore = SlidingWindowSemaphore(1)
        with pytest.raises(ValueError) as e:
            semaphore.release('nope', 0)
        assert str(e.value) == 'Attempted to release unknown tag: nope'

    @pytest.mark.parametrize('bad', [0, 2, 3, 5, -1])
    def test_release_twice_or_never_handed_out(self, bad):
        semaphore = SlidingWindowSemaphore(3)
        for _ in range(3):
            semaphore.acquire('x')
        semaphore.release('x', 0)
        semaphore.release('x', 2)
        with pytest.raises(ValueError) as e:
            semaphore.release('x', bad)
        assert str(e.value) == (
            f'Attempted to release unknown sequence number {bad} for tag: x'
        )
        assert semaphore.current_count() == 1
        semaphore.release('x', 1)
        assert semaphore.current_count() == 3

    def test_blocking_acquire_waits_for_lowest_release(self):
        semaphore = SlidingWindowSemaphore(2)
        semaphore.acquire('x')
        semaphore.acquire('x')
        results = []
        thread = threading.Thread(
            target=lambda: results.append(semaphore.acquire('x')), daemon=True
        )
        thread.start()
        semaphore.release('x', 1)
        thread.join(0.05)
        assert thread.is_alive() and results == []
        semaphore.release('x', 0)
        thread.join(JOIN_TIMEOUT)
        assert results == [2]
        assert semaphore.current_count() == 1

    def test_absorbed_release_wakes_every_waiter(self):
        semaphore = SlidingWindowSemaphore(2)
        semaphore.acquire('x')
        semaphore.acquire('x')
        results = []
        lock = threading.Lock()

        def waiter():
            token = semaphore.acquire('y')
            with lock:
                results.append(token)

        threads = [threading.Thread(target=waiter, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        semaphore.release('x', 1)
        semaphore.release('x', 0)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        assert sorted(results) == [0, 1]

    def test_many_threads_out_of_order_never_exceed_count(self):
        count = 4
        semaphore = SlidingWindowSemaphore(count)
        lock = threading.Lock()
        state = {'outstanding': 0, 'max': 0}
        errors = []

        def worker(seed, tag):
            rng = random.Random(seed)
            for _ in range(60):
                token = semaphore.acquire(tag)
                with lock:
                    state['outstanding'] += 1
                    state['max'] = max(state['max'], state['outstanding'])
                    if semaphore.current_count() < 0:
                        errors.append('negative count')
                if rng.random() < 0.3:
                    time.sleep(0)
                with lock:
                    state['outstanding'] -= 1
                semaphore.release(tag, token)

        targets = [(lambda s=seed: worker(s, f'tag{s % 3}')) for seed in range(12)]
        run_threads(targets)
        assert errors == []
        assert 1 <= state['max'] <= count
        assert semaphore.current_count() == count

    def test_window_never_slides_past_lowest_outstanding(self):
        count, total = 3, 200
        semaphore = SlidingWindowSemaphore(count)
        lock = threading.Lock()
        released = set()
        handed_out = []
        violations = []
        ready = []
        ready_cond = threading.Condition()

        def producer():
            for _ in range(total):
                token = semaphore.acquire('t')
                with lock:
                    lowest = min(set(range(token + 1)) - released)
                    if token - lowest >= count:
                        violations.append((token, lowest))
                    handed_out.append(token)
                with ready_cond:
                    ready.append(token)
                    ready_cond.notify()

        def releaser(seed):
            rng = random.Random(seed)
            while True:
                with ready_cond:
                    while not ready:
                        if not ready_cond.wait(JOIN_TIMEOUT):
                            return
                    token = ready.pop(rng.randrange(len(ready)))
                if token is None:
                    return
                with lock:
                    released.add(token)
                    semaphore.release('t', token)

        releasers = [
            threading.Thread(target=releaser, args=(s,), daemon=True) for s in range(4)
        ]
        for thread in releasers:
            thread.start()
        run_threads([producer])
        with ready_cond:
            deadline = time.monotonic() + JOIN_TIMEOUT
            while ready and time.monotonic() < deadline:
                ready_cond.wait(0.01)
            ready.extend([None] * len(releasers))
            ready_cond.notify_all()
        for thread in releasers:
            thread.join(JOIN_TIMEOUT)
        assert not any(thread.is_alive() for thread in releasers)
        assert violations == []
        assert handed_out == list(range(total))
        assert released == set(range(total))
        assert semaphore.current_count() == count


# ---------------------------------------------------------------- ChunksizeAdjuster


class TestChunksizeAdjuster:
    def test_defaults(self):
        adjuster = ChunksizeAdjuster()
        assert adjuster.max_size == 5 * GB
        assert adjuster.min_size == 5 * MB
        assert adjuster.max_parts == 10000

    def test_doubles_until_parts_fit(self):
        assert ChunksizeAdjuster().adjust_chunksize(8 * MB, 100 * GB) == 16 * MB

    def test_below_minimum_with_unknown_size(self):
        assert ChunksizeAdjuster().adjust_chunksize(1 * KB) == 5 * MB

    def test_above_maximum(self):
        assert ChunksizeAdjuster().adjust_chunksize(6 * GB) == 5 * GB
        assert ChunksizeAdjuster().adjust_chunksize(6 * GB, 10 * GB) == 5 * GB

    def test_valid_size_unchanged(self):
        assert ChunksizeAdjuster().adjust_chunksize(8 * MB, 10 * GB) == 8 * MB
        assert ChunksizeAdjuster().adjust_chunksize(8 * MB, 10000 * 8 * MB) == 8 * MB
        assert ChunksizeAdjuster().adjust_chunksize(8 * MB) == 8 * MB

    def test_zero_file_size(self):
        assert ChunksizeAdjuster().adjust_chunksize(8 * MB, 0) == 8 * MB

    def test_doubling_is_capped_by_max_size(self):
        adjuster = ChunksizeAdjuster(max_size=100, min_size=1, max_parts=2)
        assert adjuster.adjust_chunksize(30, 1000) == 100

    def test_custom_limits(self):
        adjuster = ChunksizeAdjuster(max_size=1000, min_size=10, max_parts=3)
        assert adjuster.adjust_chunksize(7, 100) == 56
        assert adjuster.adjust_chunksize(1) == 10


@settings(deadline=None, max_examples=300)
@given(
    min_size=st.integers(min_value=1, max_value=1000),
    extra=st.integers(min_value=0, max_value=10**6),
    max_parts=st.integers(min_value=1, max_value=100),
    current=st.integers(min_value=1, max_value=2 * 10**6),
    file_size=st.one_of(st.none(), st.integers(min_value=0, max_value=10**8)),
)
def test_chunksize_adjuster_properties(min_size, extra, max_parts, current, file_size):
    max_size = min_size + extra
    adjuster = ChunksizeAdjuster(
        max_size=max_size, min_size=min_size, max_parts=max_parts
    )
    result = adjuster.adjust_chunksize(current, file_size)
    assert min_size <= result <= max_size
    if file_size is not None and calculate_num_parts(file_size, max_size) <= max_parts:
        assert calculate_num_parts(file_size, result) <= max_parts
    fits = file_size is None or calculate_num_parts(file_size, current) <= max_parts
    if fits and min_size <= current <= max_size:
        assert result == current
