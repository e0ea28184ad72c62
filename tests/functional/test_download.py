"""Whole downloads through TransferManager, with botocore's Stubber pinning requests."""

import io
import os
import time

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError
from s3transfer.futures import NonThreadedExecutor
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.helpers import WriteOnly, offline_client

BUCKET = 'mybucket'
KEY = 'mykey'
ETAG = '"etag-1"'


class Recorder(BaseSubscriber):
    """Records every callback, in order, and optionally provides size/etag."""

    def __init__(self, size=None, etag=None):
        self.events = []
        self._size = size
        self._etag = etag

    def on_queued(self, future, **kwargs):
        self.events.append(('queued', None))
        if self._size is not None:
            future.meta.provide_transfer_size(self._size)
        if self._etag is not None:
            future.meta.provide_object_etag(self._etag)

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.events.append(('progress', bytes_transferred))

    def on_done(self, future, **kwargs):
        self.events.append(('done', None))

    @property
    def progress(self):
        return [amount for name, amount in self.events if name == 'progress']


class FailingRaw:
    """A raw stream that delivers ``fail_after`` bytes, then breaks."""

    def __init__(self, data, fail_after):
        self._stream = io.BytesIO(data[:fail_after])

    def read(self, amount=None):
        data = self._stream.read(amount)
        if not data:
            raise ResponseStreamingError(error='connection reset')
        return data

    def close(self):
        pass


def body(data, fail_after=None):
    if fail_after is not None:
        return StreamingBody(FailingRaw(data, fail_after), len(data))
    return StreamingBody(io.BytesIO(data), len(data))


def get_response(data, etag=ETAG, content_range=None, fail_after=None):
    response = {
        'Body': body(data, fail_after),
        'ContentLength': len(data),
        'ETag': etag,
    }
    if content_range:
        response['ContentRange'] = content_range
    return response


def wait_done(future, seconds=10):
    """Return once ``future`` is done; fail instead of hanging."""
    deadline = time.monotonic() + seconds
    while not future.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.done(), 'download did not finish (deadlock?)'


def manager_for(client, **config_kwargs):
    config_kwargs.setdefault('max_request_concurrency', 1)
    return TransferManager(client, TransferConfig(**config_kwargs))


def add_head(stubber, size, expected_extra=None, etag=ETAG):
    stubber.add_response(
        'head_object',
        {'ContentLength': size, 'ETag': etag},
        {'Bucket': BUCKET, 'Key': KEY, **(expected_extra or {})},
    )


def add_get(stubber, data, expected_extra=None, **response_kwargs):
    stubber.add_response(
        'get_object',
        get_response(data, **response_kwargs),
        {'Bucket': BUCKET, 'Key': KEY, **(expected_extra or {})},
    )


def count_requests(client):
    sent = []
    client.meta.events.register('before-send.s3', lambda **kwargs: sent.append(1))
    return sent


# --- HeadObject path ---------------------------------------------------------------


def test_head_then_single_get_passes_extra_args_unchanged(client, stubber, tmp_path):
    extra = {'VersionId': 'v1', 'RequestPayer': 'requester'}
    data = b'x' * 1000
    add_head(stubber, len(data), extra)
    add_get(stubber, data, extra)
    recorder = Recorder()
    target = tmp_path / 'out'
    with manager_for(client) as manager:
        future = manager.download(BUCKET, KEY, str(target), dict(extra), [recorder])
        assert future.result() is None
    stubber.assert_no_pending_responses()
    assert target.read_bytes() == data
    assert os.listdir(tmp_path) == ['out']
    assert recorder.events == [('queued', None), ('progress', 1000), ('done', None)]
    assert future.meta.size == 1000 and future.meta.etag == ETAG


