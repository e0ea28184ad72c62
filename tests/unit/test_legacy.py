"""Unit tests for the legacy API in the package module (no network)."""

import io
import logging
import os
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import IncompleteReadError, ResponseStreamingError
from botocore.vendored.requests.packages.urllib3.exceptions import ReadTimeoutError

import s3transfer
import s3transfer.compat
from s3transfer import (
    MB,
    SHUTDOWN_SENTINEL,
    MultipartDownloader,
    MultipartUploader,
    OSUtils,
    QueueShutdownError,
    ReadFileChunk,
    S3Transfer,
    ShutdownQueue,
    StreamReaderProgress,
    TransferConfig,
    disable_upload_callbacks,
    enable_upload_callbacks,
    random_file_extension,
)
from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError


class RecordingCallback:
    def __init__(self):
        self.amounts = []

    def __call__(self, amount):
        self.amounts.append(amount)


def make_chunk(data=b'abcdefgh', start=2, size=3, **kwargs):
    callback = RecordingCallback()
    fileobj = io.BytesIO(data)
    chunk = ReadFileChunk(fileobj, start, size, len(data), callback=callback, **kwargs)
    return chunk, fileobj, callback


class TestModuleAttributes:
    def test_metadata(self):
        assert s3transfer.__version__ == '0.19.3'
        assert s3transfer.__author__ == 'Amazon Web Services'
        assert len(s3transfer.__doc__) > 500

    def test_logger_has_null_handler(self):
        assert s3transfer.logger is logging.getLogger('s3transfer')
        assert any(
            isinstance(h, logging.NullHandler) for h in s3transfer.logger.handlers
        )

    def test_constants(self):
        assert MB == 1024 * 1024
        assert type(SHUTDOWN_SENTINEL) is object

    def test_reexports(self):
        from botocore.compat import six

        assert s3transfer.six is six
        assert s3transfer.IncompleteReadError is IncompleteReadError
        assert s3transfer.ResponseStreamingError is ResponseStreamingError
        assert s3transfer.ReadTimeoutError is ReadTimeoutError
        assert s3transfer.RetriesExceededError is RetriesExceededError
        assert s3transfer.S3UploadFailedError is S3UploadFailedError
        assert s3transfer.compat.__name__ == 's3transfer.compat'

    def test_queue_shutdown_error_is_exception(self):
        assert issubclass(QueueShutdownError, Exception)


class TestRandomFileExtension:
    def test_default_length_and_alphabet(self):
        ext = random_file_extension()
        assert len(ext) == 8
        assert set(ext) <= set(string.hexdigits)

    def test_num_digits(self):
        assert len(random_file_extension(num_digits=3)) == 3
        assert random_file_extension(0) == ''


class FakeBody:
    def __init__(self):
        self.calls = []

    def disable_callback(self):
        self.calls.append('disable')

    def enable_callback(self):
        self.calls.append('enable')


class FakeRequest:
    def __init__(self, body):
        self.body = body


class TestUploadCallbackHandlers:
    @pytest.mark.parametrize('operation', ['PutObject', 'UploadPart'])
    def test_upload_operations_toggle(self, operation):
        body = FakeBody()
        disable_upload_callbacks(FakeRequest(body), operation, extra='x')
        enable_upload_callbacks(request=FakeRequest(body), operation_name=operation)
        assert body.calls == ['disable', 'enable']

    def test_other_operations_ignored(self):
        body = FakeBody()
        disable_upload_callbacks(FakeRequest(body), 'GetObject')
        enable_upload_callbacks(FakeRequest(body), 'CreateMultipartUpload')
        assert body.calls == []

    def test_bodies_without_methods_ignored(self):
        disable_upload_callbacks(FakeRequest(b'bytes'), 'PutObject')
        enable_upload_callbacks(FakeRequest(None), 'UploadPart')


