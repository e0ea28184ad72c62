"""Uploads against the local S3 server: bytes, progress, failures, throttling, boto3."""

import base64
import functools
import hashlib
import io
import os
import random
import threading
import time

import pytest
from boto3.s3.transfer import TransferConfig as Boto3TransferConfig
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.utils import OSUtils
from tests.helpers import RawBody, ReadOnlyStream

KB = 1024
MB = 1024 * KB

SIZES = [0, 1, 5 * MB - 1, 8 * MB - 1, 8 * MB, 8 * MB + 1, 3 * 8 * MB, 40 * MB + 3]
OFFSET_PREFIX = b'skip me'


@functools.lru_cache(maxsize=2)
def data_of(size):
    """Deterministic pseudo-random bytes, different at every offset."""
    return random.Random(size).randbytes(size)


class ProgressTotal:
    def __init__(self):
        self.total = 0

    def on_progress(self, bytes_transferred, **kwargs):
        self.total += bytes_transferred


def sha256_of_object(client, bucket, key):
    body = client.get_object(Bucket=bucket, Key=key)['Body']
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(MB), b''):
        digest.update(chunk)
    return digest.hexdigest()


def make_source(kind, data, tmp_path):
    if kind == 'filename':
        path = tmp_path / 'source'
        path.write_bytes(data)
        return str(path)
    if kind == 'seekable':
        return io.BytesIO(data)
    if kind == 'seekable-at-offset':
        fileobj = io.BytesIO(OFFSET_PREFIX + data)
        fileobj.seek(len(OFFSET_PREFIX))
        return fileobj
    if kind == 'pipe':
        return pipe_reader(data)
    return ReadOnlyStream(data)


def pipe_reader(data):
    """The read end of an OS pipe fed by a thread: a non-seekable BufferedReader."""
    read_fd, write_fd = os.pipe()

    def feed():
        try:
            with open(write_fd, 'wb') as writer:
                writer.write(data)
        except BrokenPipeError:
            pass  # the reader was closed early (a failed test)

    threading.Thread(target=feed, daemon=True).start()
    return open(read_fd, 'rb')


def record_sent_requests(client):
    """Operation names of the requests ``client`` actually sends, in order."""
    operations = []

    def record(event_name, **kwargs):
        operations.append(event_name.rsplit('.', 1)[-1])

    client.meta.events.register('before-send.s3', record)
    return operations


@pytest.mark.parametrize('size', SIZES, ids=lambda s: f'{s}B')
@pytest.mark.parametrize(
    'kind', ['filename', 'seekable', 'seekable-at-offset', 'non-seekable', 'pipe']
)
def test_upload_stores_exact_bytes_and_reports_progress(
    s3_client, bucket, tmp_path, kind, size
):
    data = data_of(size)
    progress = ProgressTotal()
    source = make_source(kind, data, tmp_path)
    try:
        with TransferManager(s3_client) as manager:
            manager.upload(source, bucket, 'obj', subscribers=[progress]).result()
    finally:
        if kind == 'pipe':
            source.close()
    assert (
        sha256_of_object(s3_client, bucket, 'obj') == hashlib.sha256(data).hexdigest()
    )
    assert progress.total == size


@pytest.mark.parametrize('kind', ['filename', 'seekable', 'non-seekable'])
def test_small_upload_reports_its_size_once(s3_client, bucket, tmp_path, kind):
    # Checksum and signature pre-reads are not progress; closing the body flushes.
    amounts = []

    class Progress:
        def on_progress(self, bytes_transferred, **kwargs):
            amounts.append(bytes_transferred)

    with TransferManager(s3_client) as manager:
        source = make_source(kind, data_of(100), tmp_path)
        manager.upload(source, bucket, 'obj', subscribers=[Progress()]).result()
    assert amounts == [100]


def deny_upload_part(request, **kwargs):
    """Answer every UploadPart with a non-retryable error, without sending it."""
    body = b'<Error><Code>AccessDenied</Code><Message>no parts</Message></Error>'
    return AWSResponse(request.url, 403, {}, RawBody(body))


def test_failing_parts_abort_the_multipart_upload(make_s3_client, bucket):
    client = make_s3_client()
    client.meta.events.register('before-send.s3.UploadPart', deny_upload_part)
    operations = record_sent_requests(client)
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    with TransferManager(client, config) as manager:
        future = manager.upload(io.BytesIO(bytes(11 * MB)), bucket, 'obj')
        with pytest.raises(ClientError, match='AccessDenied'):
            future.result()
    assert operations[0] == 'CreateMultipartUpload'
    assert operations[-1] == 'AbortMultipartUpload'
    assert 1 <= operations.count('UploadPart') <= 3
    assert 'CompleteMultipartUpload' not in operations
    assert client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []


def test_max_bandwidth_throttles_an_upload(s3_client, bucket, tmp_path):
    path = tmp_path / 'source'
    path.write_bytes(bytes(20 * MB))
    config = TransferConfig(max_bandwidth=4 * MB)
    with TransferManager(s3_client, config) as manager:
        start = time.monotonic()
        manager.upload(str(path), bucket, 'obj').result()
        elapsed = time.monotonic() - start
    assert 4.0 <= elapsed <= 6.0
    assert s3_client.head_object(Bucket=bucket, Key='obj')['ContentLength'] == 20 * MB


def test_missing_file_fails_without_any_request(make_s3_client, bucket, tmp_path):
    client = make_s3_client()
    operations = record_sent_requests(client)
    with TransferManager(client) as manager:
        future = manager.upload(str(tmp_path / 'missing'), bucket, 'obj')
        with pytest.raises(FileNotFoundError):
            future.result()
    assert operations == []


class UnreadableOSUtils(OSUtils):
    """Opening the file fails as it would for a file we may not read.

    Tests run as root, which bypasses file permissions, so the denial is simulated at
    the ``osutil.open`` seam that every upload body uses.
    """

    def open(self, filename, mode):
        raise PermissionError(13, 'Permission denied', filename)


@pytest.mark.parametrize(
    'size, expected_operations',
    [
        (100, []),
        (6 * MB, ['CreateMultipartUpload', 'AbortMultipartUpload']),
    ],
)
def test_unreadable_file_fails_with_permission_error(
    make_s3_client, bucket, tmp_path, size, expected_operations
):
    path = tmp_path / 'secret'
    path.write_bytes(bytes(size))
    client = make_s3_client()
    operations = record_sent_requests(client)
    config = TransferConfig(multipart_threshold=5 * MB, max_request_concurrency=1)
    with TransferManager(client, config, osutil=UnreadableOSUtils()) as manager:
        future = manager.upload(str(path), bucket, 'obj')
        with pytest.raises(PermissionError):
            future.result()
    # A refused body fails the request before anything is sent.
    assert operations == expected_operations
    assert client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []


def boto3_kwargs(s3_endpoint):
    return {
        'endpoint_url': s3_endpoint,
        'config': Config(s3={'addressing_style': 'path'}),
    }


def run_boto3_upload(session, s3_endpoint, entry, bucket, data, tmp_path, **kwargs):
    path = tmp_path / 'source'
    path.write_bytes(data)
    client = session.client('s3', **boto3_kwargs(s3_endpoint))
    resource = session.resource('s3', **boto3_kwargs(s3_endpoint))
    if entry == 'client.upload_file':
        client.upload_file(str(path), bucket, 'obj', **kwargs)
    elif entry == 'client.upload_fileobj':
        with open(path, 'rb') as f:
            client.upload_fileobj(f, bucket, 'obj', **kwargs)
    elif entry == 'Bucket.upload_file':
        resource.Bucket(bucket).upload_file(str(path), 'obj', **kwargs)
    else:
        with open(path, 'rb') as f:
            resource.Object(bucket, 'obj').upload_fileobj(f, **kwargs)


@pytest.mark.parametrize('size', [100 * KB, 6 * MB], ids=['put', 'multipart'])
@pytest.mark.parametrize(
    'entry',
    [
        'client.upload_file',
        'client.upload_fileobj',
        'Bucket.upload_file',
        'Object.upload_fileobj',
    ],
)
def test_boto3_upload_entry_points(
    boto3_session, s3_endpoint, s3_client, bucket, tmp_path, entry, size
):
    data = data_of(size)
    seen = []
    extra_args = {
        'ContentType': 'text/x-test',
        'Metadata': {'origin': 'boto3'},
        'ChecksumAlgorithm': 'SHA256',
    }
    config = Boto3TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    kwargs = {'ExtraArgs': extra_args, 'Callback': seen.append, 'Config': config}
    run_boto3_upload(
        boto3_session, s3_endpoint, entry, bucket, data, tmp_path, **kwargs
    )
    head = s3_client.head_object(Bucket=bucket, Key='obj', ChecksumMode='ENABLED')
    assert head['ContentType'] == 'text/x-test'
    assert head['Metadata'] == {'origin': 'boto3'}
    assert (
        sha256_of_object(s3_client, bucket, 'obj') == hashlib.sha256(data).hexdigest()
    )
    assert sum(seen) == size
    if size < config.multipart_threshold:
        expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
        assert head['ChecksumSHA256'] == expected
    else:
        assert head['ChecksumSHA256']  # the server's composite of the part checksums
