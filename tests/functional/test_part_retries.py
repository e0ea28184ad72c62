"""Opt-in part retries (TransferConfig(part_retry_attempts=N)), with Stubber.

Each stubbed error stands for a part that failed after botocore's own retries (the
Stubber answers before botocore's retry handler). With part retries off, the same
failure fails the transfer exactly as the spec says.
"""

import io
import threading
import time

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from s3transfer import retries
from s3transfer.exceptions import CancelledError, RetriesExceededError
from s3transfer.manager import TransferConfig, TransferManager
from tests.helpers import Progress, offline_client, payload

MB = 1024 * 1024
PART = 5 * MB
BUCKET = 'bucket'
KEY = 'key'
UPLOAD_ID = 'upload-id'
ETAG = '"etag"'
SRC = {'Bucket': 'src', 'Key': 'src-key'}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(retries, 'PART_RETRY_BASE_DELAY', 0.001)


@pytest.fixture
def client():
    return offline_client()


@pytest.fixture
def stubber(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def manager(client, **config):
    config.setdefault('max_request_concurrency', 1)
    config.setdefault('multipart_threshold', PART)
    config.setdefault('multipart_chunksize', PART)
    return TransferManager(client, TransferConfig(**config))


def fail(stubber, operation, code, status, params=None):
    stubber.add_client_error(
        operation,
        service_error_code=code,
        http_status_code=status,
        expected_params=params,
    )


# ------------------------------------------------------------------ uploads


def upload_part_params(number):
    return {
        'Bucket': BUCKET,
        'Key': KEY,
        'UploadId': UPLOAD_ID,
        'PartNumber': number,
        'Body': ANY,
        'ChecksumAlgorithm': 'CRC32',
    }


def expect_upload_start(stubber):
    stubber.add_response(
        'create_multipart_upload',
        {'UploadId': UPLOAD_ID},
        {'Bucket': BUCKET, 'Key': KEY, 'ChecksumAlgorithm': 'CRC32'},
    )


def run_upload(client, data, **config):
    with manager(client, **config) as m:
        future = m.upload(io.BytesIO(data), BUCKET, KEY)
        future.result()


def test_upload_part_retried_after_503s_then_completes(client, stubber):
    data = payload(PART + 10)
    expect_upload_start(stubber)
    stubber.add_response('upload_part', {'ETag': '"e1"'}, upload_part_params(1))
    fail(stubber, 'upload_part', 'SlowDown', 503, upload_part_params(2))
    fail(stubber, 'upload_part', 'ServiceUnavailable', 503, upload_part_params(2))
    stubber.add_response('upload_part', {'ETag': '"e2"'}, upload_part_params(2))
    stubber.add_response(
        'complete_multipart_upload',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {
                'Parts': [
                    {'ETag': '"e1"', 'PartNumber': 1},
                    {'ETag': '"e2"', 'PartNumber': 2},
                ]
            },
        },
    )
    run_upload(client, data, part_retry_attempts=2)


def expect_abort(stubber):
    stubber.add_response(
        'abort_multipart_upload',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )


def test_upload_part_off_by_default_fails_and_aborts(client, stubber):
    expect_upload_start(stubber)
    fail(stubber, 'upload_part', 'SlowDown', 503, upload_part_params(1))
    expect_abort(stubber)
    with pytest.raises(ClientError, match='SlowDown'):
        run_upload(client, payload(PART + 10))


def test_upload_part_gives_up_after_the_attempts_with_the_last_error(client, stubber):
    expect_upload_start(stubber)
    for _ in range(3):
        fail(stubber, 'upload_part', 'InternalError', 500, upload_part_params(1))
    expect_abort(stubber)
    with pytest.raises(ClientError, match='InternalError'):
        run_upload(client, payload(PART + 10), part_retry_attempts=2)


def test_upload_part_not_retried_on_a_non_retryable_error(client, stubber):
    expect_upload_start(stubber)
    fail(stubber, 'upload_part', 'AccessDenied', 403, upload_part_params(1))
    expect_abort(stubber)
    with pytest.raises(ClientError, match='AccessDenied'):
        run_upload(client, payload(PART + 10), part_retry_attempts=5)