def test_ranged_gets_carry_range_if_match_and_extra_args(client, stubber, tmp_path):
    data = b'hello world'
    extra = {'VersionId': 'v7', 'SSECustomerAlgorithm': 'AES256'}
    add_head(stubber, len(data), extra)
    for expected_range, start, end in [
        ('bytes=0-4', 0, 5),
        ('bytes=5-9', 5, 10),
        ('bytes=10-', 10, 11),
    ]:
        add_get(
            stubber,
            data[start:end],
            {'Range': expected_range, 'IfMatch': ETAG, **extra},
            content_range=f'bytes {start}-{end - 1}/11',
        )
    recorder = Recorder()
    target = tmp_path / 'out'
    with manager_for(client, multipart_threshold=5, multipart_chunksize=5) as manager:
        future = manager.download(BUCKET, KEY, str(target), dict(extra), [recorder])
        future.result()
    stubber.assert_no_pending_responses()
    assert target.read_bytes() == data
    assert recorder.progress == [5, 5, 1]


def test_provided_size_and_etag_skip_head_object(client, stubber):
    data = b'abcdefgh'
    add_get(stubber, data[:4], {'Range': 'bytes=0-3', 'IfMatch': '"given"'})
    add_get(stubber, data[4:], {'Range': 'bytes=4-', 'IfMatch': '"given"'})
    target = io.BytesIO()
    subscriber = Recorder(size=8, etag='"given"')
    with manager_for(client, multipart_threshold=4, multipart_chunksize=4) as manager:
        manager.download(BUCKET, KEY, target, subscribers=[subscriber]).result()
    stubber.assert_no_pending_responses()
    assert target.getvalue() == data


def test_provided_size_alone_still_sends_head_object(client, stubber):
    add_head(stubber, 3, etag='"real"')
    add_get(stubber, b'abc')
    target = io.BytesIO()
    with manager_for(client) as manager:
        future = manager.download(BUCKET, KEY, target, subscribers=[Recorder(size=999)])
        future.result()
    assert future.meta.size == 3 and future.meta.etag == '"real"'
    assert target.getvalue() == b'abc'


def test_head_without_etag_sends_no_if_match(client, stubber):
    stubber.add_response(
        'head_object', {'ContentLength': 6}, {'Bucket': BUCKET, 'Key': KEY}
    )
    add_get(stubber, b'abc', {'Range': 'bytes=0-2'})
    add_get(stubber, b'def', {'Range': 'bytes=3-'})
    target = io.BytesIO()
    with manager_for(client, multipart_threshold=3, multipart_chunksize=3) as manager:
        manager.download(BUCKET, KEY, target).result()
    stubber.assert_no_pending_responses()
    assert target.getvalue() == b'abcdef'


def test_empty_object_creates_an_empty_file(client, stubber, tmp_path):
    add_head(stubber, 0)
    add_get(stubber, b'')
    target = tmp_path / 'empty'
    recorder = Recorder()
    with manager_for(client) as manager:
        manager.download(BUCKET, KEY, str(target), subscribers=[recorder]).result()
    assert target.read_bytes() == b''
    assert recorder.progress == []


# --- first-chunk path (response_checksum_validation == 'when_required') -----------


@pytest.fixture
def fc_client():
    return offline_client(response_checksum_validation='when_required')


def test_first_chunk_path_requests(fc_client, tmp_path):
    data = os.urandom(20)
    with Stubber(fc_client) as stubber:
        add_get(
            stubber,
            data[:8],
            {'Range': 'bytes=0-7', 'VersionId': 'v1'},
            etag='"first"',
            content_range='bytes 0-7/20',
        )
        add_get(
            stubber,
            data[8:16],
            {'Range': 'bytes=8-15', 'IfMatch': '"first"', 'VersionId': 'v1'},
            content_range='bytes 8-15/20',
        )
        add_get(
            stubber,
            data[16:],
            {'Range': 'bytes=16-', 'IfMatch': '"first"', 'VersionId': 'v1'},
            content_range='bytes 16-19/20',
        )
        target = tmp_path / 'out'
        recorder = Recorder(size=5)  # ignored: no HeadObject, size from the GET
        with manager_for(fc_client, multipart_chunksize=8) as manager:
            future = manager.download(
                BUCKET, KEY, str(target), {'VersionId': 'v1'}, [recorder]
            )
            future.result()
        stubber.assert_no_pending_responses()
    assert target.read_bytes() == data
    assert future.meta.size == 20 and future.meta.etag == '"first"'
    assert sum(recorder.progress) == 20


