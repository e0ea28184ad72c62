"""Transfer manager backed by awscrt's S3 client.

awscrt performs whole transfers (multipart, parallelism, retries, checksums).
This module only serializes each request with botocore into an unsigned HTTP
request, bridges botocore credentials to CRT, and adapts CRT callbacks and
futures to s3transfer's subscriber and future vocabulary. Importing it without
awscrt installed raises ``ImportError``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any, TypeGuard

import awscrt.exceptions
import awscrt.http
import awscrt.s3
import botocore.awsrequest
import botocore.session
from awscrt.auth import (
    AwsCredentials,
    AwsCredentialsProvider,
    AwsSigningAlgorithm,
    AwsSigningConfig,
)
from awscrt.io import (
    ClientBootstrap,
    ClientTlsContext,
    DefaultHostResolver,
    EventLoopGroup,
    TlsContextOptions,
)
from awscrt.s3 import S3Client, S3RequestTlsMode, S3RequestType
from botocore import UNSIGNED
from botocore.compat import urlsplit
from botocore.config import Config
from botocore.exceptions import InvalidConfigError, NoCredentialsError
from botocore.utils import ArnParser, InvalidArnException

from s3transfer.constants import FULL_OBJECT_CHECKSUM_ARGS, MB
from s3transfer.exceptions import CancelledError, TransferNotDoneError
from s3transfer.futures import BaseTransferFuture, MetaRecord
from s3transfer.manager import TransferManager
from s3transfer.utils import (
    CallArgs,
    OSUtils,
    create_nested_client,
    get_callbacks,
    is_s3express_bucket,
)
from s3transfer.validation import validate_bucket_supported, validate_extra_args
from s3transfer.waiting import wait_for_event, wait_for_future

logger = logging.getLogger(__name__)

# Set while this thread runs a transfer's done callbacks (see CRTTransferCoordinator).
_in_done_callbacks = threading.local()

CRT_S3_PROCESS_LOCK = None

_DEFAULT_THROUGHPUT_TARGET_GBPS = 10.0
_MAX_CONCURRENT_REQUESTS = 128
_EMPTY_CA_BUNDLE_MSG = (
    'Invalid CA bundle: the configured value (ca_bundle, AWS_CA_BUNDLE, '
    'REQUESTS_CA_BUNDLE, or verify) resolved to an empty or whitespace-only '
    'string. Provide a valid path to a CA bundle file.'
)


def acquire_crt_s3_process_lock(name: str) -> Any:
    """Hold a cross-process lock named ``name`` for this process's lifetime.

    Returns the lock, or ``None`` when another process already holds it.
    """
    global CRT_S3_PROCESS_LOCK
    if CRT_S3_PROCESS_LOCK is None:
        crt_lock = awscrt.s3.CrossProcessLock(name)
        try:
            crt_lock.acquire()
        except RuntimeError:
            return None
        # Kept in a module global so it is never garbage-collected (released).
        CRT_S3_PROCESS_LOCK = crt_lock
    return CRT_S3_PROCESS_LOCK


def _get_crt_throughput_target_gbps(
    provided_throughput_target_bytes: int | None = None,
) -> float:
    """Throughput target in gigabits/s: the given bytes/s or awscrt's advice."""
    if provided_throughput_target_bytes is None:
        target_gbps = awscrt.s3.get_recommended_throughput_target_gbps()
        if target_gbps is None:
            target_gbps = _DEFAULT_THROUGHPUT_TARGET_GBPS
        logger.debug('Recommended CRT throughput target in gbps: %s', target_gbps)
        return target_gbps
    return provided_throughput_target_bytes * 8 / 1_000_000_000


def _get_tls_connection_options(verify: bool | str | None) -> Any:
    """TLS options for ``verify`` (CA bundle path or False); None keeps defaults."""
    if verify is None:
        return None
    if isinstance(verify, str) and not verify.strip():
        raise InvalidConfigError(error_msg=_EMPTY_CA_BUNDLE_MSG)
    tls_options = TlsContextOptions()
    if verify:
        tls_options.override_default_trust_store_from_path(ca_filepath=verify)
    else:
        tls_options.verify_peer = False
    return ClientTlsContext(tls_options).new_connection_options()