def test_upload_part_task_kwargs_unchanged_when_off(client):
    # The spec's UploadPartTask main kwargs carry no retry policy by default.
    from s3transfer.upload import _part_retry_kwargs

    assert _part_retry_kwargs(TransferConfig()) == {}
    assert _part_retry_kwargs(TransferConfig(part_retry_attempts=1)) == {
        'part_retry_policy': retries.part_retry_policy(1)
    }


# ------------------------------------------------------------------ downloads


def get_body(data):
    return StreamingBody(io.BytesIO(data), len(data))


def get_params(byte_range):
    return {'Bucket': BUCKET, 'Key': KEY, 'Range': byte_range, 'IfMatch': ETAG}


def expect_head(stubber, size):
    stubber.add_response(
        'head_object',
        {'ContentLength': size, 'ETag': ETAG},
        {'Bucket': BUCKET, 'Key': KEY},
    )


def expect_get(stubber, data, byte_range):
    stubber.add_response(
        'get_object',
        {'Body': get_body(data), 'ContentLength': len(data), 'ETag': ETAG},
        get_params(byte_range),
    )


def run_download(client, progress=None, **config):
    target = io.BytesIO()
    with manager(client, **config) as m:
        future = m.download(BUCKET, KEY, target, subscribers=progress and [progress])
        future.result()
    return target.getvalue()


def test_ranged_get_retried_after_500_keeps_ranges_and_progress(client, stubber):
    data = payload(PART + 7)
    expect_head(stubber, len(data))
    expect_get(stubber, data[:PART], f'bytes=0-{PART - 1}')
    fail(stubber, 'get_object', 'InternalError', 500, get_params(f'bytes={PART}-'))
    fail(stubber, 'get_object', 'SlowDown', 503, get_params(f'bytes={PART}-'))
    expect_get(stubber, data[PART:], f'bytes={PART}-')
    progress = Progress()
    assert run_download(client, progress, part_retry_attempts=3) == data
    assert sum(progress.amounts) == len(data)


def test_ranged_get_off_by_default_fails(client, stubber):
    data = payload(PART + 7)
    expect_head(stubber, len(data))
    expect_get(stubber, data[:PART], f'bytes=0-{PART - 1}')
    fail(stubber, 'get_object', 'SlowDown', 503, get_params(f'bytes={PART}-'))
    with pytest.raises(ClientError, match='SlowDown'):
        run_download(client)


class BreakingRaw:
    """A raw body that delivers ``keep`` bytes and then resets the connection."""

    def __init__(self, data, keep):
        self._stream = io.BytesIO(data[:keep])

    def read(self, amount=None):
        chunk = self._stream.read(amount)
        if not chunk:
            raise ConnectionResetError('reset mid-body')
        return chunk

    def close(self):
        pass


def expect_broken_get(stubber, data, byte_range, keep):
    stubber.add_response(
        'get_object',
        {
            'Body': StreamingBody(BreakingRaw(data, keep), len(data)),
            'ContentLength': len(data),
            'ETag': ETAG,
        },
        get_params(byte_range),
    )


def test_mid_body_resets_beyond_num_download_attempts(client, stubber):
    data = payload(PART + 7)
    expect_head(stubber, len(data))
    expect_get(stubber, data[:PART], f'bytes=0-{PART - 1}')
    # Three stream failures with num_download_attempts=2: the spec's own loop
    # gives up after two (RetriesExceededError); the part retry tries again.
    for _ in range(3):
        expect_broken_get(stubber, data[PART:], f'bytes={PART}-', keep=3)
    expect_get(stubber, data[PART:], f'bytes={PART}-')
    progress = Progress()
    got = run_download(client, progress, num_download_attempts=2, part_retry_attempts=1)
    assert got == data
    assert sum(progress.amounts) == len(data)


def test_mid_body_resets_fail_as_spec_when_off(client, stubber):
    data = payload(PART + 7)
    expect_head(stubber, len(data))
    expect_get(stubber, data[:PART], f'bytes=0-{PART - 1}')
    for _ in range(2):
        expect_broken_get(stubber, data[PART:], f'bytes={PART}-', keep=3)
    with pytest.raises(RetriesExceededError):
        run_download(client, num_download_attempts=2)