class TestReadFileChunk:
    def test_constructor_seeks_and_sizes(self):
        chunk, fileobj, _ = make_chunk(start=2, size=3)
        assert fileobj.tell() == 2
        assert len(chunk) == 3
        assert chunk.tell() == 0

    def test_size_clamped_to_file_end(self):
        chunk, _, _ = make_chunk(start=6, size=10)
        assert len(chunk) == 2
        assert chunk.read() == b'gh'

    def test_read_amounts(self):
        chunk, _, callback = make_chunk()
        assert chunk.read(2) == b'cd'
        assert chunk.read(5) == b'e'
        assert chunk.read(1) == b''
        assert chunk.tell() == 3
        # A zero-length read still reports 0.
        assert callback.amounts == [2, 1, 0]

    @pytest.mark.parametrize('amount', [None, -1])
    def test_read_all(self, amount):
        chunk, _, callback = make_chunk()
        assert chunk.read(amount) == b'cde'
        assert callback.amounts == [3]

    def test_spec_seek_example(self):
        chunk, _, callback = make_chunk(data=b'abcdefgh', start=2, size=3)
        chunk.seek(5)
        assert callback.amounts == [5]
        assert chunk.read() == b''
        assert callback.amounts == [5, 0]
        chunk.seek(1)
        assert callback.amounts == [5, 0, -4]
        assert chunk.read() == b'de'
        assert callback.amounts == [5, 0, -4, 2]

    def test_seek_reports_zero_delta(self):
        chunk, _, callback = make_chunk()
        chunk.seek(0)
        assert callback.amounts == [0]

    def test_seek_whence_current(self):
        chunk, fileobj, callback = make_chunk()
        chunk.read(2)
        chunk.seek(-1, 1)
        assert chunk.tell() == 1
        assert fileobj.tell() == 3
        assert chunk.read() == b'de'
        assert callback.amounts == [2, -1, 2]

    def test_seek_whence_end(self):
        chunk, fileobj, callback = make_chunk()
        chunk.seek(0, 2)
        assert chunk.tell() == 3
        assert fileobj.tell() == 5
        chunk.seek(-2, 2)
        assert chunk.read() == b'de'
        assert callback.amounts == [3, -2, 2]

    def test_seek_whence_keyword_and_positional_start(self):
        chunk, _, _ = make_chunk()
        chunk.read()
        chunk.seek(1, whence=0)
        assert chunk.read() == b'de'
        chunk.seek(0, 0)
        assert chunk.read() == b'cde'

    def test_seek_invalid_whence(self):
        chunk, _, callback = make_chunk()
        with pytest.raises(
            ValueError, match=r'invalid whence \(3, should be 0, 1 or 2\)'
        ):
            chunk.seek(0, 3)
        assert chunk.tell() == 0
        assert callback.amounts == []

    def test_crt_style_length_probe(self):
        # awscrt measures a stream with seek(0, 2) / tell() and then restores it.
        chunk, _, _ = make_chunk(enable_callback=False)
        current = chunk.tell()
        chunk.seek(0, 2)
        length = chunk.tell()
        chunk.seek(current, 0)
        assert length == 3
        assert chunk.read() == b'cde'

    def test_disabled_callback(self):
        chunk, _, callback = make_chunk(enable_callback=False)
        chunk.read(1)
        chunk.seek(0)
        assert callback.amounts == []
        chunk.enable_callback()
        chunk.read(1)
        chunk.disable_callback()
        chunk.read(1)
        assert callback.amounts == [1]

    def test_no_callback(self):
        chunk = ReadFileChunk(io.BytesIO(b'abc'), 0, 10, 3)
        assert chunk.read() == b'abc'
        chunk.seek(1)
        assert chunk.read() == b'bc'

    def test_close_and_context_manager(self):
        chunk, fileobj, _ = make_chunk()
        with chunk as body:
            assert body is chunk
        assert fileobj.closed
        chunk, fileobj, _ = make_chunk()
        chunk.close()
        assert fileobj.closed

    def test_iter_is_empty(self):
        chunk, _, _ = make_chunk()
        assert list(chunk) == []
        assert chunk.read() == b'cde'

    def test_from_filename(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        callback = RecordingCallback()
        with ReadFileChunk.from_filename(str(path), 4, 4, callback) as chunk:
            assert len(chunk) == 4
            assert chunk.read() == b'4567'
        assert callback.amounts == [4]
        with ReadFileChunk.from_filename(
            str(path), 8, 4, callback=callback, enable_callback=False
        ) as chunk:
            assert len(chunk) == 2
            assert chunk.read() == b'89'
        assert callback.amounts == [4]


class TestStreamReaderProgress:
    def test_reports_read_lengths(self):
        callback = RecordingCallback()
        stream = StreamReaderProgress(io.BytesIO(b'abcdef'), callback)
        assert stream.read(4) == b'abcd'
        assert stream.read() == b'ef'
        assert stream.read(1) == b''
        assert callback.amounts == [4, 2, 0]

    def test_without_callback(self):
        assert StreamReaderProgress(io.BytesIO(b'abc')).read() == b'abc'


class TestOSUtils:
    def test_get_file_size_is_late_bound(self, monkeypatch):
        monkeypatch.setattr(os.path, 'getsize', lambda name: len(name) * 10)
        assert OSUtils().get_file_size('abc') == 30

    def test_open_file_chunk_reader_call_shape(self, monkeypatch):
        calls = []

        class FakeReadFileChunk:
            @classmethod
            def from_filename(cls, *args, **kwargs):
                calls.append((args, kwargs))
                return 'chunk'

        monkeypatch.setattr(s3transfer, 'ReadFileChunk', FakeReadFileChunk)
        callback = RecordingCallback()
        assert OSUtils().open_file_chunk_reader('f', 1, 2, callback) == 'chunk'
        assert calls == [(('f', 1, 2, callback), {'enable_callback': False})]

    def test_open_file_chunk_reader_starts_disabled(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'abcdef')
        callback = RecordingCallback()
        with OSUtils().open_file_chunk_reader(str(path), 2, 2, callback) as chunk:
            assert chunk.read() == b'cd'
            chunk.enable_callback()
            chunk.seek(0)
        assert callback.amounts == [-2]

    def test_open(self, tmp_path):
        path = str(tmp_path / 'f')
        with OSUtils().open(path, 'wb') as f:
            f.write(b'data')
        with OSUtils().open(path, 'rb') as f:
            assert f.read() == b'data'

    def test_remove_file(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'')
        OSUtils().remove_file(str(path))
        assert not path.exists()
        # Missing files are ignored.
        OSUtils().remove_file(str(path))

    def test_rename_file_is_late_bound(self, monkeypatch):
        calls = []
        monkeypatch.setattr(
            s3transfer.compat, 'rename_file', lambda a, b: calls.append((a, b))
        )
        OSUtils().rename_file('a', 'b')
        assert calls == [('a', 'b')]

    def test_rename_file(self, tmp_path):
        (tmp_path / 'a').write_bytes(b'x')
        OSUtils().rename_file(str(tmp_path / 'a'), str(tmp_path / 'b'))
        assert (tmp_path / 'b').read_bytes() == b'x'


class TestTransferConfig:
    def test_defaults(self):
        config = TransferConfig()
        assert config.multipart_threshold == 8 * MB
        assert config.max_concurrency == 10
        assert config.multipart_chunksize == 8 * MB
        assert config.num_download_attempts == 5
        assert config.max_io_queue == 100

    def test_positional_order_and_no_validation(self):
        config = TransferConfig(1, 2, 3, 4, -5)
        assert (
            config.multipart_threshold,
            config.max_concurrency,
            config.multipart_chunksize,
            config.num_download_attempts,
            config.max_io_queue,
        ) == (1, 2, 3, 4, -5)


class TestShutdownQueue:
    def test_normal_put_get(self):
        q = ShutdownQueue(2)
        q.put('a')
        q.put('b')
        assert q.full()
        assert [q.get(), q.get()] == ['a', 'b']

    def test_put_after_shutdown(self):
        q = ShutdownQueue(0)
        q.put('a')
        q.trigger_shutdown()
        with pytest.raises(QueueShutdownError) as exc:
            q.put('b')
        assert str(exc.value) == (
            'Cannot put item to queue when queue has been shutdown.'
        )
        # Existing items can still be taken.
        assert q.get() == 'a'

    def test_shutdown_wakes_blocked_put(self):
        q = ShutdownQueue(1)
        q.put('fills the queue')
        errors = []

        def blocked_put():
            try:
                q.put('blocked')
            except QueueShutdownError as e:
                errors.append(e)

        thread = threading.Thread(target=blocked_put)
        thread.start()
        q.trigger_shutdown()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert len(errors) == 1

    def test_blocked_put_proceeds_when_space_frees(self):
        q = ShutdownQueue(1)
        q.put(1)
        thread = threading.Thread(target=q.put, args=(2,))
        thread.start()
        assert q.get(timeout=5) == 1
        assert q.get(timeout=5) == 2
        thread.join(timeout=5)
        assert not thread.is_alive()


class TestCalculateRangeParam:
    def test_spec_example(self):
        downloader = MultipartDownloader(None, TransferConfig(), OSUtils())
        ranges = [downloader._calculate_range_param(3, i, 4) for i in range(4)]
        assert ranges == ['bytes=0-2', 'bytes=3-5', 'bytes=6-8', 'bytes=9-']

    def test_single_part_is_open_ended(self):
        downloader = MultipartDownloader(None, TransferConfig(), OSUtils())
        assert downloader._calculate_range_param(5, 0, 1) == 'bytes=0-'


class FakeStreamingBody:
    def __init__(self, data, fail_after=None, error=None):
        self._data = io.BytesIO(data)
        self._fail_after = fail_after
        self._error = error

    def read(self, amt=None):
        if self._fail_after is not None and self._data.tell() >= self._fail_after:
            raise self._error
        return self._data.read(amt)


class FakeClient:
    """Serves get_object from bytes; scripted failures per Range, in order."""

    def __init__(self, data, failures=None):
        self.data = data
        self.failures = dict(failures or {})
        self.calls = []
        self._lock = threading.Lock()

    def get_object(self, **kwargs):
        with self._lock:
            self.calls.append(kwargs)
            failure = self.failures.get(kwargs.get('Range'), [])
            error = failure.pop(0) if failure else None
        start, end = self._parse_range(kwargs.get('Range'))
        body = self.data[start:end]
        if error is not None:
            return {'Body': FakeStreamingBody(body, fail_after=1, error=error)}
        return {'Body': FakeStreamingBody(body)}

    def _parse_range(self, range_param):
        if range_param is None:
            return 0, len(self.data)
        start, _, end = range_param[len('bytes=') :].partition('-')
        return int(start), int(end) + 1 if end else len(self.data)


class TestMultipartDownloader:
    def make(self, client, **config):
        config.setdefault('multipart_chunksize', 3)
        config.setdefault('max_concurrency', 2)
        return MultipartDownloader(client, TransferConfig(**config), OSUtils())

    def test_downloads_all_parts(self, tmp_path):
        client = FakeClient(b'0123456789')
        target = tmp_path / 'out'
        callback = RecordingCallback()
        self.make(client).download_file(
            'b', 'k', str(target), 10, {'VersionId': 'v'}, callback
        )
        assert target.read_bytes() == b'0123456789'
        assert sorted(c['Range'] for c in client.calls) == [
            'bytes=0-2',
            'bytes=3-5',
            'bytes=6-8',
            'bytes=9-',
        ]
        # extra_args are not forwarded to the ranged GETs.
        assert all(set(c) == {'Bucket', 'Key', 'Range'} for c in client.calls)
        assert sum(callback.amounts) == 10

    def test_retryable_error_reissues_same_range(self, tmp_path):
        error = ReadTimeoutError(None, None, 'read timed out')
        client = FakeClient(b'0123456789', failures={'bytes=3-5': [error]})
        target = tmp_path / 'out'
        self.make(client).download_file('b', 'k', str(target), 10, {})
        assert target.read_bytes() == b'0123456789'
        ranges = [c['Range'] for c in client.calls]
        assert ranges.count('bytes=3-5') == 2

    @pytest.mark.parametrize(
        'error',
        [
            TimeoutError('t'),
            ConnectionResetError('reset'),
            IncompleteReadError(actual_bytes=1, expected_bytes=3),
            ResponseStreamingError(error='boom'),
        ],
    )
    def test_retries_exhausted(self, tmp_path, error):
        client = FakeClient(b'012345', failures={'bytes=0-2': [error] * 2})
        downloader = self.make(client, num_download_attempts=2)
        with pytest.raises(RetriesExceededError) as exc:
            downloader.download_file('b', 'k', str(tmp_path / 'out'), 6, {})
        assert exc.value.last_exception is error

    def test_stop_iteration_ends_stream(self, tmp_path):
        class StopBody:
            def __init__(self):
                self._reads = [b'abc']

            def read(self, amt=None):
                if not self._reads:
                    raise StopIteration
                return self._reads.pop()

        class Client:
            def get_object(self, **kwargs):
                return {'Body': StopBody()}

        target = tmp_path / 'out'
        self.make(Client(), multipart_chunksize=10).download_file(
            'b', 'k', str(target), 3, {}
        )
        assert target.read_bytes() == b'abc'

    def test_writer_open_failure(self, tmp_path):
        client = FakeClient(b'x' * 200_000)
        downloader = self.make(
            client, multipart_chunksize=50_000, max_concurrency=4, max_io_queue=1
        )
        missing_dir = tmp_path / 'missing' / 'out'
        with pytest.raises(FileNotFoundError):
            downloader.download_file('b', 'k', str(missing_dir), 200_000, {})

    def test_writer_failure_wakes_blocked_producers(self):
        # Producers are blocked on the full 1-item queue when the write fails;
        # without waking them at shutdown the download would never return.
        class FailingFile(io.BytesIO):
            def write(self, data):
                time.sleep(0.2)
                raise OSError('disk full')

        class FailingOSUtils(OSUtils):
            def open(self, filename, mode):
                return FailingFile()

        downloader = MultipartDownloader(
            FakeClient(b'x' * 200_000),
            TransferConfig(
                multipart_chunksize=50_000, max_concurrency=4, max_io_queue=1
            ),
            FailingOSUtils(),
        )
        outcome = []

        def download():
            try:
                downloader.download_file('b', 'k', 'unused', 200_000, {})
            except OSError as e:
                outcome.append(e)

        thread = threading.Thread(target=download, daemon=True)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert [str(e) for e in outcome] == ['disk full']

    def test_executor_cls_used(self, tmp_path):
        created = []

        class RecordingExecutor(ThreadPoolExecutor):
            def __init__(self, max_workers):
                created.append(max_workers)
                super().__init__(max_workers=max_workers)

        downloader = MultipartDownloader(
            FakeClient(b'abcdef'),
            TransferConfig(multipart_chunksize=3, max_concurrency=7),
            OSUtils(),
            executor_cls=RecordingExecutor,
        )
        downloader.download_file('b', 'k', str(tmp_path / 'out'), 6, {})
        assert sorted(created) == [2, 7]


class FakeUploadClient:
    def __init__(self, fail_part=None):
        self.calls = []
        self.fail_part = fail_part
        self._lock = threading.Lock()

    def _record(self, name, kwargs):
        with self._lock:
            self.calls.append((name, kwargs))

    def create_multipart_upload(self, **kwargs):
        self._record('create', kwargs)
        return {'UploadId': 'id'}

    def upload_part(self, **kwargs):
        kwargs['Body'] = kwargs['Body'].read()
        self._record('part', kwargs)
        if kwargs['PartNumber'] == self.fail_part:
            raise RuntimeError('part failed')
        return {'ETag': f'etag-{kwargs["PartNumber"]}'}

    def complete_multipart_upload(self, **kwargs):
        self._record('complete', kwargs)

    def abort_multipart_upload(self, **kwargs):
        self._record('abort', kwargs)


class SerialExecutor:
    """Runs map inline and records how it was called."""

    instances = []

    def __init__(self, max_workers):
        self.max_workers = max_workers
        self.map_calls = []
        SerialExecutor.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return None

    def map(self, *args, **kwargs):
        self.map_calls.append((args, kwargs))
        fn, iterable = args
        return [fn(item) for item in iterable]


class TestMultipartUploader:
    def test_parts_and_executor_call_shape(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        client = FakeUploadClient()
        SerialExecutor.instances = []
        uploader = MultipartUploader(
            client,
            TransferConfig(multipart_chunksize=4, max_concurrency=3),
            OSUtils(),
            executor_cls=SerialExecutor,
        )
        uploader.upload_file(
            str(path),
            'b',
            'k',
            None,
            {'ContentType': 'text/plain', 'RequestPayer': 'requester'},
        )
        (executor,) = SerialExecutor.instances
        assert executor.max_workers == 3
        ((args, kwargs),) = executor.map_calls
        assert len(args) == 2 and kwargs == {}
        assert list(args[1]) == [1, 2, 3]
        names = [name for name, _ in client.calls]
        assert names == ['create', 'part', 'part', 'part', 'complete']
        assert client.calls[0][1] == {
            'Bucket': 'b',
            'Key': 'k',
            'ContentType': 'text/plain',
            'RequestPayer': 'requester',
        }
        assert [c[1]['Body'] for c in client.calls[1:4]] == [b'0123', b'4567', b'89']
        assert client.calls[1][1]['RequestPayer'] == 'requester'
        assert 'ContentType' not in client.calls[1][1]
        assert client.calls[4][1] == {
            'Bucket': 'b',
            'Key': 'k',
            'UploadId': 'id',
            'MultipartUpload': {
                'Parts': [
                    {'ETag': 'etag-1', 'PartNumber': 1},
                    {'ETag': 'etag-2', 'PartNumber': 2},
                    {'ETag': 'etag-3', 'PartNumber': 3},
                ]
            },
        }

    def test_part_failure_aborts(self, tmp_path):
        path = tmp_path / 'f'
        path.write_bytes(b'0123456789')
        client = FakeUploadClient(fail_part=2)
        uploader = MultipartUploader(
            client, TransferConfig(multipart_chunksize=4), OSUtils()
        )
        with pytest.raises(S3UploadFailedError) as exc:
            uploader.upload_file(str(path), 'b', 'k', None, {})
        assert str(exc.value) == f'Failed to upload {path} to b/k: part failed'
        assert client.calls[-1] == (
            'abort',
            {'Bucket': 'b', 'Key': 'k', 'UploadId': 'id'},
        )
        assert 'complete' not in [name for name, _ in client.calls]


class FakeEvents:
    def __init__(self):
        self.registered = []

    def register(self, *args, **kwargs):
        self.registered.append(('register', args, kwargs))

    def register_first(self, *args, **kwargs):
        self.registered.append(('register_first', args, kwargs))

    def register_last(self, *args, **kwargs):
        self.registered.append(('register_last', args, kwargs))


class FakeMeta:
    def __init__(self):
        self.events = FakeEvents()


class FakeS3Client:
    def __init__(self):
        self.meta = FakeMeta()


class TestS3TransferUnit:
    def test_allowed_args(self):
        assert S3Transfer.ALLOWED_DOWNLOAD_ARGS == [
            'VersionId',
            'SSECustomerAlgorithm',
            'SSECustomerKey',
            'SSECustomerKeyMD5',
            'RequestPayer',
        ]
        assert 'GrantWriteACL' in S3Transfer.ALLOWED_UPLOAD_ARGS
        assert 'WebsiteRedirectLocation' not in S3Transfer.ALLOWED_UPLOAD_ARGS
        assert len(S3Transfer.ALLOWED_UPLOAD_ARGS) == 21

    def test_registers_checksum_handler(self):
        client = FakeS3Client()
        transfer = S3Transfer(client)
        ((kind, args, kwargs),) = client.meta.events.registered
        assert kind == 'register'
        assert args == ('before-call.s3.*', transfer._update_checksum_context)
        assert kwargs == {}

    def test_update_checksum_context(self):
        transfer = S3Transfer(FakeS3Client())
        algorithm = {'algorithm': 'crc32', 'in': 'trailer', 'name': 'x'}
        params = {'context': {'checksum': {'request_algorithm': algorithm}}}
        transfer._update_checksum_context(params=params, model=None)
        assert algorithm == {'algorithm': 'crc32', 'in': 'header', 'name': 'x'}

    @pytest.mark.parametrize(
        'params', [{}, {'context': {}}, {'context': {'checksum': {}}}]
    )
    def test_update_checksum_context_missing_levels(self, params):
        transfer = S3Transfer(FakeS3Client())
        before = repr(params)
        transfer._update_checksum_context(params)
        assert repr(params) == before

    def test_upload_validation_message(self):
        transfer = S3Transfer(FakeS3Client())
        with pytest.raises(ValueError) as exc:
            transfer.upload_file('/nonexistent/file', 'b', 'k', extra_args={'Bad': 1})
        assert str(exc.value) == (
            "Invalid extra_args key 'Bad', must be one of: "
            + ', '.join(S3Transfer.ALLOWED_UPLOAD_ARGS)
        )

    def test_download_validation_message(self):
        transfer = S3Transfer(FakeS3Client())
        with pytest.raises(ValueError) as exc:
            transfer.download_file('b', 'k', 'f', extra_args={'Range': 'bytes=0-1'})
        assert str(exc.value) == (
            "Invalid extra_args key 'Range', must be one of: VersionId, "
            'SSECustomerAlgorithm, SSECustomerKey, SSECustomerKeyMD5, RequestPayer'
        )

    def test_defaults(self):
        transfer = S3Transfer(FakeS3Client())
        assert isinstance(transfer._config, TransferConfig)
        assert isinstance(transfer._osutil, OSUtils)


class SizedOSUtils(OSUtils):
    def __init__(self, size):
        self.size = size

    def get_file_size(self, filename):
        return self.size


class TestS3TransferDispatch:
    """Which strategy runs, looked up through the package module at call time."""

    def patch_uploader(self, monkeypatch):
        calls = []

        class FakeUploader:
            def __init__(self, *args, **kwargs):
                calls.append(('init', args, kwargs))

            def upload_file(self, *args, **kwargs):
                calls.append(('upload_file', args, kwargs))

        monkeypatch.setattr(s3transfer, 'MultipartUploader', FakeUploader)
        return calls

    def test_upload_at_threshold_is_multipart(self, monkeypatch):
        calls = self.patch_uploader(monkeypatch)
        client, config, osutil = FakeS3Client(), TransferConfig(), SizedOSUtils(8 * MB)
        transfer = S3Transfer(client, config, osutil)
        callback = RecordingCallback()
        transfer.upload_file('f', 'b', 'k', callback, {'ACL': 'private'})
        assert calls == [
            ('init', (client, config, osutil), {}),
            ('upload_file', ('f', 'b', 'k', callback, {'ACL': 'private'}), {}),
        ]

    def test_upload_registers_callback_toggles(self, monkeypatch):
        self.patch_uploader(monkeypatch)
        client = FakeS3Client()
        S3Transfer(client, osutil=SizedOSUtils(8 * MB)).upload_file('f', 'b', 'k')
        assert client.meta.events.registered[1:] == [
            (
                'register_first',
                ('request-created.s3', disable_upload_callbacks),
                {'unique_id': 's3upload-callback-disable'},
            ),
            (
                'register_last',
                ('request-created.s3', enable_upload_callbacks),
                {'unique_id': 's3upload-callback-enable'},
            ),
        ]

    def test_download_at_threshold_is_ranged(self, monkeypatch, tmp_path):
        calls = []

        class FakeDownloader:
            def __init__(self, *args, **kwargs):
                calls.append(('init', args, kwargs))

            def download_file(self, *args, **kwargs):
                calls.append(('download_file', args, kwargs))
                open(args[2], 'wb').close()

        class HeadClient(FakeS3Client):
            def head_object(self, **kwargs):
                calls.append(('head_object', kwargs))
                return {'ContentLength': 8 * MB}

        monkeypatch.setattr(s3transfer, 'MultipartDownloader', FakeDownloader)
        monkeypatch.setattr(s3transfer, 'random_file_extension', lambda: 'abc')
        client, config, osutil = HeadClient(), TransferConfig(), OSUtils()
        filename = str(tmp_path / 'out')
        S3Transfer(client, config, osutil).download_file(
            'b', 'k', filename, {'VersionId': 'v'}, print
        )
        assert calls == [
            ('head_object', {'Bucket': 'b', 'Key': 'k', 'VersionId': 'v'}),
            ('init', (client, config, osutil), {}),
            (
                'download_file',
                ('b', 'k', filename + '.abc', 8 * MB, {'VersionId': 'v'}, print),
                {},
            ),
        ]
        assert [p.name for p in tmp_path.iterdir()] == ['out']