def create_s3_crt_client(
    region: str,
    crt_credentials_provider: Any = None,
    num_threads: int | None = None,
    target_throughput: int | None = None,
    part_size: int = 8 * MB,
    use_ssl: bool = True,
    verify: bool | str | None = None,
) -> Any:
    """Create an ``awscrt.s3.S3Client`` for transfers in ``region``."""
    event_loop_group = EventLoopGroup(num_threads)
    host_resolver = DefaultHostResolver(event_loop_group)
    bootstrap = ClientBootstrap(event_loop_group, host_resolver)
    tls_mode = S3RequestTlsMode.ENABLED if use_ssl else S3RequestTlsMode.DISABLED
    return S3Client(
        bootstrap=bootstrap,
        region=region,
        credential_provider=crt_credentials_provider,
        part_size=part_size,
        tls_mode=tls_mode,
        tls_connection_options=_get_tls_connection_options(verify),
        throughput_target_gbps=_get_crt_throughput_target_gbps(target_throughput),
        enable_s3express=True,
    )


def _has_minimum_crt_version(minimum_version: tuple[int, ...]) -> bool:
    """Whether the installed awscrt is at least ``minimum_version``."""
    try:
        version = tuple(int(part) for part in awscrt.__version__.split('.'))
    except (TypeError, ValueError):
        return False
    return version >= minimum_version


class CRTTransferManager:
    """Transfer manager delegating uploads, downloads and deletes to awscrt."""

    ALLOWED_DOWNLOAD_ARGS = TransferManager.ALLOWED_DOWNLOAD_ARGS
    ALLOWED_UPLOAD_ARGS = TransferManager.ALLOWED_UPLOAD_ARGS
    ALLOWED_DELETE_ARGS = TransferManager.ALLOWED_DELETE_ARGS

    VALIDATE_SUPPORTED_BUCKET_VALUES = True

    _UNSUPPORTED_BUCKET_PATTERNS = TransferManager._UNSUPPORTED_BUCKET_PATTERNS

    def __init__(
        self,
        crt_s3_client: Any,
        crt_request_serializer: BaseCRTRequestSerializer,
        osutil: OSUtils | None = None,
        config: Any = None,
    ) -> None:
        self._crt_s3_client = crt_s3_client
        self._osutil = OSUtils() if osutil is None else osutil
        self._config = config
        self._s3_args_creator = S3ClientArgsCreator(
            crt_request_serializer, self._osutil, config
        )
        self._crt_exception_translator = crt_request_serializer.translate_crt_exception
        self._future_coordinators: list[CRTTransferCoordinator] = []
        self._semaphore = threading.Semaphore(_MAX_CONCURRENT_REQUESTS)
        self._id_counter = 0

    def __enter__(self) -> CRTTransferManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        *args: Any,
    ) -> None:
        self._shutdown(cancel=bool(exc_type))

    def download(
        self,
        bucket: str,
        key: str,
        fileobj: Any,
        extra_args: dict[str, Any] | None = None,
        subscribers: list[Any] | None = None,
    ) -> CRTTransferFuture:
        """Download ``bucket``/``key`` into a filename or writable object."""
        if extra_args is None:
            extra_args = {}
        self._validate(extra_args, self.ALLOWED_DOWNLOAD_ARGS, bucket)
        callargs = _call_args(bucket, key, extra_args, subscribers, fileobj=fileobj)
        return self._submit_transfer('get_object', callargs)

    def upload(
        self,
        fileobj: Any,
        bucket: str,
        key: str,
        extra_args: dict[str, Any] | None = None,
        subscribers: list[Any] | None = None,
    ) -> CRTTransferFuture:
        """Upload a filename or readable object to ``bucket``/``key``."""
        # Copied: building the request adds keys, the caller's dict stays as is.
        extra_args = dict(extra_args) if extra_args else {}
        self._validate(extra_args, self.ALLOWED_UPLOAD_ARGS, bucket)
        self._validate_checksum_algorithm_supported(extra_args)
        callargs = _call_args(bucket, key, extra_args, subscribers, fileobj=fileobj)
        return self._submit_transfer('put_object', callargs)

    def delete(
        self,
        bucket: str,
        key: str,
        extra_args: dict[str, Any] | None = None,
        subscribers: list[Any] | None = None,
    ) -> CRTTransferFuture:
        """Delete ``bucket``/``key``."""
        if extra_args is None:
            extra_args = {}
        self._validate(extra_args, self.ALLOWED_DELETE_ARGS, bucket)
        callargs = _call_args(bucket, key, extra_args, subscribers)
        return self._submit_transfer('delete_object', callargs)

    def shutdown(self, cancel: bool = False) -> None:
        """Wait for every transfer (cancelling them first if ``cancel``)."""
        self._shutdown(cancel)

    def _validate(
        self, extra_args: dict[str, Any], allowed_args: list[str], bucket: str
    ) -> None:
        validate_extra_args(extra_args, allowed_args)
        if self.VALIDATE_SUPPORTED_BUCKET_VALUES:
            validate_bucket_supported(bucket, self._UNSUPPORTED_BUCKET_PATTERNS)

    @staticmethod
    def _validate_checksum_algorithm_supported(extra_args: dict[str, Any]) -> None:
        checksum_algorithm = extra_args.get('ChecksumAlgorithm')
        if checksum_algorithm is None:
            return
        supported_algorithms = list(awscrt.s3.S3ChecksumAlgorithm.__members__)
        if checksum_algorithm.upper() not in supported_algorithms:
            raise ValueError(
                f'ChecksumAlgorithm: {checksum_algorithm} not supported. '
                f'Supported algorithms are: {supported_algorithms}'
            )

    def _cancel_transfers(self) -> None:
        for coordinator in self._future_coordinators:
            if not coordinator.done():
                coordinator.cancel()

    def _finish_transfers(self) -> None:
        for coordinator in self._future_coordinators:
            coordinator.result()

    def _wait_transfers_done(self) -> None:
        for coordinator in self._future_coordinators:
            coordinator.wait_until_on_done_callbacks_complete()

    def _shutdown(self, cancel: bool = False) -> None:
        if cancel:
            self._cancel_transfers()
        try:
            self._finish_transfers()
        except KeyboardInterrupt:
            self._cancel_transfers()
        except Exception:
            pass
        finally:
            self._wait_transfers_done()

    def _release_semaphore(self, **kwargs: Any) -> None:
        self._semaphore.release()

    def _submit_transfer(
        self, request_type: str, call_args: CallArgs
    ) -> CRTTransferFuture:
        on_done_after_calls = [self._release_semaphore]
        coordinator = CRTTransferCoordinator(
            transfer_id=self._id_counter,
            exception_translator=self._crt_exception_translator,
        )
        meta = CRTTransferMeta(self._id_counter, call_args)
        future = CRTTransferFuture(meta=meta, coordinator=coordinator)
        on_done_after_calls.append(AfterDoneHandler(coordinator))
        try:
            self._semaphore.acquire()
            self._s3_args_creator.get_crt_callback(future, 'queued')()
            crt_callargs = self._s3_args_creator.get_make_request_args(
                request_type, call_args, coordinator, future, on_done_after_calls
            )
            crt_s3_request = self._crt_s3_client.make_request(**crt_callargs)
        except Exception as e:
            coordinator.set_exception(e, True)
            on_done = self._s3_args_creator.get_crt_callback(
                future, 'done', after_subscribers=on_done_after_calls
            )
            on_done(error=e)
        else:
            coordinator.set_s3_request(crt_s3_request)
        self._future_coordinators.append(coordinator)
        self._id_counter += 1
        return future