def test_first_chunk_path_sends_provided_etag_on_first_get(fc_client):
    with Stubber(fc_client) as stubber:
        add_get(
            stubber,
            b'abc',
            {'Range': 'bytes=0-7', 'IfMatch': '"known"'},
            content_range='bytes 0-2/3',
        )
        target = io.BytesIO()
        with manager_for(fc_client, multipart_chunksize=8) as manager:
            manager.download(
                BUCKET, KEY, target, subscribers=[Recorder(etag='"known"')]
            ).result()
        stubber.assert_no_pending_responses()
    assert target.getvalue() == b'abc'


def test_first_chunk_path_empty_object_via_invalid_range(fc_client, tmp_path):
    with Stubber(fc_client) as stubber:
        stubber.add_client_error(
            'get_object',
            service_error_code='InvalidRange',
            http_status_code=416,
            expected_params={'Bucket': BUCKET, 'Key': KEY, 'Range': 'bytes=0-7'},
        )
        target = tmp_path / 'empty'
        with manager_for(fc_client, multipart_chunksize=8) as manager:
            future = manager.download(BUCKET, KEY, str(target))
            future.result()
    assert target.read_bytes() == b''
    assert future.meta.size == 0
    assert os.listdir(tmp_path) == ['empty']


def stub_first_chunk_parts(stubber, data, chunk):
    for start in range(0, len(data), chunk):
        end = min(start + chunk, len(data))
        last = end == len(data)
        expected = {'Range': f'bytes={start}-{"" if last and start else end - 1}'}
        if start:
            expected['IfMatch'] = ETAG
        add_get(
            stubber,
            data[start:end],
            expected,
            content_range=f'bytes {start}-{end - 1}/{len(data)}',
        )


@pytest.mark.parametrize('threaded', [True, False])
def test_first_chunk_path_non_seekable_more_parts_than_window(fc_client, threaded):
    # Quirk fix: 0.19.3 blocks forever here (10 parts, window of 2).
    data = os.urandom(40)
    target = WriteOnly()
    with Stubber(fc_client) as stubber:
        stub_first_chunk_parts(stubber, data, 4)
        manager = TransferManager(
            fc_client,
            TransferConfig(
                multipart_chunksize=4,
                max_request_concurrency=1,
                max_in_memory_download_chunks=2,
            ),
            executor_cls=None if threaded else NonThreadedExecutor,
        )
        future = manager.download(BUCKET, KEY, target)
        wait_done(future)
        future.result()
        manager.shutdown()
        stubber.assert_no_pending_responses()
    assert target.value == data


# --- fail fast on impossible destinations --------------------------------------------


def test_directory_destination_fails_before_any_request(client, stubber, tmp_path):
    sent = count_requests(client)
    with manager_for(client) as manager:
        future = manager.download(BUCKET, KEY, str(tmp_path))
        with pytest.raises(IsADirectoryError) as error:
            future.result()
    assert error.value.filename == str(tmp_path)
    assert sent == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('when_required', [False, True])
def test_missing_folder_fails_before_any_request(tmp_path, when_required):
    validation = 'when_required' if when_required else 'when_supported'
    client = offline_client(response_checksum_validation=validation)
    sent = count_requests(client)
    target = str(tmp_path / 'nope' / 'file')
    with Stubber(client), manager_for(client) as manager:
        future = manager.download(BUCKET, KEY, target)
        with pytest.raises(FileNotFoundError) as error:
            future.result()
    assert error.value.filename == target
    assert sent == []
    assert os.listdir(tmp_path) == []


# --- retries -----------------------------------------------------------------------


def test_streaming_error_is_retried_with_progress_rolled_back(
    client, stubber, tmp_path
):
    data = os.urandom(600 * 1024)
    add_head(stubber, len(data))
    add_get(stubber, data, fail_after=512 * 1024)
    add_get(stubber, data)
    recorder = Recorder()
    target = tmp_path / 'out'
    with manager_for(client) as manager:
        manager.download(BUCKET, KEY, str(target), subscribers=[recorder]).result()
    assert target.read_bytes() == data
    assert -512 * 1024 in recorder.progress
    assert sum(recorder.progress) == len(data)


