"""Unit tests of s3transfer.crt with a fake CRT S3 client (no sockets)."""

import io
import logging
import threading
from concurrent.futures import Future

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, InvalidConfigError, NoCredentialsError

from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.utils import CallArgs, OSUtils

MRAP_ARN = 'arn:aws:s3::111122223333:accesspoint/abcd1234.mrap'
EXPRESS_BUCKET = 'mybucket--usw2-az1--x-s3'
OLAP_ARN = 'arn:aws:s3-object-lambda:eu-west-1:111122223333:accesspoint/olap-1'


# Everything below needs awscrt.


@pytest.fixture
def crt():
    pytest.importorskip('awscrt')
    from s3transfer import crt

    return crt


@pytest.fixture
def awscrt_s3(crt):
    import awscrt.s3

    return awscrt.s3


class FakeS3Request:
    def __init__(self, on_cancel=None):
        self.finished_future = Future()
        self.cancel_calls = 0
        self._on_cancel = on_cancel

    def cancel(self):
        self.cancel_calls += 1
        if self._on_cancel is not None and not self.finished_future.done():
            self._on_cancel()


class FakeCRTClient:
    """Records ``make_request`` calls and returns controllable requests."""

    def __init__(self, error=None):
        self.calls = []
        self.requests = []
        self.error = error

    def make_request(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        index = len(self.requests)
        # Like CRT, cancelling finishes the request with an error.
        request = FakeS3Request(
            on_cancel=lambda: self.finish(index, error=RuntimeError('cancelled'))
        )
        self.requests.append(request)
        return request

    def finish(self, index=-1, error=None, pause=0):
        """Finish a request as CRT does: the future first, then on_done (``pause``
        seconds later)."""
        future = self.requests[index].finished_future
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
        threading.Event().wait(pause)
        self.calls[index]['on_done'](error=error, status_code=None)


class Recorder:
    """Subscriber recording every callback it receives, in order."""

    def __init__(self, events=None):
        self.events = [] if events is None else events

    def on_queued(self, future, **kwargs):
        self.events.append(('queued', future.meta.transfer_id))

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.events.append(('progress', bytes_transferred))

    def on_done(self, future, **kwargs):
        self.events.append(('done', kwargs.get('error')))


@pytest.fixture
def serializer(crt):
    import botocore.session

    return crt.BotocoreCRTRequestSerializer(
        botocore.session.Session(), {'region_name': 'us-west-2'}
    )


@pytest.fixture
def crt_client():
    return FakeCRTClient()


@pytest.fixture
def manager(crt, crt_client, serializer):
    return crt.CRTTransferManager(crt_client, serializer)


def _headers(crt_request):
    return {name.lower(): value for name, value in crt_request.headers}


def _source_file(tmp_path, size=10):
    path = tmp_path / 'source'
    path.write_bytes(b'a' * size)
    return str(path)


# --- process lock -------------------------------------------------------------


class FakeLock:
    instances = []

    def __init__(self, name, fail=False):
        self.name = name
        self.acquire_calls = 0
        self.fail = fail
        FakeLock.instances.append(self)

    def acquire(self):
        self.acquire_calls += 1
        if self.fail:
            raise RuntimeError('held elsewhere')


def test_process_lock_is_created_once_and_reused(crt, awscrt_s3, monkeypatch):
    FakeLock.instances = []
    monkeypatch.setattr(crt, 'CRT_S3_PROCESS_LOCK', None)
    monkeypatch.setattr(awscrt_s3, 'CrossProcessLock', FakeLock)
    lock = crt.acquire_crt_s3_process_lock('boto3')
    assert crt.acquire_crt_s3_process_lock('boto3') is lock
    assert crt.CRT_S3_PROCESS_LOCK is lock
    assert [(lk.name, lk.acquire_calls) for lk in FakeLock.instances] == [('boto3', 1)]


def test_process_lock_held_elsewhere_returns_none(crt, awscrt_s3, monkeypatch):
    monkeypatch.setattr(crt, 'CRT_S3_PROCESS_LOCK', None)
    monkeypatch.setattr(
        awscrt_s3, 'CrossProcessLock', lambda name: FakeLock(name, fail=True)
    )
    assert crt.acquire_crt_s3_process_lock('boto3') is None
    assert crt.CRT_S3_PROCESS_LOCK is None


# --- client creation ----------------------------------------------------------


class Recorded:
    """Stand-in for an awscrt class: records its construction arguments."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def new_connection_options(self):
        return ('connection-options', self)

    def override_default_trust_store_from_path(self, ca_filepath):
        self.ca_filepath = ca_filepath


@pytest.fixture
def patched_crt_io(crt, monkeypatch):
    for name in [
        'S3Client',
        'EventLoopGroup',
        'DefaultHostResolver',
        'ClientBootstrap',
        'ClientTlsContext',
        'TlsContextOptions',
    ]:
        monkeypatch.setattr(crt, name, type(name, (Recorded,), {}))
    return crt


def test_create_s3_crt_client_passes_keywords(patched_crt_io, awscrt_s3, monkeypatch):
    crt = patched_crt_io
    monkeypatch.setattr(awscrt_s3, 'get_recommended_throughput_target_gbps', lambda: 5)
    client = crt.create_s3_crt_client('eu-west-1', 'provider', num_threads=3)
    kwargs = client.kwargs
    bootstrap = kwargs.pop('bootstrap')
    elg, resolver = bootstrap.args
    assert elg.args == (3,)
    assert resolver.args == (elg,)
    assert kwargs == {
        'region': 'eu-west-1',
        'credential_provider': 'provider',
        'part_size': 8 * 1024 * 1024,
        'tls_mode': awscrt_s3.S3RequestTlsMode.ENABLED,
        'tls_connection_options': None,
        'throughput_target_gbps': 5,
        'enable_s3express': True,
    }


def test_create_s3_crt_client_without_ssl_and_explicit_throughput(patched_crt_io):
    import awscrt.s3

    client = patched_crt_io.create_s3_crt_client(
        'us-east-1', target_throughput=250_000_000, part_size=5, use_ssl=False
    )
    assert client.kwargs['tls_mode'] == awscrt.s3.S3RequestTlsMode.DISABLED
    assert client.kwargs['throughput_target_gbps'] == 2.0
    assert client.kwargs['part_size'] == 5


def test_throughput_falls_back_to_ten_gbps(crt, awscrt_s3, monkeypatch):
    monkeypatch.setattr(
        awscrt_s3, 'get_recommended_throughput_target_gbps', lambda: None
    )
    assert crt._get_crt_throughput_target_gbps() == 10.0


def test_verify_ca_bundle_path_overrides_trust_store(patched_crt_io):
    client = patched_crt_io.create_s3_crt_client('us-east-1', verify='/ca.pem')
    label, tls_context = client.kwargs['tls_connection_options']
    [options] = tls_context.args
    assert label == 'connection-options'
    assert options.ca_filepath == '/ca.pem'


def test_verify_false_disables_peer_verification(patched_crt_io):
    client = patched_crt_io.create_s3_crt_client('us-east-1', verify=False)
    [options] = client.kwargs['tls_connection_options'][1].args
    assert options.verify_peer is False


@pytest.mark.parametrize('verify', ['', '   ', '\t\n'])
def test_blank_ca_bundle_is_rejected(patched_crt_io, verify):
    with pytest.raises(InvalidConfigError) as error:
        patched_crt_io.create_s3_crt_client('us-east-1', verify=verify)
    assert str(error.value) == (
        'Invalid CA bundle: the configured value (ca_bundle, AWS_CA_BUNDLE, '
        'REQUESTS_CA_BUNDLE, or verify) resolved to an empty or whitespace-only '
        'string. Provide a valid path to a CA bundle file.'
    )


def test_real_crt_client_can_be_created(crt):
    import awscrt.s3

    client = crt.create_s3_crt_client('us-east-1', use_ssl=False)
    assert isinstance(client, awscrt.s3.S3Client)


@pytest.mark.parametrize(
    ('version', 'expected'),
    [('0.29.0', True), ('0.30.1', True), ('0.28.9', False), ('1.0.0.dev1', False)],
)
def test_has_minimum_crt_version(crt, monkeypatch, version, expected):
    import awscrt

    monkeypatch.setattr(awscrt, '__version__', version)
    assert crt._has_minimum_crt_version((0, 29, 0)) is expected


# --- manager: construction and validation ---------------------------------------


def test_manager_class_attributes_match_classic_manager(crt):
    manager_cls = crt.CRTTransferManager
    assert manager_cls.ALLOWED_UPLOAD_ARGS is TransferManager.ALLOWED_UPLOAD_ARGS
    assert manager_cls.ALLOWED_DOWNLOAD_ARGS is TransferManager.ALLOWED_DOWNLOAD_ARGS
    assert manager_cls.ALLOWED_DELETE_ARGS is TransferManager.ALLOWED_DELETE_ARGS
    assert manager_cls.VALIDATE_SUPPORTED_BUCKET_VALUES is True
    assert not hasattr(manager_cls, 'copy')


def test_manager_accepts_an_osutil(crt, crt_client, serializer, tmp_path):
    class SizeOverridingOSUtils(OSUtils):
        def get_file_size(self, filename):
            return 3

    manager = crt.CRTTransferManager(
        crt_client, serializer, osutil=SizeOverridingOSUtils()
    )
    manager.upload(_source_file(tmp_path), 'bucket', 'key')
    assert _headers(crt_client.calls[0]['request'])['content-length'] == '3'


def test_manager_keywords_as_boto3_passes_them(crt, crt_client, serializer):
    manager = crt.CRTTransferManager(
        crt_s3_client=crt_client, crt_request_serializer=serializer, config=None
    )
    manager.delete('bucket', 'key')
    assert len(crt_client.calls) == 1


def test_invalid_extra_arg_is_rejected(manager, crt_client):
    with pytest.raises(ValueError) as error:
        manager.delete('bucket', 'key', extra_args={'Bogus': 1})
    assert str(error.value) == (
        "Invalid extra_args key 'Bogus', must be one of: MFA, VersionId, "
        'RequestPayer, ExpectedBucketOwner'
    )
    assert crt_client.calls == []


@pytest.mark.parametrize('method', ['upload', 'download', 'delete'])
def test_object_lambda_bucket_is_rejected(manager, method):
    call = {
        'upload': lambda: manager.upload('f', OLAP_ARN, 'key'),
        'download': lambda: manager.download(OLAP_ARN, 'key', 'f'),
        'delete': lambda: manager.delete(OLAP_ARN, 'key'),
    }[method]
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == (
        'TransferManager methods do not support S3 Object Lambda resource. '
        'Use direct client calls instead.'
    )


def test_bucket_validation_can_be_disabled(manager, crt_client):
    manager.VALIDATE_SUPPORTED_BUCKET_VALUES = False
    manager.delete(OLAP_ARN, 'key')
    assert len(crt_client.calls) == 1


def test_unsupported_checksum_algorithm_is_rejected(manager, awscrt_s3):
    with pytest.raises(ValueError) as error:
        manager.upload('f', 'bucket', 'key', extra_args={'ChecksumAlgorithm': 'md5'})
    supported = list(awscrt_s3.S3ChecksumAlgorithm.__members__)
    assert str(error.value) == (
        f'ChecksumAlgorithm: md5 not supported. Supported algorithms are: {supported}'
    )


# --- manager: make_request arguments -----------------------------------------------


def test_upload_from_file_request_arguments(manager, crt_client, tmp_path, awscrt_s3):
    filename = _source_file(tmp_path, size=10)
    manager.upload(filename, 'bucket', 'key')
    [call] = crt_client.calls
    assert set(call) == {
        'request',
        'type',
        'send_filepath',
        'on_progress',
        'on_done',
        'checksum_config',
    }
    assert call['type'] == awscrt_s3.S3RequestType.PUT_OBJECT
    assert call['send_filepath'] == filename
    assert call['checksum_config'].algorithm == awscrt_s3.S3ChecksumAlgorithm.CRC32
    assert call['checksum_config'].location == awscrt_s3.S3ChecksumLocation.TRAILER
    request = call['request']
    assert (request.method, request.path) == ('PUT', '/key')
    headers = _headers(request)
    assert headers['content-length'] == '10'
    assert headers['host'] == 'bucket.s3.us-west-2.amazonaws.com'
    for absent in ['authorization', 'content-md5', 'x-amz-sdk-checksum-algorithm']:
        assert absent not in headers


def test_upload_does_not_mutate_callers_extra_args(manager, crt_client, tmp_path):
    extra_args = {'ChecksumAlgorithm': 'sha256', 'ContentType': 'text/plain'}
    future = manager.upload(_source_file(tmp_path), 'bucket', 'key', extra_args)
    assert extra_args == {'ChecksumAlgorithm': 'sha256', 'ContentType': 'text/plain'}
    assert future.meta.call_args.extra_args is not extra_args


def test_upload_explicit_checksum_algorithm(manager, crt_client, tmp_path, awscrt_s3):
    manager.upload(
        _source_file(tmp_path),
        'bucket',
        'key',
        extra_args={'ChecksumAlgorithm': 'sha256'},
    )
    call = crt_client.calls[0]
    assert call['checksum_config'].algorithm == awscrt_s3.S3ChecksumAlgorithm.SHA256
    headers = _headers(call['request'])
    assert 'x-amz-sdk-checksum-algorithm' not in headers
    assert 'x-amz-trailer' not in headers


def test_upload_full_object_checksum_is_sent_as_header(manager, crt_client, tmp_path):
    manager.upload(
        _source_file(tmp_path),
        'bucket',
        'key',
        extra_args={'ChecksumCRC32': 'AAAAAA=='},
    )
    call = crt_client.calls[0]
    assert call['checksum_config'] is None
    assert _headers(call['request'])['x-amz-checksum-crc32'] == 'AAAAAA=='


def test_upload_from_non_seekable_stream(manager, crt_client):
    class Reader:
        def read(self, amt=None):
            return b''

    manager.upload(Reader(), 'bucket', 'key')
    call = crt_client.calls[0]
    assert call['send_filepath'] is None
    assert call['request'].body_stream is not None
    headers = _headers(call['request'])
    for absent in ['content-length', 'transfer-encoding', 'content-md5']:
        assert absent not in headers


def test_download_to_file_request_arguments(manager, crt_client, awscrt_s3):
    manager.download('bucket', 'key', '/some/dir/target', extra_args={'VersionId': 'v'})
    [call] = crt_client.calls
    assert set(call) == {
        'request',
        'type',
        'recv_filepath',
        'on_progress',
        'on_done',
        'on_body',
        'checksum_config',
    }
    assert call['type'] == awscrt_s3.S3RequestType.GET_OBJECT
    assert call['recv_filepath'].startswith('/some/dir/target.')
    assert call['on_body'] is None
    assert call['checksum_config'].validate_response is True
    request = call['request']
    assert (request.method, request.path) == ('GET', '/key?versionId=v')
    assert _headers(request)['host'] == 'bucket.s3.us-west-2.amazonaws.com'
    assert _headers(request)['content-length'] == '0'


def test_download_to_stream_writes_chunks(manager, crt_client):
    target = io.BytesIO()
    manager.download('bucket', 'key', target)
    call = crt_client.calls[0]
    assert call['recv_filepath'] is None
    call['on_body'](chunk=b'ab', offset=0)
    call['on_body'](chunk=b'cd', offset=2)
    assert target.getvalue() == b'abcd'


def test_delete_request_arguments(manager, crt_client, awscrt_s3):
    manager.delete('bucket', 'key')
    [call] = crt_client.calls
    assert set(call) == {'request', 'type', 'operation_name', 'on_progress', 'on_done'}
    assert call['type'] == awscrt_s3.S3RequestType.DEFAULT
    assert call['operation_name'] == 'DeleteObject'
    request = call['request']
    assert (request.method, request.path) == ('DELETE', '/key')
    assert _headers(request)['content-length'] == '0'


def test_mrap_bucket_uses_asymmetric_signing(manager, crt_client, awscrt_s3):
    from awscrt.auth import AwsSigningAlgorithm

    future = manager.delete(MRAP_ARN, 'key')
    call = crt_client.calls[0]
    signing_config = call['signing_config']
    assert signing_config.algorithm == AwsSigningAlgorithm.V4_ASYMMETRIC
    assert signing_config.region == '*'
    assert signing_config.use_double_uri_encode is False
    assert signing_config.should_normalize_uri_path is False
    headers = _headers(call['request'])
    assert headers['host'] == 'abcd1234.mrap.accesspoint.s3-global.amazonaws.com'
    assert call['request'].path == '/key'
    assert future.meta.call_args.bucket == 'abcd1234.mrap'


def test_s3express_bucket_uses_s3express_signing(manager, crt_client):
    from awscrt.auth import AwsSigningAlgorithm

    manager.download(EXPRESS_BUCKET, 'key', io.BytesIO())
    call = crt_client.calls[0]
    assert call['signing_config'].algorithm == AwsSigningAlgorithm.V4_S3EXPRESS
    assert _headers(call['request'])['host'] == (
        f'{EXPRESS_BUCKET}.s3express-usw2-az1.us-west-2.amazonaws.com'
    )


def test_config_options_are_passed(crt, crt_client, serializer, tmp_path):
    config = TransferConfig(
        multipart_threshold=20, multipart_chunksize=6, max_request_concurrency=4
    )
    manager = crt.CRTTransferManager(crt_client, serializer, config=config)
    manager.upload(_source_file(tmp_path), 'bucket', 'key')
    manager.download('bucket', 'key', io.BytesIO())
    manager.delete('bucket', 'key')
    upload, download, delete = crt_client.calls
    assert (
        upload['part_size'],
        upload['max_active_connections_override'],
        upload['multipart_upload_threshold'],
    ) == (6, 4, 20)
    assert (download['part_size'], download['max_active_connections_override']) == (
        6,
        4,
    )
    assert 'multipart_upload_threshold' not in download
    assert 'part_size' not in delete


def test_unset_config_options_become_none(crt, crt_client, serializer):
    unset = TransferConfig.UNSET_DEFAULT
    config = TransferConfig(multipart_chunksize=unset, max_request_concurrency=unset)
    manager = crt.CRTTransferManager(crt_client, serializer, config=config)
    manager.download('bucket', 'key', io.BytesIO())
    call = crt_client.calls[0]
    assert call['part_size'] is None
    assert call['max_active_connections_override'] is None


def test_boto3_config_unset_values_and_defaults(crt, crt_client, serializer, tmp_path):
    from boto3.s3.transfer import TransferConfig as Boto3TransferConfig

    config = Boto3TransferConfig(preferred_transfer_client='crt', max_concurrency=3)
    manager = crt.CRTTransferManager(crt_client, serializer, config=config)
    manager.upload(_source_file(tmp_path), 'bucket', 'key')
    call = crt_client.calls[0]
    assert call['part_size'] is None
    assert call['max_active_connections_override'] == 3
    assert call['multipart_upload_threshold'] == 8 * 1024 * 1024


def test_old_crt_drops_max_concurrency_with_warning(
    crt, crt_client, serializer, monkeypatch, caplog
):
    import awscrt

    monkeypatch.setattr(awscrt, '__version__', '0.28.0')
    config = TransferConfig(max_request_concurrency=4)
    manager = crt.CRTTransferManager(crt_client, serializer, config=config)
    with caplog.at_level(logging.WARNING, logger='s3transfer.crt'):
        manager.download('bucket', 'key', io.BytesIO())
    assert 'max_active_connections_override' not in crt_client.calls[0]
    assert caplog.messages == [
        'Transfer config parameter max_request_concurrency requires minimum CRT '
        'version: 0.29.0. max_request_concurrency will not be used in the request.'
    ]


def test_old_crt_without_explicit_concurrency_does_not_warn(
    crt, crt_client, serializer, monkeypatch, caplog
):
    import awscrt

    monkeypatch.setattr(awscrt, '__version__', '0.28.0')
    config = TransferConfig(max_request_concurrency=TransferConfig.UNSET_DEFAULT)
    manager = crt.CRTTransferManager(crt_client, serializer, config=config)
    with caplog.at_level(logging.WARNING, logger='s3transfer.crt'):
        manager.download('bucket', 'key', io.BytesIO())
    assert 'max_active_connections_override' not in crt_client.calls[0]
    assert caplog.messages == []


# --- manager: futures, callbacks, shutdown --------------------------------------


def test_transfer_ids_and_call_args(manager):
    first = manager.delete('bucket', 'a')
    second = manager.download('bucket', 'b', 'target')
    assert (first.meta.transfer_id, second.meta.transfer_id) == (0, 1)
    call_args = second.meta.call_args
    assert (call_args.bucket, call_args.key, call_args.fileobj) == (
        'bucket',
        'b',
        'target',
    )
    assert call_args.extra_args == {}
    assert call_args.subscribers == {}
    assert second.meta.user_context == {}


def test_subscriber_callbacks_in_order(manager, crt_client):
    events = []
    future = manager.delete('bucket', 'key', subscribers=[Recorder(events)])
    assert events == [('queued', 0)]
    crt_client.calls[0]['on_progress'](5)
    assert not future.done()
    crt_client.finish()
    assert future.done()
    assert events == [('queued', 0), ('progress', 5), ('done', None)]
    assert future.result() is None


def test_result_raises_translated_client_error(manager, crt_client, awscrt_s3):
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
        b'<Message>The specified key does not exist.</Message></Error>'
    )
    error = awscrt_s3.S3ResponseError(
        code=14343,
        name='AWS_ERROR_S3_INVALID_RESPONSE_STATUS',
        message='Invalid response status from request',
        status_code=404,
        headers=[('Content-Type', 'application/xml')],
        body=body,
        operation_name='GetObject',
    )
    future = manager.download('bucket', 'key', io.BytesIO())
    crt_client.finish(error=error)
    with pytest.raises(ClientError) as raised:
        future.result()
    assert type(raised.value).__name__ == 'NoSuchKey'
    assert raised.value.operation_name == 'GetObject'
    assert raised.value.response['Error']['Code'] == 'NoSuchKey'
    assert raised.value.__cause__ is error


def test_bodiless_error_becomes_generic_client_error(serializer, awscrt_s3):
    error = awscrt_s3.S3ResponseError(
        code=14343,
        name='AWS_ERROR_S3_INVALID_RESPONSE_STATUS',
        message='Invalid response status from request',
        status_code=403,
        headers=[],
        body=None,
        operation_name='HeadObject',
    )
    translated = serializer.translate_crt_exception(error)
    assert type(translated) is ClientError
    assert translated.response['Error']['Code'] == '403'


def test_non_error_statuses_and_other_errors_are_not_translated(serializer, awscrt_s3):
    error = awscrt_s3.S3ResponseError(
        code=1, name='X', message='m', status_code=200, headers=[], body=b''
    )
    assert serializer.translate_crt_exception(error) is None
    assert serializer.translate_crt_exception(ValueError('x')) is None


def test_untranslated_error_is_raised_as_is(manager, crt_client):
    from awscrt.exceptions import AwsCrtError

    error = AwsCrtError(code=1, name='AWS_ERROR_S3_OTHER', message='other')
    future = manager.delete('bucket', 'key')
    crt_client.finish(error=error)
    with pytest.raises(AwsCrtError) as raised:
        future.result()
    assert raised.value is error


def test_cancellation_is_raised_as_cancelled_error_and_crt_error(manager, crt_client):
    from awscrt.exceptions import AwsCrtError

    from s3transfer.exceptions import CancelledError

    error = AwsCrtError(code=7, name='AWS_ERROR_S3_CANCELED', message='cancelled')
    future = manager.delete('bucket', 'key')
    crt_client.finish(error=error)
    with pytest.raises(CancelledError) as raised:
        future.result()
    assert isinstance(raised.value, AwsCrtError)
    assert (raised.value.code, raised.value.name) == (7, 'AWS_ERROR_S3_CANCELED')
    assert raised.value.__cause__ is error


def test_failed_submission_reports_done_and_runs_done_callbacks(crt, serializer):
    error = RuntimeError('make_request failed')
    crt_client = FakeCRTClient(error=error)
    manager = crt.CRTTransferManager(crt_client, serializer)
    events = []
    future = manager.delete('bucket', 'key', subscribers=[Recorder(events)])
    assert future.done()
    assert events == [('queued', 0), ('done', error)]
    with pytest.raises(RuntimeError, match='make_request failed'):
        future.result()
    manager.shutdown()  # returns: the done callbacks completed
    assert manager._semaphore._value == 128


def test_semaphore_released_when_done(manager, crt_client):
    manager.delete('bucket', 'key')
    assert manager._semaphore._value == 127
    crt_client.finish()
    assert manager._semaphore._value == 128


def test_future_set_exception(manager, crt_client, crt):
    future = manager.delete('bucket', 'key')
    with pytest.raises(crt.TransferNotDoneError) as error:
        future.set_exception(ValueError('late'))
    assert str(error.value) == (
        'set_exception can only be called once the transfer is complete.'
    )
    crt_client.finish()
    future.set_exception(ValueError('late'))
    with pytest.raises(ValueError, match='late'):
        future.result()


def test_shutdown_waits_for_transfers_and_done_callbacks(manager, crt_client):
    manager.delete('bucket', 'a')
    manager.delete('bucket', 'b')
    finisher = threading.Timer(0.05, lambda: [crt_client.finish(i) for i in (0, 1)])
    finisher.start()
    manager.shutdown()
    assert all(r.finished_future.done() for r in crt_client.requests)
    finisher.join()


def test_shutdown_cancel_cancels_unfinished(manager, crt_client):
    manager.delete('bucket', 'a')
    second = manager.delete('bucket', 'b')
    crt_client.finish(0)
    manager.shutdown(cancel=True)
    assert [r.cancel_calls for r in crt_client.requests] == [0, 1]
    with pytest.raises(RuntimeError, match='cancelled'):
        second.result()


def test_exit_with_exception_cancels_and_propagates(manager, crt_client):
    with pytest.raises(KeyError):
        with manager as entered:
            assert entered is manager
            future = manager.delete('bucket', 'a')
            raise KeyError('boom')
    assert crt_client.requests[0].cancel_calls == 1
    assert future.done()


def test_shutdown_swallows_transfer_errors(manager, crt_client):
    first = manager.delete('bucket', 'a')
    manager.delete('bucket', 'b')
    crt_client.finish(0, error=RuntimeError('failed'))
    crt_client.finish(1)
    manager.shutdown()
    assert first.done()


def test_keyboard_interrupt_while_finishing_cancels_others_and_is_swallowed(
    manager, crt_client
):
    manager.delete('bucket', 'a')
    second = manager.delete('bucket', 'b')
    crt_client.finish(0, error=KeyboardInterrupt())
    manager.shutdown()
    assert [r.cancel_calls for r in crt_client.requests] == [1, 1]
    assert second.done()


# --- coordinator ------------------------------------------------------------------


def test_coordinator_keyboard_interrupt_cancels_and_reraises(crt):
    class InterruptingFuture:
        def __init__(self):
            self.calls = 0

        def result(self, timeout=None):
            self.calls += 1
            if self.calls == 1:
                raise KeyboardInterrupt()

        def done(self):
            return True

    request = FakeS3Request()
    request.finished_future = InterruptingFuture()
    coordinator = crt.CRTTransferCoordinator(transfer_id=1)
    coordinator.set_s3_request(request)
    with pytest.raises(KeyboardInterrupt):
        coordinator.result()
    assert request.cancel_calls == 1
    assert request.finished_future.calls == 2
    assert coordinator.s3_request is None


def test_coordinator_set_exception_respects_done_state(crt):
    coordinator = crt.CRTTransferCoordinator()
    request = FakeS3Request()
    coordinator.set_s3_request(request)
    request.finished_future.set_result(None)
    coordinator.set_exception(ValueError('ignored'))
    coordinator.result()
    coordinator.set_exception(ValueError('kept'), override=True)
    with pytest.raises(ValueError, match='kept'):
        coordinator.result()


def test_coordinator_translator_errors_are_ignored(crt):
    def broken_translator(exc):
        raise TypeError('translator bug')

    coordinator = crt.CRTTransferCoordinator(exception_translator=broken_translator)
    error = OSError('original')
    with pytest.raises(OSError) as raised:
        coordinator.handle_exception(error)
    assert raised.value is error


def test_coordinator_done_callbacks_event(crt):
    coordinator = crt.CRTTransferCoordinator()
    assert not coordinator.done()
    coordinator.wait_until_on_done_callbacks_complete(timeout=0.01)
    coordinator.set_done_callbacks_complete()
    coordinator.wait_until_on_done_callbacks_complete()
    assert coordinator._done_event.is_set()


def test_meta_and_future_defaults(crt):
    future = crt.CRTTransferFuture()
    assert isinstance(future.meta, crt.CRTTransferMeta)
    assert future.meta.transfer_id is None
    assert future.meta.call_args is None
    meta = crt.CRTTransferMeta(7, CallArgs(bucket='b'))
    assert (meta.transfer_id, meta.call_args.bucket) == (7, 'b')


# --- done-callback helpers ----------------------------------------------------------


def test_rename_handler_moves_temp_file_on_success(crt, tmp_path):
    temp = tmp_path / 'file.tmp'
    temp.write_bytes(b'data')
    final = tmp_path / 'file'
    coordinator = crt.CRTTransferCoordinator()
    crt.RenameTempFileHandler(coordinator, str(final), str(temp), OSUtils())(error=None)
    assert final.read_bytes() == b'data'
    assert not temp.exists()


def test_rename_handler_removes_temp_file_on_error(crt, tmp_path):
    temp = tmp_path / 'file.tmp'
    temp.write_bytes(b'data')
    coordinator = crt.CRTTransferCoordinator()
    crt.RenameTempFileHandler(
        coordinator, str(tmp_path / 'file'), str(temp), OSUtils()
    )(error=RuntimeError('x'))
    assert list(tmp_path.iterdir()) == []


def test_rename_handler_failure_removes_temp_and_records_error(crt, tmp_path):
    temp = tmp_path / 'file.tmp'
    temp.write_bytes(b'data')
    final = tmp_path / 'missing-dir' / 'file'
    coordinator = crt.CRTTransferCoordinator()
    crt.RenameTempFileHandler(coordinator, str(final), str(temp), OSUtils())(error=None)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        coordinator.result()


def test_rename_failure_after_crt_future_done_is_still_reported(crt, tmp_path):
    import concurrent.futures

    class FinishedRequest:
        finished_future = concurrent.futures.Future()

    FinishedRequest.finished_future.set_result(None)
    temp = tmp_path / 'file.tmp'
    temp.write_bytes(b'data')
    coordinator = crt.CRTTransferCoordinator()
    coordinator.set_s3_request(FinishedRequest())
    assert coordinator.done()
    final = tmp_path / 'missing-dir' / 'file'
    crt.RenameTempFileHandler(coordinator, str(final), str(temp), OSUtils())(error=None)
    with pytest.raises(FileNotFoundError):
        coordinator.result()


class SlowDone:
    """Subscriber whose on_done takes a while, then notes that it finished."""

    def __init__(self, delay=0.2):
        self.finished = threading.Event()
        self._delay = delay

    def on_done(self, future, **kwargs):
        threading.Event().wait(self._delay)
        self.finished.set()


def _finish_later(crt_client, index=0):
    """Finish a request as CRT does, from another thread: future first, on_done next."""
    thread = threading.Thread(target=crt_client.finish, args=(index, None, 0.2))
    thread.start()
    return thread


def test_result_returns_only_after_the_done_callbacks(manager, crt_client):
    slow = SlowDone(delay=0)
    future = manager.delete('bucket', 'key', subscribers=[slow])
    finisher = _finish_later(crt_client)
    future.result()
    assert slow.finished.is_set()
    finisher.join(5)


def test_result_of_a_download_sees_the_renamed_file(manager, crt_client, tmp_path):
    final = tmp_path / 'file'
    future = manager.download('bucket', 'key', str(final))
    temp = crt_client.calls[0]['recv_filepath']
    with open(temp, 'wb') as f:
        f.write(b'data')
    finisher = _finish_later(crt_client)
    future.result()
    assert final.read_bytes() == b'data'
    finisher.join(5)


def test_result_called_from_on_done_does_not_wait_on_itself(manager, crt_client):
    results = []

    class ResultInOnDone:
        def on_done(self, future, **kwargs):
            results.append(future.result())

    future = manager.delete('bucket', 'key', subscribers=[ResultInOnDone()])
    finisher = _finish_later(crt_client)
    finisher.join(5)
    assert not finisher.is_alive()
    assert results == [None]
    future.result()


def test_raising_on_done_subscriber_still_frees_the_slot_and_shutdown(
    manager, crt_client
):
    class Raising:
        def on_done(self, future, **kwargs):
            raise ValueError('subscriber bug')

    future = manager.delete('bucket', 'key', subscribers=[Raising()])
    with pytest.raises(ValueError, match='subscriber bug'):
        crt_client.finish()
    assert manager._semaphore._value == 128
    future.result()
    shutdown = threading.Thread(target=manager.shutdown)
    shutdown.start()
    shutdown.join(5)
    assert not shutdown.is_alive()


def test_after_done_handler_sets_event(crt):
    coordinator = crt.CRTTransferCoordinator()
    crt.AfterDoneHandler(coordinator)(error=None)
    assert coordinator._done_event.is_set()


def test_fake_raw_response_streams_chunks(crt):
    response = crt.FakeRawResponse(b'abcde')
    assert list(response.stream(amt=2)) == [b'ab', b'cd', b'e']
    assert list(crt.FakeRawResponse(b'').stream()) == []


# --- serializer -------------------------------------------------------------------


def test_serializer_uses_unsigned_s3_client_and_mutates_kwargs(crt):
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    client_kwargs = {'region_name': 'eu-west-1', 'config': Config(read_timeout=7)}
    serializer = crt.BotocoreCRTRequestSerializer(
        botocore.session.Session(), client_kwargs
    )
    assert client_kwargs['service_name'] == 's3'
    assert client_kwargs['config'].signature_version is UNSIGNED
    assert client_kwargs['config'].read_timeout == 7
    assert serializer._client.meta.region_name == 'eu-west-1'


def test_base_serializer_is_abstract(crt):
    base = crt.BaseCRTRequestSerializer()
    with pytest.raises(NotImplementedError, match=r'serialize_http_request\(\)'):
        base.serialize_http_request('put_object', None)
    with pytest.raises(NotImplementedError, match=r'translate_crt_exception\(\)'):
        base.translate_crt_exception(None)


# --- credentials ------------------------------------------------------------------


class RefreshingCredentials:
    def __init__(self):
        self.calls = 0

    def get_frozen_credentials(self):
        self.calls += 1
        return Credentials(
            f'key{self.calls}', 'secret', 'token'
        ).get_frozen_credentials()


def test_credentials_wrapper_reads_on_every_call(crt):
    credentials = RefreshingCredentials()
    wrapper = crt.BotocoreCRTCredentialsWrapper(credentials)
    first, second = wrapper(), wrapper()
    assert (first.access_key_id, second.access_key_id) == ('key1', 'key2')
    assert (first.secret_access_key, first.session_token) == ('secret', 'token')


def test_credentials_wrapper_without_credentials(crt):
    with pytest.raises(NoCredentialsError):
        crt.BotocoreCRTCredentialsWrapper(None)()


def test_credentials_wrapper_provider(crt):
    from awscrt.auth import AwsCredentialsProvider

    wrapper = crt.BotocoreCRTCredentialsWrapper(Credentials('a', 'b'))
    assert isinstance(wrapper.to_crt_credentials_provider(), AwsCredentialsProvider)


def test_credential_provider_adapter_loads_once(crt):
    class Provider:
        calls = 0

        def load_credentials(self):
            self.calls += 1
            return Credentials('a', 'b', 'c')

    provider = Provider()
    adapter = crt.CRTCredentialProviderAdapter(provider)
    assert adapter().access_key_id == adapter().access_key_id == 'a'
    assert provider.calls == 1


def test_credential_provider_adapter_without_credentials(crt):
    class EmptyProvider:
        def load_credentials(self):
            return None

    with pytest.raises(NoCredentialsError):
        crt.CRTCredentialProviderAdapter(EmptyProvider())()


# --- ARN handling ------------------------------------------------------------------


def test_arn_handler(crt):
    handler = crt._S3ArnParamHandler()
    details = handler.handle_arn(MRAP_ARN)
    assert (details['region'], details['resource_name']) == ('', 'abcd1234.mrap')
    assert details['resource_type'] == 'accesspoint'
    assert handler.handle_arn('plain-bucket') is None
    outpost = 'arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01/bucket/b'
    assert handler.handle_arn(outpost) is None