def _call_args(
    bucket: str,
    key: str,
    extra_args: dict[str, Any],
    subscribers: list[Any] | None,
    **fileobj: Any,
) -> CallArgs:
    """The ``CallArgs`` of one CRT transfer."""
    return CallArgs(
        bucket=bucket,
        key=key,
        **fileobj,
        extra_args=extra_args,
        # An empty dict, as the original (spec crt.md): no subscribers.
        subscribers={} if subscribers is None else subscribers,
    )


class CRTTransferMeta(MetaRecord):
    """Metadata of a CRT transfer: its id, call arguments and user context."""

    def __init__(self, transfer_id: int | None = None, call_args: Any = None) -> None:
        super().__init__(call_args, transfer_id)


class CRTTransferFuture(BaseTransferFuture):
    """Caller-facing handle of one CRT transfer."""

    def __init__(
        self,
        meta: CRTTransferMeta | None = None,
        coordinator: CRTTransferCoordinator | None = None,
    ) -> None:
        self._meta = meta if meta is not None else CRTTransferMeta()
        self._coordinator = (
            coordinator if coordinator is not None else CRTTransferCoordinator()
        )

    @property
    def meta(self) -> CRTTransferMeta:
        return self._meta

    def done(self) -> bool:
        return self._coordinator.done()

    def result(self, timeout: float | None = None) -> None:
        """Wait for the transfer; raise its (translated) error if it failed."""
        self._coordinator.result(timeout)

    def cancel(self) -> None:
        self._coordinator.cancel()

    def set_exception(self, exception: BaseException) -> None:
        """Replace the outcome of a finished transfer with ``exception``."""
        if not self.done():
            raise TransferNotDoneError(
                'set_exception can only be called once the transfer is complete.'
            )
        self._coordinator.set_exception(exception, override=True)