def test_retries_exceeded_leaves_nothing_behind(client, stubber, tmp_path):
    data = b'z' * 100
    add_head(stubber, len(data))
    add_get(stubber, data, fail_after=10)
    add_get(stubber, data, fail_after=20)
    target = tmp_path / 'out'
    with manager_for(client, num_download_attempts=2) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        with pytest.raises(RetriesExceededError) as error:
            future.result()
    assert isinstance(error.value.last_exception, ResponseStreamingError)
    stubber.assert_no_pending_responses()
    assert os.listdir(tmp_path) == []


def test_non_ranged_retry_into_non_seekable_writes_each_byte_once(client, stubber):
    # Quirk fix: 0.19.3 writes the bytes of the failed attempt again.
    data = os.urandom(700 * 1024)
    add_head(stubber, len(data))
    add_get(stubber, data, fail_after=300 * 1024)
    add_get(stubber, data)
    target = WriteOnly()
    recorder = Recorder()
    with manager_for(client) as manager:
        manager.download(BUCKET, KEY, target, subscribers=[recorder]).result()
    assert target.value == data
    assert sum(recorder.progress) == len(data)


def test_ranged_retry_into_non_seekable_writes_each_byte_once(client, stubber):
    data = os.urandom(40)
    add_head(stubber, len(data))
    add_get(stubber, data[:20], {'Range': 'bytes=0-19', 'IfMatch': ETAG}, fail_after=7)
    add_get(stubber, data[:20], {'Range': 'bytes=0-19', 'IfMatch': ETAG})
    add_get(stubber, data[20:], {'Range': 'bytes=20-', 'IfMatch': ETAG})
    target = WriteOnly()
    config = {'multipart_threshold': 20, 'multipart_chunksize': 20, 'io_chunksize': 3}
    with manager_for(client, **config) as manager:
        manager.download(BUCKET, KEY, target).result()
    assert target.value == data


# --- failures -------------------------------------------------------------------------


def test_changed_object_between_ranged_gets_fails(client, stubber, tmp_path):
    data = b'0123456789'
    add_head(stubber, len(data))
    add_get(stubber, data[:5], {'Range': 'bytes=0-4', 'IfMatch': ETAG})
    stubber.add_client_error(
        'get_object',
        service_error_code='PreconditionFailed',
        http_status_code=412,
        expected_params={
            'Bucket': BUCKET,
            'Key': KEY,
            'Range': 'bytes=5-',
            'IfMatch': ETAG,
        },
    )
    target = tmp_path / 'out'
    target.write_bytes(b'previous contents')
    with manager_for(client, multipart_threshold=5, multipart_chunksize=5) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        with pytest.raises(S3DownloadFailedError) as error:
            future.result()
    assert str(error.value) == (
        f'Contents of stored object "{KEY}" in bucket "{BUCKET}" did not match '
        'expected ETag.'
    )
    assert target.read_bytes() == b'previous contents'
    assert os.listdir(tmp_path) == ['out']


def test_missing_key_surfaces_client_error_and_leaves_nothing(
    client, stubber, tmp_path
):
    stubber.add_client_error(
        'head_object', service_error_code='404', http_status_code=404
    )
    target = tmp_path / 'out'
    with manager_for(client) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        with pytest.raises(ClientError):
            future.result()
    assert os.listdir(tmp_path) == []


# --- bandwidth limiting ---------------------------------------------------------------


def test_download_with_bandwidth_limit(client, stubber, monkeypatch):
    sleeps = []
    monkeypatch.setattr(time, 'sleep', lambda seconds: sleeps.append(seconds))
    data = os.urandom(2 * 1024 * 1024)
    add_head(stubber, len(data))
    add_get(stubber, data)
    target = io.BytesIO()
    with manager_for(client, max_bandwidth=1024 * 1024) as manager:
        manager.download(BUCKET, KEY, target).result()
    assert target.getvalue() == data
    assert sleeps  # the limiter made the stream wait
