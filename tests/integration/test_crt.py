"""CRT transfers over plain http against the local moto server (needs awscrt)."""

import io
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from s3transfer.exceptions import CancelledError

pytest.importorskip('awscrt')

import awscrt.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from s3transfer import crt  # noqa: E402
from s3transfer.subscribers import BaseSubscriber  # noqa: E402
from tests.conftest import REPO_ROOT  # noqa: E402

MiB = 1024 * 1024
SIZES = [0, 1, 8 * MiB + 1, 40 * MiB + 3]
WAIT = 60


class RecordingSubscriber(BaseSubscriber):
    """Records progress and signals the first progress event."""

    def __init__(self):
        self.amounts = []
        self.first_progress = threading.Event()

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.amounts.append(bytes_transferred)
        self.first_progress.set()


class GatedReader:
    """A non-seekable body that yields one chunk, then waits for ``gate``."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)
        self.first_read = threading.Event()
        self.gate = threading.Event()

    def read(self, amt=None):
        if self.first_read.is_set():
            self.gate.wait(WAIT)
        self.first_read.set()
        return self._stream.read(amt)


class NonSeekableReader:
    """A readable object with only ``read`` (like the CLI's stdin wrapper)."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)

    def read(self, amt=None):
        return self._stream.read(amt)


class GateOpeningClient:
    """Wraps a CRT client so cancelling a request also opens ``gate``.

    A ``GatedReader`` body then unblocks only once the request is cancelled,
    so the upload is certainly still running when it is cancelled.
    """

    def __init__(self, client, gate):
        self._client = client
        self._gate = gate

    def make_request(self, **kwargs):
        return GateOpeningRequest(self._client.make_request(**kwargs), self._gate)


class GateOpeningRequest:
    def __init__(self, request, gate):
        self._request = request
        self._gate = gate
        self.finished_future = request.finished_future

    def cancel(self):
        self._request.cancel()
        self._gate.set()


@pytest.fixture(scope='module')
def crt_client(make_s3_client):
    credentials = make_s3_client()._get_credentials()
    provider = crt.BotocoreCRTCredentialsWrapper(
        credentials
    ).to_crt_credentials_provider()
    return crt.create_s3_crt_client(
        'us-east-1', crt_credentials_provider=provider, use_ssl=False
    )


@pytest.fixture(scope='module')
def serializer(s3_endpoint):
    return crt.BotocoreCRTRequestSerializer(
        botocore.session.Session(),
        {'region_name': 'us-east-1', 'endpoint_url': s3_endpoint},
    )


@pytest.fixture
def manager(crt_client, serializer):
    with crt.CRTTransferManager(crt_client, serializer) as transfer_manager:
        yield transfer_manager


def _write_file(path, size):
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize('size', SIZES)
def test_file_upload_download_delete_round_trip(
    tmp_path, manager, s3_client, bucket, size
):
    source = tmp_path / 'source'
    data = _write_file(source, size)
    upload_progress = RecordingSubscriber()
    manager.upload(str(source), bucket, 'key', subscribers=[upload_progress]).result(
        WAIT
    )
    assert s3_client.head_object(Bucket=bucket, Key='key')['ContentLength'] == size

    target = tmp_path / 'downloads' / 'target'
    target.parent.mkdir()
    download_progress = RecordingSubscriber()
    future = manager.download(
        bucket, 'key', str(target), subscribers=[download_progress]
    )
    future.result(WAIT)
    assert target.read_bytes() == data  # renamed before result() returned
    assert os.listdir(target.parent) == ['target']
    assert sum(upload_progress.amounts) == size
    assert sum(download_progress.amounts) == size

    manager.delete(bucket, 'key').result(WAIT)
    with pytest.raises(ClientError) as error:
        s3_client.head_object(Bucket=bucket, Key='key')
    assert error.value.response['Error']['Code'] == '404'


def test_downloaded_file_is_in_place_when_result_returns(tmp_path, manager, bucket):
    # CRT finishes a request's future before it runs on_done, where the temp file
    # is renamed: result() must wait for that, every time.
    manager.upload(io.BytesIO(b'data'), bucket, 'key').result(WAIT)
    for i in range(20):
        target = tmp_path / f'target-{i}'
        manager.download(bucket, 'key', str(target)).result(WAIT)
        assert target.read_bytes() == b'data'
    assert sorted(os.listdir(tmp_path)) == sorted(f'target-{i}' for i in range(20))


@pytest.mark.parametrize('size', [0, 1, 8 * MiB + 1])
def test_stream_upload_and_download_are_byte_identical(manager, bucket, size):
    data = os.urandom(size)
    manager.upload(NonSeekableReader(data), bucket, 'key').result(WAIT)
    received = io.BytesIO()
    manager.download(bucket, 'key', received).result(WAIT)
    assert received.getvalue() == data


def test_upload_with_extra_args_applies_them_and_keeps_callers_dict(
    tmp_path, manager, s3_client, bucket
):
    source = tmp_path / 'source'
    data = _write_file(source, 1000)
    extra_args = {'ChecksumAlgorithm': 'sha256', 'ContentType': 'text/plain'}
    manager.upload(str(source), bucket, 'key', extra_args=extra_args).result(WAIT)
    response = s3_client.get_object(Bucket=bucket, Key='key')
    assert response['ContentType'] == 'text/plain'
    assert response['Body'].read() == data
    assert extra_args == {'ChecksumAlgorithm': 'sha256', 'ContentType': 'text/plain'}


def test_download_of_missing_key_raises_botocore_error_and_leaves_no_file(
    tmp_path, manager, bucket
):
    target = tmp_path / 'target'
    future = manager.download(bucket, 'missing', str(target))
    with pytest.raises(ClientError) as error:
        future.result(WAIT)
    assert error.value.response['Error']['Code'] == '404'
    assert isinstance(error.value.__cause__, awscrt.s3.S3ResponseError)
    manager.shutdown()
    assert os.listdir(tmp_path) == []


def _wait_for_directory_entry(directory):
    deadline = time.monotonic() + WAIT
    while not os.listdir(directory) and time.monotonic() < deadline:
        time.sleep(0.001)
    return os.listdir(directory)


def test_cancel_running_download_raises_and_removes_temp_file(
    tmp_path, crt_client, serializer, s3_client, bucket
):
    s3_client.put_object(Bucket=bucket, Key='key', Body=os.urandom(40 * MiB + 3))
    manager = crt.CRTTransferManager(crt_client, serializer)
    future = manager.download(bucket, 'key', str(tmp_path / 'target'))
    [temp_name] = _wait_for_directory_entry(tmp_path)
    assert temp_name.startswith('target.')
    assert not future.done()
    future.cancel()
    # Both the spec's CRT error and the CancelledError users catch.
    with pytest.raises(CancelledError) as error:
        future.result(WAIT)
    assert isinstance(error.value, awscrt.exceptions.AwsCrtError)
    assert error.value.name == 'AWS_ERROR_S3_CANCELED'
    manager.shutdown()
    assert os.listdir(tmp_path) == []


def test_exiting_context_with_error_cancels_in_flight_upload(
    crt_client, serializer, s3_client, bucket
):
    body = GatedReader(os.urandom(16 * MiB + 3))
    gated_client = GateOpeningClient(crt_client, body.gate)
    try:
        with pytest.raises(RuntimeError, match='boom'):
            with crt.CRTTransferManager(gated_client, serializer) as manager:
                future = manager.upload(body, bucket, 'key')
                assert body.first_read.wait(WAIT)
                raise RuntimeError('boom')
    finally:
        body.gate.set()
    assert future.done()
    with pytest.raises(awscrt.exceptions.AwsCrtError) as error:
        future.result(WAIT)
    assert error.value.name == 'AWS_ERROR_S3_CANCELED'
    assert 'Contents' not in s3_client.list_objects_v2(Bucket=bucket)


def test_boto3_crt_transfer_config_uses_our_crt_manager(
    tmp_path, monkeypatch, s3_endpoint, serializer, bucket
):
    import boto3
    import boto3.crt
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    # boto3 would serialize for the real AWS endpoint over TLS; point it here.
    monkeypatch.setattr(boto3.crt, 'CRT_S3_CLIENT', None)
    monkeypatch.setattr(boto3.crt, 'BOTOCORE_CRT_SERIALIZER', None)
    monkeypatch.setattr(
        boto3.crt, '_create_crt_request_serializer', lambda *args: serializer
    )
    monkeypatch.setattr(
        boto3.crt,
        '_create_crt_client',
        lambda session, config, region_name, cred_provider: crt.create_s3_crt_client(
            region=region_name, use_ssl=False, crt_credentials_provider=cred_provider
        ),
    )
    client = boto3.client(
        's3',
        region_name='us-east-1',
        endpoint_url=s3_endpoint,
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        aws_session_token='testing',
    )
    config = TransferConfig(preferred_transfer_client='crt')
    manager = create_transfer_manager(client, config)
    assert type(manager) is crt.CRTTransferManager
    manager.shutdown()

    source = tmp_path / 'source'
    data = _write_file(source, 8 * MiB + 1)
    seen = []
    client.upload_file(str(source), bucket, 'key', Config=config, Callback=seen.append)
    target = tmp_path / 'target'
    client.download_file(bucket, 'key', str(target), Config=config)
    assert target.read_bytes() == data
    assert sum(seen) == len(data)
    assert boto3.crt.CRT_S3_CLIENT.crt_client is not None


_LOCK_SCRIPT = textwrap.dedent(
    """
    import sys
    from s3transfer.crt import acquire_crt_s3_process_lock
    lock = acquire_crt_s3_process_lock(sys.argv[1])
    print('held' if lock is not None else 'none', flush=True)
    sys.stdin.readline()
    """
)


def _start_lock_process(name):
    return subprocess.Popen(
        [sys.executable, '-c', _LOCK_SCRIPT, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,  # `python -c` imports s3transfer from this checkout
    )


def _finish(process):
    process.communicate('\n', timeout=WAIT)
    assert process.returncode == 0


def test_process_lock_is_exclusive_across_processes():
    name = f's3transfer-test-{uuid.uuid4().hex[:12]}'
    first = _start_lock_process(name)
    try:
        assert first.stdout.readline().strip() == 'held'
        second = _start_lock_process(name)
        assert second.stdout.readline().strip() == 'none'
        _finish(second)
    finally:
        _finish(first)
    third = _start_lock_process(name)
    assert third.stdout.readline().strip() == 'held'
    _finish(third)