class CRTTransferCoordinator:
    """Tracks one CRT request: its outcome, cancellation and done callbacks."""

    def __init__(
        self,
        transfer_id: int | None = None,
        s3_request: Any = None,
        exception_translator: Callable[[BaseException], Any] | None = None,
    ) -> None:
        self.transfer_id = transfer_id
        self._exception_translator = exception_translator
        self._s3_request: Any = None
        self._lock = threading.Lock()
        self._exception: BaseException | None = None
        self._crt_future: Any = None
        self._done_event = threading.Event()
        self._done_callbacks_expected = False
        if s3_request is not None:
            self.set_s3_request(s3_request)

    @property
    def s3_request(self) -> Any:
        return self._s3_request

    def set_done_callbacks_complete(self) -> None:
        self._done_event.set()

    def expect_done_callbacks(self) -> None:
        """Make ``result()`` also wait for the done callbacks (e.g. the temp-file
        rename), which CRT runs only after it finished the request's future."""
        self._done_callbacks_expected = True

    def wait_until_on_done_callbacks_complete(
        self, timeout: float | None = None
    ) -> None:
        self._done_event.wait(timeout)

    def set_exception(self, exception: BaseException, override: bool = False) -> None:
        with self._lock:
            if not self.done() or override:
                self._exception = exception

    def cancel(self) -> None:
        if self._s3_request:
            self._s3_request.cancel()

    def result(self, timeout: float | None = None) -> None:
        """Raise a stored error, else wait for the CRT request and raise its error."""
        if self._exception:
            raise self._exception
        try:
            self._wait_for_crt_future(timeout)
            self._wait_for_done_callbacks(timeout)
        except KeyboardInterrupt:
            self.cancel()
            self._crt_future.result(timeout)
            raise
        except Exception as e:
            self.handle_exception(e)
        finally:
            self._s3_request = None
        if self._exception:
            raise self._exception  # e.g. the rename of a downloaded temp file failed

    def _wait_for_done_callbacks(self, timeout: float | None) -> None:
        # Not from inside the done callbacks themselves: they would wait on their end.
        if not self._done_callbacks_expected or getattr(
            _in_done_callbacks, 'active', False
        ):
            return
        if timeout is not None:
            self._done_event.wait(timeout)
            return
        wait_for_event(self._done_event)

    def _wait_for_crt_future(self, timeout: float | None) -> None:
        if timeout is None:
            wait_for_future(self._crt_future)
        self._crt_future.result(timeout)

    def handle_exception(self, exc: BaseException) -> None:
        """Raise ``exc`` translated to a botocore error when a translation exists."""
        translated_exc = None
        try:
            if self._exception_translator is not None:
                translated_exc = self._exception_translator(exc)
        except Exception as e:
            logger.debug('Unable to translate exception.', exc_info=e)
        if translated_exc is not None:
            raise translated_exc from exc
        if _is_crt_cancellation(exc):
            raise CRTCancelledError(exc.code, exc.name, exc.message) from exc
        raise exc

    def done(self) -> bool:
        """Whether the request finished, or the submission itself failed."""
        if self._crt_future is None:
            # No request was made: only a failed submission stores an error here.
            return self._exception is not None
        return self._crt_future.done()

    def set_s3_request(self, s3_request: Any) -> None:
        self._s3_request = s3_request
        self._crt_future = self._s3_request.finished_future


class CRTCancelledError(CancelledError, awscrt.exceptions.AwsCrtError):
    """A cancelled CRT transfer: both a ``CancelledError`` and CRT's own error."""


def _is_crt_cancellation(exc: BaseException) -> TypeGuard[Any]:
    """Whether ``exc`` is CRT's cancellation error (an ``AwsCrtError``, untyped)."""
    return (
        isinstance(exc, awscrt.exceptions.AwsCrtError)
        and exc.name == 'AWS_ERROR_S3_CANCELED'
    )


class BaseCRTRequestSerializer:
    """Turns a transfer into an ``awscrt.http.HttpRequest`` and maps CRT errors."""

    def serialize_http_request(self, transfer_type: str, future: Any) -> Any:
        """Serialize the request of ``future`` (``transfer_type``: 'put_object'…)."""
        raise NotImplementedError('serialize_http_request()')

    def translate_crt_exception(self, exception: BaseException) -> Any:
        """Return a library exception for a CRT one, or None to keep it."""
        raise NotImplementedError('translate_crt_exception()')


