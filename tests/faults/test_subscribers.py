"""Subscribers that raise: the transfer fails cleanly or, for on_done, is unaffected."""

import io
import logging
import os

import pytest

from s3transfer.exceptions import CancelledError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.faults.scenarios import ReadOnly, open_uploads, put_random, result_within

pytestmark = pytest.mark.timeout(60)

PART = 256 * 1024


class SubscriberError(Exception):
    pass


class RaisingSubscriber(BaseSubscriber):
    """Raises from the callbacks named in ``raise_in``; records every call."""

    def __init__(self, *raise_in):
        self.raise_in = set(raise_in)
        self.calls = []

    def _record(self, name):
        self.calls.append(name)
        if name in self.raise_in:
            raise SubscriberError(name)

    def on_queued(self, future, **kwargs):
        self._record('queued')

    def on_progress(self, future, bytes_transferred, **kwargs):
        self._record('progress')

    def on_done(self, future, **kwargs):
        self._record('done')


class DoneRecorder(BaseSubscriber):
    def __init__(self):
        self.outcomes = []

    def on_done(self, future, **kwargs):
        try:
            self.outcomes.append(('result', future.result()))
        except Exception as e:
            self.outcomes.append(('error', e))


def manager_for(client):
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    return TransferManager(client, config)


@pytest.mark.parametrize('source_kind', ['filename', 'non-seekable'])
def test_raising_on_progress_fails_multipart_upload_and_aborts(
    small_parts, s3_client, bucket, tmp_path, source_kind
):
    data = os.urandom(6 * small_parts)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    source = str(path) if source_kind == 'filename' else ReadOnly(io.BytesIO(data))
    subscriber = RaisingSubscriber('progress')
    recorder = DoneRecorder()
    with manager_for(s3_client) as manager:
        future = manager.upload(
            source, bucket, 'obj', subscribers=[subscriber, recorder]
        )
        with pytest.raises(SubscriberError, match='progress'):
            result_within(future, 30)

    assert subscriber.calls[-1] == 'done'
    assert recorder.outcomes[0][0] == 'error'
    assert isinstance(recorder.outcomes[0][1], SubscriberError)
    assert open_uploads(s3_client, bucket) == []
    assert s3_client.list_objects_v2(Bucket=bucket).get('Contents', []) == []


def test_raising_on_progress_fails_single_upload(s3_client, bucket):
    subscriber = RaisingSubscriber('progress')
    recorder = DoneRecorder()
    with manager_for(s3_client) as manager:
        future = manager.upload(
            io.BytesIO(b'x' * 1000), bucket, 'obj', subscribers=[subscriber, recorder]
        )
        with pytest.raises(SubscriberError):
            result_within(future, 30)

    # Progress of a small body is reported once it was sent, so the object may
    # exist; what matters is that the caller sees the error and nothing hangs.
    assert subscriber.calls == ['queued', 'progress', 'done']
    assert isinstance(recorder.outcomes[0][1], SubscriberError)


@pytest.mark.parametrize('size', [1000, 4 * PART + 5])
def test_raising_on_progress_fails_download_and_removes_temp_file(
    s3_client, bucket, tmp_path, size
):
    put_random(s3_client, bucket, size)
    subscriber = RaisingSubscriber('progress')
    target = tmp_path / 'out.bin'
    with manager_for(s3_client) as manager:
        future = manager.download(bucket, 'obj', str(target), subscribers=[subscriber])
        with pytest.raises(SubscriberError):
            result_within(future, 30)

    assert subscriber.calls[-1] == 'done'
    assert os.listdir(tmp_path) == []


def test_raising_on_progress_fails_multipart_copy_and_aborts(
    small_parts, s3_client, bucket
):
    put_random(s3_client, bucket, 4 * small_parts, key='source')
    subscriber = RaisingSubscriber('progress')
    with manager_for(s3_client) as manager:
        future = manager.copy(
            {'Bucket': bucket, 'Key': 'source'},
            bucket,
            'copy',
            subscribers=[subscriber],
        )
        with pytest.raises(SubscriberError):
            result_within(future, 30)

    assert subscriber.calls[-1] == 'done'
    assert open_uploads(s3_client, bucket) == []
    keys = [
        item['Key'] for item in s3_client.list_objects_v2(Bucket=bucket)['Contents']
    ]
    assert keys == ['source']


def test_raising_on_queued_fails_before_any_request(s3_client, bucket, tmp_path):
    subscriber = RaisingSubscriber('queued')
    with manager_for(s3_client) as manager:
        future = manager.upload(
            io.BytesIO(b'data'), bucket, 'obj', subscribers=[subscriber]
        )
        with pytest.raises(SubscriberError, match='queued'):
            result_within(future, 30)

    assert subscriber.calls == ['queued', 'done']
    assert s3_client.list_objects_v2(Bucket=bucket).get('Contents', []) == []


@pytest.mark.parametrize('kind', ['upload', 'download', 'copy'])
def test_raising_on_done_is_logged_and_keeps_the_result(
    small_parts, s3_client, bucket, tmp_path, caplog, kind
):
    data = put_random(s3_client, bucket, 3 * small_parts, key='source')
    raising = RaisingSubscriber('done')
    recorder = DoneRecorder()
    subscribers = [raising, recorder]
    caplog.set_level(logging.DEBUG, logger='s3transfer')
    with manager_for(s3_client) as manager:
        future = {
            'upload': lambda: manager.upload(
                io.BytesIO(data), bucket, 'obj', subscribers=subscribers
            ),
            'download': lambda: manager.download(
                bucket, 'source', str(tmp_path / 'out'), subscribers=subscribers
            ),
            'copy': lambda: manager.copy(
                {'Bucket': bucket, 'Key': 'source'},
                bucket,
                'obj',
                subscribers=subscribers,
            ),
        }[kind]()
        assert result_within(future, 30) is None

    assert raising.calls[-1] == 'done'
    assert recorder.outcomes == [('result', None)]  # later subscribers still run
    logged = [
        r for r in caplog.records if r.exc_info and r.exc_info[0] is SubscriberError
    ]
    assert len(logged) == 1
    if kind == 'download':
        assert (tmp_path / 'out').read_bytes() == data
    else:
        body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
        assert body == data


class CancelOnProgress(BaseSubscriber):
    """Cancels its own transfer on the first progress report, like a 'stop' button."""

    def on_progress(self, future, bytes_transferred, **kwargs):
        future.cancel()


def test_cancel_from_on_progress_stops_the_upload_and_aborts(
    small_parts, s3_client, bucket
):
    data = os.urandom(12 * small_parts)
    with manager_for(s3_client) as manager:
        future = manager.upload(
            ReadOnly(io.BytesIO(data)), bucket, 'obj', subscribers=[CancelOnProgress()]
        )
        with pytest.raises(CancelledError):
            result_within(future, 30)

    assert open_uploads(s3_client, bucket) == []
    assert s3_client.list_objects_v2(Bucket=bucket).get('Contents', []) == []