# ------------------------------------------------------------------ copies


def copy_part_params(number, byte_range):
    return {
        'Bucket': BUCKET,
        'Key': KEY,
        'UploadId': UPLOAD_ID,
        'PartNumber': number,
        'CopySource': SRC,
        'CopySourceRange': byte_range,
        'CopySourceIfMatch': ETAG,
    }


def test_copy_part_retried_then_completes(client, stubber):
    size = PART + 3
    stubber.add_response(
        'head_object',
        {'ContentLength': size, 'ETag': ETAG},
        {'Bucket': 'src', 'Key': 'src-key'},
    )
    stubber.add_response(
        'create_multipart_upload',
        {'UploadId': UPLOAD_ID},
        {'Bucket': BUCKET, 'Key': KEY},
    )
    first, last = f'bytes=0-{PART - 1}', f'bytes={PART}-{size - 1}'
    stubber.add_response(
        'upload_part_copy',
        {'CopyPartResult': {'ETag': '"c1"'}},
        copy_part_params(1, first),
    )
    fail(stubber, 'upload_part_copy', 'SlowDown', 503, copy_part_params(2, last))
    stubber.add_response(
        'upload_part_copy',
        {'CopyPartResult': {'ETag': '"c2"'}},
        copy_part_params(2, last),
    )
    stubber.add_response(
        'complete_multipart_upload',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {
                'Parts': [
                    {'ETag': '"c1"', 'PartNumber': 1},
                    {'ETag': '"c2"', 'PartNumber': 2},
                ]
            },
        },
    )
    progress = Progress()
    with manager(client, part_retry_attempts=1) as m:
        m.copy(SRC, BUCKET, KEY, subscribers=[progress]).result()
    assert sum(progress.amounts) == size


def test_copy_part_off_by_default_fails(client, stubber):
    size = PART + 3
    stubber.add_response(
        'head_object',
        {'ContentLength': size, 'ETag': ETAG},
        {'Bucket': 'src', 'Key': 'src-key'},
    )
    stubber.add_response(
        'create_multipart_upload',
        {'UploadId': UPLOAD_ID},
        {'Bucket': BUCKET, 'Key': KEY},
    )
    stubber.add_response(
        'upload_part_copy',
        {'CopyPartResult': {'ETag': '"c1"'}},
        copy_part_params(1, f'bytes=0-{PART - 1}'),
    )
    fail(
        stubber,
        'upload_part_copy',
        'SlowDown',
        503,
        copy_part_params(2, f'bytes={PART}-{size - 1}'),
    )
    expect_abort(stubber)
    with manager(client) as m:
        future = m.copy(SRC, BUCKET, KEY)
    with pytest.raises(ClientError, match='SlowDown'):
        future.result()


# ------------------------------------------------------------------ config


@pytest.mark.parametrize('value', [-1, 1.5, '3', True, None])
def test_part_retry_attempts_must_be_a_count(value):
    with pytest.raises(ValueError, match='part_retry_attempts'):
        TransferConfig(part_retry_attempts=value)


def test_part_retry_attempts_defaults_to_off():
    assert TransferConfig().part_retry_attempts == 0


# ------------------------------------------------------------------ cancellation


def test_cancel_ends_a_part_retry_backoff_at_once(client, monkeypatch):
    # A minute of backoff after the first failure; cancelling must not wait for it.
    monkeypatch.setattr(retries.RetryPolicy, 'backoff', lambda self, n, rand: 60.0)
    failed = threading.Event()
    client.meta.events.register(
        'after-call.s3.UploadPart', lambda **kwargs: failed.set()
    )
    stubber = Stubber(client)
    expect_upload_start(stubber)
    fail(stubber, 'upload_part', 'SlowDown', 503, upload_part_params(1))
    expect_abort(stubber)
    with stubber:
        with manager(client, part_retry_attempts=3) as m:
            future = m.upload(io.BytesIO(payload(PART + 10)), BUCKET, KEY)
            assert failed.wait(10), 'the part was never sent'
            started = time.monotonic()
            future.cancel()
            with pytest.raises(CancelledError):
                future.result()
        assert time.monotonic() - started < 5
        stubber.assert_no_pending_responses()