class BotocoreCRTRequestSerializer(BaseCRTRequestSerializer):
    """Serializes requests with a private, unsigned botocore S3 client."""

    def __init__(self, session: Any, client_kwargs: dict | None = None) -> None:
        if client_kwargs is None:
            client_kwargs = {}
        self._resolve_client_config(session, client_kwargs)
        self._client = create_nested_client(session, **client_kwargs)
        events = self._client.meta.events
        events.register('request-created.s3.*', self._capture_http_request)
        events.register(
            'after-call.s3.*', self._change_response_to_serialized_http_request
        )
        events.register('before-send.s3.*', self._make_fake_http_response)
        events.register('before-call.s3.*', self._remove_checksum_context)

    def _resolve_client_config(self, session: Any, client_kwargs: dict) -> None:
        user_provided_config = session.get_default_client_config()
        if 'config' in client_kwargs:
            user_provided_config = client_kwargs['config']
        client_config = Config(signature_version=UNSIGNED)
        if user_provided_config:
            client_config = user_provided_config.merge(client_config)
        client_kwargs['config'] = client_config
        client_kwargs['service_name'] = 's3'

    def _capture_http_request(self, request: Any, **kwargs: Any) -> None:
        request.context['http_request'] = request

    def _change_response_to_serialized_http_request(
        self, context: Any, parsed: Any, **kwargs: Any
    ) -> None:
        parsed['HTTPRequest'] = context['http_request'].prepare()

    def _make_fake_http_response(self, request: Any, **kwargs: Any) -> Any:
        # Short-circuits the send: the serializer never performs network I/O.
        return botocore.awsrequest.AWSResponse(None, 200, {}, FakeRawResponse(b''))

    def _remove_checksum_context(self, params: Any, **kwargs: Any) -> None:
        # CRT computes checksums itself; botocore must add no headers/trailers.
        request_context = params.get('context', {})
        if 'checksum' in request_context:
            del request_context['checksum']

    def _get_botocore_http_request(
        self, client_method: str, call_args: CallArgs
    ) -> Any:
        return getattr(self._client, client_method)(
            Bucket=call_args.bucket, Key=call_args.key, **call_args.extra_args
        )['HTTPRequest']

    def serialize_http_request(self, transfer_type: str, future: Any) -> Any:
        """Build the unsigned CRT request for ``future``'s call arguments."""
        botocore_http_request = self._get_botocore_http_request(
            transfer_type, future.meta.call_args
        )
        return self._convert_to_crt_http_request(botocore_http_request)

    def translate_crt_exception(self, exception: BaseException) -> Any:
        """Map an ``S3ResponseError`` to the botocore error the client would raise."""
        if isinstance(exception, awscrt.s3.S3ResponseError):
            return self._translate_crt_s3_response_error(exception)
        return None

    def _translate_crt_s3_response_error(self, s3_response_error: Any) -> Any:
        status_code = s3_response_error.status_code
        if status_code < 301:
            return None
        operation_name = s3_response_error.operation_name
        shape = None
        if operation_name is not None:
            service_model = self._client.meta.service_model
            shape = service_model.operation_model(operation_name).output_shape
        response_dict = {
            'headers': botocore.awsrequest.HeadersDict(dict(s3_response_error.headers)),
            'status_code': status_code,
            'body': s3_response_error.body,
        }
        parsed_response = self._client._response_parser.parse(
            response_dict, shape=shape
        )
        error_code = parsed_response.get('Error', {}).get('Code')
        error_class = self._client.exceptions.from_code(error_code)
        return error_class(parsed_response, operation_name=operation_name)

    def _convert_to_crt_http_request(self, botocore_http_request: Any) -> Any:
        crt_request = self._crt_request_from_aws_request(botocore_http_request)
        headers = crt_request.headers
        if headers.get('host') is None:
            headers.set('host', urlsplit(botocore_http_request.url).netloc)
        if headers.get('Content-MD5') is not None:
            headers.remove('Content-MD5')
        # CRT requires an explicit length on bodiless requests.
        if headers.get('Content-Length') is None and botocore_http_request.body is None:
            headers.add('Content-Length', '0')
        # CRT decides how to send the body (it streams unknown lengths itself).
        if headers.get('Transfer-Encoding') is not None:
            headers.remove('Transfer-Encoding')
        return crt_request

    def _crt_request_from_aws_request(self, aws_request: Any) -> Any:
        url_parts = urlsplit(aws_request.url)
        crt_path = url_parts.path
        if url_parts.query:
            crt_path = f'{crt_path}?{url_parts.query}'
        headers_list = [
            (name, value if isinstance(value, str) else str(value, 'utf-8'))
            for name, value in aws_request.headers.items()
        ]
        return awscrt.http.HttpRequest(
            method=aws_request.method,
            path=crt_path,
            headers=awscrt.http.HttpHeaders(headers_list),
            body_stream=aws_request.body,
        )


