"""Downloads over real HTTP from the local S3 server (moto), incl. boto3 on top."""

import hashlib
import io
import os
import threading
import time
import uuid
from concurrent.futures import CancelledError

import pytest
from boto3.s3.transfer import TransferConfig as Boto3TransferConfig
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, ResponseStreamingError

from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.helpers import Progress, RawBody, sha256

MiB = 1024 * 1024
SIZES = [0, 1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 3 * 8 * MiB, 40 * MiB + 3]
SMALL = {'multipart_threshold': MiB, 'multipart_chunksize': MiB}


class WriteOnly:
    """A non-seekable writer: it has nothing but write()."""

    def __init__(self):
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self._hash.update(data)
        self.size += len(data)

    def hexdigest(self):
        return self._hash.hexdigest()


@pytest.fixture(scope='module')
def objects(s3_client):
    """Bucket with one object per size, uploaded on first use; returns a getter."""
    bucket = f'dl-{uuid.uuid4().hex[:20]}'
    s3_client.create_bucket(Bucket=bucket)
    uploaded = {}

    def get(size):
        if size not in uploaded:
            data = os.urandom(size)
            key = f'object-{size}'
            s3_client.put_object(Bucket=bucket, Key=key, Body=data)
            uploaded[size] = (key, sha256(data))
        return bucket, *uploaded[size]

    return get


def download_into(client, bucket, key, target_kind, tmp_path, **config):
    """Download and return (sha256 of what arrived, progress amounts)."""
    progress = Progress()
    if target_kind == 'filename':
        target = str(tmp_path / 'out.bin')
    elif target_kind == 'seekable':
        target = io.BytesIO()
    else:
        target = WriteOnly()
    with TransferManager(client, TransferConfig(**config)) as manager:
        manager.download(bucket, key, target, subscribers=[progress]).result()
    if target_kind == 'filename':
        assert os.listdir(tmp_path) == ['out.bin']
        with open(target, 'rb') as f:
            return sha256(f.read()), progress.amounts
    if target_kind == 'seekable':
        return sha256(target.getvalue()), progress.amounts
    return target.hexdigest(), progress.amounts


@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
@pytest.mark.parametrize('size', SIZES)
def test_download_sizes_and_targets(objects, s3_client, tmp_path, size, target_kind):
    bucket, key, expected = objects(size)
    digest, progress = download_into(s3_client, bucket, key, target_kind, tmp_path)
    assert digest == expected
    assert sum(progress) == size


@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
@pytest.mark.parametrize('size', [0, 1, 8 * MiB + 1])
def test_download_first_chunk_path(
    objects, make_s3_client, tmp_path, size, target_kind
):
    client = make_s3_client(response_checksum_validation='when_required')
    bucket, key, expected = objects(size)
    digest, progress = download_into(client, bucket, key, target_kind, tmp_path)
    assert digest == expected
    assert sum(progress) == size


def test_first_chunk_path_non_seekable_beyond_window(objects, make_s3_client):
    # Quirk fix: 0.19.3 blocks forever once remaining parts exceed the window.
    client = make_s3_client(response_checksum_validation='when_required')
    bucket, key, expected = objects(3 * MiB + 5)
    target = WriteOnly()
    config = TransferConfig(
        multipart_chunksize=256 * 1024, max_in_memory_download_chunks=2
    )
    with TransferManager(client, config) as manager:
        manager.download(bucket, key, target).result()
    assert target.hexdigest() == expected


# --- failures leave nothing behind ------------------------------------------------


def answer_500(request, **kwargs):
    """A 'before-send' handler: every GetObject answers 500 InternalError."""
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
        b'<Message>injected</Message></Error>'
    )
    return AWSResponse(request.url, 500, {}, RawBody(body))


@pytest.mark.parametrize('size', [10, 2 * MiB + 1])
@pytest.mark.parametrize('existing', [False, True])
def test_failing_gets_leave_no_file(objects, make_s3_client, tmp_path, size, existing):
    client = make_s3_client()
    client.meta.events.register('before-send.s3.GetObject', answer_500)
    bucket, key, _ = objects(size)
    target = tmp_path / 'out.bin'
    if existing:
        target.write_bytes(b'keep me')
    with TransferManager(client, TransferConfig(**SMALL)) as manager:
        future = manager.download(bucket, key, str(target))
        with pytest.raises(ClientError) as error:
            future.result()
    assert error.value.response['Error']['Code'] == 'InternalError'
    if existing:
        assert os.listdir(tmp_path) == ['out.bin']
        assert target.read_bytes() == b'keep me'
    else:
        assert os.listdir(tmp_path) == []