class FakeRawResponse(BytesIO):
    """In-memory raw response body for the serializer's fake responses."""

    def stream(self, amt: int = 1024, decode_content: Any = None) -> Iterator[bytes]:
        """Yield successive ``amt``-byte chunks until the buffer is exhausted."""
        while True:
            chunk = self.read(amt)
            if not chunk:
                break
            yield chunk


def _to_crt_credentials(botocore_credentials: Any) -> AwsCredentials:
    frozen = botocore_credentials.get_frozen_credentials()
    return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)


class BotocoreCRTCredentialsWrapper:
    """CRT credentials delegate reading resolved botocore credentials."""

    def __init__(self, resolved_botocore_credentials: Any) -> None:
        self._resolved_credentials = resolved_botocore_credentials

    def __call__(self) -> AwsCredentials:
        """Current credentials (refreshable ones are re-read on every call)."""
        if self._resolved_credentials is None:
            raise NoCredentialsError()
        return _to_crt_credentials(self._resolved_credentials)

    def to_crt_credentials_provider(self) -> AwsCredentialsProvider:
        """Wrap this delegate in an ``AwsCredentialsProvider``."""
        return AwsCredentialsProvider.new_delegate(self)


class CRTCredentialProviderAdapter:
    """CRT credentials delegate loading from a botocore credential provider once."""

    def __init__(self, botocore_credential_provider: Any) -> None:
        self._botocore_credential_provider = botocore_credential_provider
        self._loaded_credentials = None
        self._lock = threading.Lock()

    def __call__(self) -> AwsCredentials:
        """Credentials from the provider (loaded on first use, then reused)."""
        return _to_crt_credentials(self._get_credentials())

    def _get_credentials(self) -> Any:
        with self._lock:
            if self._loaded_credentials is None:
                loaded = self._botocore_credential_provider.load_credentials()
                if loaded is None:
                    raise NoCredentialsError()
                self._loaded_credentials = loaded
            return self._loaded_credentials


CRTConfigParameter = namedtuple('CRTConfigParameter', ['name', 'min_version'])


class S3ClientArgsCreator:
    """Builds the keyword arguments of ``S3Client.make_request`` per transfer."""

    _CRT_ARG_TO_CONFIG_PARAM = {
        'max_active_connections_override': CRTConfigParameter(
            'max_request_concurrency', (0, 29, 0)
        ),
    }

    def __init__(
        self,
        crt_request_serializer: BaseCRTRequestSerializer,
        os_utils: OSUtils,
        config: Any = None,
    ) -> None:
        self._request_serializer = crt_request_serializer
        self._os_utils = os_utils
        self._config = config

    def get_make_request_args(
        self,
        request_type: str,
        call_args: CallArgs,
        coordinator: CRTTransferCoordinator,
        future: CRTTransferFuture,
        on_done_after_calls: list[Callable[..., Any]],
    ) -> dict[str, Any]:
        """Arguments for ``make_request`` of a ``request_type`` transfer.

        Puts and gets first prepare their body or target (this may add to
        ``call_args.extra_args`` before the request is serialized), then get
        the config options too; other requests take the default arguments only.
        """
        on_done_before_calls: list[Callable[..., Any]] = []
        prepare = self._PREPARERS.get(request_type)
        prepared = (
            None
            if prepare is None
            else prepare(self, call_args, coordinator, on_done_before_calls)
        )
        make_request_args = self._default_get_make_request_args(
            request_type,
            call_args,
            coordinator,
            future,
            on_done_before_calls,
            on_done_after_calls,
        )
        if prepared is None:
            return make_request_args
        make_request_args.update(prepared)
        return self._with_config_options(make_request_args, request_type)

    def get_crt_callback(
        self,
        future: CRTTransferFuture,
        callback_type: str,
        before_subscribers: list[Callable[..., Any]] | None = None,
        after_subscribers: list[Callable[..., Any]] | None = None,
    ) -> Callable[..., None]:
        """A CRT callback running before, subscriber and after callbacks in order."""

        def invoke(
            callback: Callable[..., Any], args: tuple, kwargs: dict[str, Any]
        ) -> None:
            if callback_type == 'progress':
                callback(bytes_transferred=args[0])
            else:
                callback(*args, **kwargs)

        def invoke_all_callbacks(*args: Any, **kwargs: Any) -> None:
            callbacks = list(before_subscribers or [])
            callbacks += get_callbacks(future, callback_type)
            outer = getattr(_in_done_callbacks, 'active', False)
            _in_done_callbacks.active = outer or callback_type == 'done'
            try:
                for callback in callbacks:
                    invoke(callback, args, kwargs)
            finally:
                # Even after a raising subscriber: these give back the transfer's
                # slot and mark its done callbacks complete (shutdown waits on that).
                try:
                    for callback in after_subscribers or []:
                        invoke(callback, args, kwargs)
                finally:
                    _in_done_callbacks.active = outer

        return invoke_all_callbacks

    def _prepare_put_object(
        self,
        call_args: CallArgs,
        coordinator: CRTTransferCoordinator,
        on_done_before_calls: list[Callable[..., Any]],
    ) -> dict[str, Any]:
        """A put's ``send_filepath`` and ``checksum_config``; sets its body args."""
        extra_args = call_args.extra_args
        send_filepath = None
        if isinstance(call_args.fileobj, str):
            send_filepath = call_args.fileobj
            extra_args['ContentLength'] = self._os_utils.get_file_size(send_filepath)
        else:
            extra_args['Body'] = call_args.fileobj
        checksum_config = None
        if not any(arg in extra_args for arg in FULL_OBJECT_CHECKSUM_ARGS):
            algorithm = extra_args.pop('ChecksumAlgorithm', 'CRC32').upper()
            checksum_config = awscrt.s3.S3ChecksumConfig(
                algorithm=awscrt.s3.S3ChecksumAlgorithm[algorithm],
                location=awscrt.s3.S3ChecksumLocation.TRAILER,
            )
        # Any value stops botocore computing an MD5; serialization drops the header.
        extra_args['ContentMD5'] = 'override-to-be-removed'
        return {'send_filepath': send_filepath, 'checksum_config': checksum_config}

    def _prepare_get_object(
        self,
        call_args: CallArgs,
        coordinator: CRTTransferCoordinator,
        on_done_before_calls: list[Callable[..., Any]],
    ) -> dict[str, Any]:
        """A get's target: a temp file renamed when done, or an ``on_body`` writer."""
        recv_filepath = None
        on_body = None
        checksum_config = awscrt.s3.S3ChecksumConfig(validate_response=True)
        if isinstance(call_args.fileobj, str):
            final_filepath = call_args.fileobj
            recv_filepath = self._os_utils.get_temp_filename(final_filepath)
            on_done_before_calls.append(
                RenameTempFileHandler(
                    coordinator, final_filepath, recv_filepath, self._os_utils
                )
            )
        else:
            on_body = OnBodyFileObjWriter(call_args.fileobj)
        return {
            'recv_filepath': recv_filepath,
            'on_body': on_body,
            'checksum_config': checksum_config,
        }

    _PREPARERS = {'put_object': _prepare_put_object, 'get_object': _prepare_get_object}

    def _default_get_make_request_args(
        self,
        request_type: str,
        call_args: CallArgs,
        coordinator: CRTTransferCoordinator,
        future: CRTTransferFuture,
        on_done_before_calls: list[Callable[..., Any]],
        on_done_after_calls: list[Callable[..., Any]],
    ) -> dict[str, Any]:
        make_request_args = {
            'request': self._request_serializer.serialize_http_request(
                request_type, future
            ),
            'type': getattr(S3RequestType, request_type.upper(), S3RequestType.DEFAULT),
            'on_done': self.get_crt_callback(
                future, 'done', on_done_before_calls, on_done_after_calls
            ),
            'on_progress': self.get_crt_callback(future, 'progress'),
        }
        if make_request_args['type'] == S3RequestType.DEFAULT:
            make_request_args['operation_name'] = ''.join(
                part.title() for part in request_type.split('_')
            )
        signing_config = self._get_signing_config(call_args)
        if signing_config is not None:
            make_request_args['signing_config'] = signing_config
        return make_request_args

    @staticmethod
    def _get_signing_config(call_args: CallArgs) -> AwsSigningConfig | None:
        """Signing for MRAP ARNs (rewrites ``call_args.bucket``) and S3 Express."""
        arn_details = _S3ArnParamHandler().handle_arn(call_args.bucket)
        if arn_details is not None and arn_details['region'] == '':
            call_args.bucket = arn_details['resource_name']
            return AwsSigningConfig(
                algorithm=AwsSigningAlgorithm.V4_ASYMMETRIC,
                region='*',
                use_double_uri_encode=False,
                should_normalize_uri_path=False,
            )
        if is_s3express_bucket(call_args.bucket):
            return AwsSigningConfig(
                algorithm=AwsSigningAlgorithm.V4_S3EXPRESS,
                use_double_uri_encode=False,
                should_normalize_uri_path=False,
            )
        return None

    def _with_config_options(
        self, make_request_args: dict[str, Any], request_type: str
    ) -> dict[str, Any]:
        if self._config is not None:
            make_request_args.update(
                self._get_crt_transfer_config_options(request_type)
            )
        return make_request_args

    def _get_crt_transfer_config_options(self, request_type: str) -> dict[str, Any]:
        crt_config = {
            'part_size': self._get_config_value('multipart_chunksize'),
            'max_active_connections_override': self._get_config_value(
                'max_request_concurrency'
            ),
        }
        if request_type == 'put_object':
            crt_config['multipart_upload_threshold'] = self._config.multipart_threshold
        return self._remove_param_if_not_min_crt_version(crt_config)

    def _get_config_value(self, name: str) -> Any:
        """The config value, or None when the caller left it unset."""
        if self._config.get_deep_attr(name) is self._config.UNSET_DEFAULT:
            return None
        return getattr(self._config, name)

    def _remove_param_if_not_min_crt_version(
        self, crt_config: dict[str, Any]
    ) -> dict[str, Any]:
        for crt_arg, config_param in self._CRT_ARG_TO_CONFIG_PARAM.items():
            if crt_arg not in crt_config:
                continue
            if _has_minimum_crt_version(config_param.min_version):
                continue
            if crt_config.pop(crt_arg) is not None:
                min_version = '.'.join(str(i) for i in config_param.min_version)
                logger.warning(
                    'Transfer config parameter %s requires minimum CRT version: '
                    '%s. %s will not be used in the request.',
                    config_param.name,
                    min_version,
                    config_param.name,
                )
        return crt_config