def test_missing_key_leaves_no_file(objects, s3_client, tmp_path):
    bucket, _, _ = objects(1)
    target = tmp_path / 'out.bin'
    target.write_bytes(b'keep me')
    with TransferManager(s3_client) as manager:
        future = manager.download(bucket, 'no-such-key', str(target))
        with pytest.raises(ClientError) as error:
            future.result()
    assert error.value.response['Error']['Code'] == '404'
    assert os.listdir(tmp_path) == ['out.bin']
    assert target.read_bytes() == b'keep me'


def test_object_overwritten_between_ranged_gets(
    s3_client, make_s3_client, bucket, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='k', Body=b'a' * (3 * MiB))
    client = make_s3_client()
    calls = []

    def overwrite_before_second_get(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            s3_client.put_object(Bucket=bucket, Key='k', Body=b'b' * (3 * MiB))

    client.meta.events.register('before-call.s3.GetObject', overwrite_before_second_get)
    target = tmp_path / 'out.bin'
    config = TransferConfig(max_request_concurrency=1, **SMALL)
    with TransferManager(client, config) as manager:
        future = manager.download(bucket, 'k', str(target))
        with pytest.raises(S3DownloadFailedError):
            future.result()
    assert os.listdir(tmp_path) == []


# --- retries of broken bodies (stream wrapper injection) ---------------------------


class BreakingBody:
    """Wraps a response body; raises a retryable error after ``after`` bytes."""

    def __init__(self, body, after):
        self._body = body
        self._left = after

    def read(self, amount=None):
        if self._left <= 0:
            self._body.close()
            raise ResponseStreamingError(error='injected connection reset')
        data = self._body.read(min(amount, self._left))
        self._left -= len(data)
        return data

    def close(self):
        self._body.close()


def break_bodies(client, count, after):
    """Make the first ``count`` GetObject bodies break after ``after`` bytes."""
    broken = []

    def wrap(parsed, **kwargs):
        if len(broken) < count and 'Body' in parsed:
            broken.append(1)
            parsed['Body'] = BreakingBody(parsed['Body'], after)

    client.meta.events.register('after-call.s3.GetObject', wrap)
    return broken


@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
@pytest.mark.parametrize('size', [300 * 1024, 3 * MiB + 7])
def test_broken_body_is_retried(objects, make_s3_client, tmp_path, size, target_kind):
    client = make_s3_client()
    broken = break_bodies(client, count=2, after=200 * 1024)
    bucket, key, expected = objects(size)
    digest, progress = download_into(
        client, bucket, key, target_kind, tmp_path, **SMALL
    )
    assert broken == [1, 1]
    assert digest == expected
    assert sum(progress) == size
    assert -200 * 1024 in progress


def test_broken_bodies_exhaust_attempts(objects, make_s3_client, tmp_path):
    client = make_s3_client()
    break_bodies(client, count=100, after=1000)
    bucket, key, _ = objects(300 * 1024)
    target = tmp_path / 'out.bin'
    config = TransferConfig(num_download_attempts=3)
    with TransferManager(client, config) as manager:
        future = manager.download(bucket, key, str(target))
        with pytest.raises(RetriesExceededError) as error:
            future.result()
    assert isinstance(error.value.last_exception, ResponseStreamingError)
    assert os.listdir(tmp_path) == []


# --- impossible destinations fail fast ------------------------------------------


@pytest.mark.parametrize('kind', ['directory', 'missing-folder'])
def test_impossible_destination_fails_before_any_request(
    objects, make_s3_client, tmp_path, kind
):
    bucket, key, _ = objects(1)
    client = make_s3_client()
    sent = []
    client.meta.events.register('before-send.s3', lambda **kwargs: sent.append(1))
    if kind == 'directory':
        target, error_type = str(tmp_path), IsADirectoryError
    else:
        target, error_type = str(tmp_path / 'missing' / 'f'), FileNotFoundError
    with TransferManager(client) as manager:
        future = manager.download(bucket, key, target)
        with pytest.raises(error_type) as error:
            future.result()
    assert error.value.filename == target
    assert sent == []
    assert os.listdir(tmp_path) == []


# --- boto3 on top ------------------------------------------------------------------


BOTO3_CONFIG = Config(s3={'addressing_style': 'path'})


@pytest.mark.parametrize('size', [1000, 3 * MiB + 1])
def test_boto3_client_download_file_and_fileobj(
    objects, boto3_session, s3_endpoint, tmp_path, size
):
    client = boto3_session.client('s3', endpoint_url=s3_endpoint, config=BOTO3_CONFIG)
    bucket, key, expected = objects(size)
    config = Boto3TransferConfig(**SMALL)
    target = tmp_path / 'file.bin'
    client.download_file(bucket, key, str(target), Config=config)
    assert sha256(target.read_bytes()) == expected
    buffer = io.BytesIO()
    client.download_fileobj(bucket, key, buffer, Config=config)
    assert sha256(buffer.getvalue()) == expected
    writer = WriteOnly()
    client.download_fileobj(bucket, key, writer, Config=config)
    assert writer.hexdigest() == expected


def test_boto3_object_download_file_with_callback(
    objects, boto3_session, s3_endpoint, tmp_path
):
    resource = boto3_session.resource(
        's3', endpoint_url=s3_endpoint, config=BOTO3_CONFIG
    )
    bucket, key, expected = objects(3 * MiB + 1)
    seen = []
    target = tmp_path / 'object.bin'
    resource.Object(bucket, key).download_file(
        str(target), Callback=seen.append, Config=Boto3TransferConfig(**SMALL)
    )
    assert sha256(target.read_bytes()) == expected
    assert sum(seen) == 3 * MiB + 1


def test_boto3_download_file_missing_key_raises_client_error(
    objects, boto3_session, s3_endpoint, tmp_path
):
    client = boto3_session.client('s3', endpoint_url=s3_endpoint, config=BOTO3_CONFIG)
    bucket, _, _ = objects(1)
    with pytest.raises(ClientError):
        client.download_file(bucket, 'absent', str(tmp_path / 'x'))
    assert os.listdir(tmp_path) == []


# --- more targets and concurrency ------------------------------------------------


def wait_all_done(futures, seconds=60):
    deadline = time.monotonic() + seconds
    while not all(f.done() for f in futures) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(f.done() for f in futures), 'downloads did not finish (deadlock?)'


def test_download_into_a_fifo(objects, s3_client, tmp_path):
    bucket, key, expected = objects(3 * MiB + 1)
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    received = []

    def drain():
        with open(fifo, 'rb') as f:
            received.append(f.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with TransferManager(s3_client, TransferConfig(**SMALL)) as manager:
        future = manager.download(bucket, key, fifo)
        wait_all_done([future])
        future.result()
    reader.join(timeout=30)
    assert sha256(received[0]) == expected
    assert sorted(os.listdir(tmp_path)) == ['fifo']  # no temp file for special files


def test_concurrent_first_chunk_downloads_share_a_small_window(objects, make_s3_client):
    # More concurrent transfers than request threads, all scheduling their remaining
    # parts at once: 0.19.3 could park every request thread on the shared window.
    client = make_s3_client(response_checksum_validation='when_required')
    bucket, key, expected = objects(2 * MiB + 9)
    config = TransferConfig(
        multipart_chunksize=256 * 1024,
        max_request_concurrency=2,
        max_in_memory_download_chunks=2,
    )
    writers = [WriteOnly() for _ in range(4)]
    manager = TransferManager(client, config)
    futures = [manager.download(bucket, key, writer) for writer in writers]
    wait_all_done(futures)
    manager.shutdown()
    for future, writer in zip(futures, writers, strict=True):
        future.result()
        assert writer.hexdigest() == expected


def test_many_concurrent_downloads_into_files(objects, s3_client, tmp_path):
    bucket, key, expected = objects(3 * MiB + 7)
    with TransferManager(s3_client, TransferConfig(**SMALL)) as manager:
        futures = [
            manager.download(bucket, key, str(tmp_path / f'out-{i}')) for i in range(6)
        ]
    for future in futures:
        future.result()
    assert sorted(os.listdir(tmp_path)) == sorted(f'out-{i}' for i in range(6))
    for i in range(6):
        assert sha256((tmp_path / f'out-{i}').read_bytes()) == expected


def test_cancelled_download_leaves_nothing(objects, s3_client, tmp_path):
    bucket, key, _ = objects(3 * MiB + 7)

    class CancelOnProgress(BaseSubscriber):
        def on_progress(self, future, bytes_transferred, **kwargs):
            future.cancel()

    target = str(tmp_path / 'out')
    with TransferManager(s3_client, TransferConfig(**SMALL)) as manager:
        future = manager.download(bucket, key, target, subscribers=[CancelOnProgress()])
        with pytest.raises(CancelledError):
            future.result()
    assert os.listdir(tmp_path) == []