@dataclasses.dataclass(eq=False, repr=False)
class RenameTempFileHandler:
    """Done callback moving a finished download's temp file to its final name."""

    coordinator: CRTTransferCoordinator
    final_filename: str
    temp_filename: str
    osutil: OSUtils

    def __call__(self, **kwargs: Any) -> None:
        if kwargs['error']:
            self.osutil.remove_file(self.temp_filename)
            return
        try:
            self.osutil.rename_file(self.temp_filename, self.final_filename)
        except Exception as e:
            self.osutil.remove_file(self.temp_filename)
            # The CRT future is already done here: without override the
            # failure would be dropped and the download reported as success.
            self.coordinator.set_exception(e, override=True)


class AfterDoneHandler:
    """Last done callback: marks the transfer's done callbacks as complete."""

    def __init__(self, coordinator: CRTTransferCoordinator) -> None:
        self._coordinator = coordinator
        coordinator.expect_done_callbacks()

    def __call__(self, **kwargs: Any) -> None:
        self._coordinator.set_done_callbacks_complete()


class OnBodyFileObjWriter:
    """CRT ``on_body`` callback appending each received chunk to a file object."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj

    def __call__(self, chunk: bytes, **kwargs: Any) -> None:
        # CRT delivers GET bodies in order, so the offset is not needed.
        self._fileobj.write(chunk)


class _S3ArnParamHandler:
    """Partial port of botocore's S3 ARN handling: access-point ARNs only."""

    _RESOURCE_REGEX = (
        r'^(?P<resource_type>accesspoint|outpost)[/:](?P<resource_name>.+)$'
    )

    def __init__(self) -> None:
        self._arn_parser = ArnParser()

    def handle_arn(self, bucket: str) -> dict[str, Any] | None:
        """ARN details of an access-point ``bucket``; None for anything else."""
        arn_details = self._get_arn_details_from_bucket(bucket)
        if arn_details is None:
            return None
        if arn_details['resource_type'] == 'accesspoint':
            return arn_details
        return None

    def _get_arn_details_from_bucket(self, bucket: str) -> dict[str, Any] | None:
        try:
            arn_details = self._arn_parser.parse_arn(bucket)
        except InvalidArnException:
            return None
        self._add_resource_type_and_name(arn_details)
        return arn_details

    def _add_resource_type_and_name(self, arn_details: dict[str, Any]) -> None:
        match = re.match(self._RESOURCE_REGEX, arn_details['resource'])
        if match:
            arn_details['resource_type'] = match.group('resource_type')
            arn_details['resource_name'] = match.group('resource_name')
        else:
            arn_details['resource_type'] = None
            arn_details['resource_name'] = None
