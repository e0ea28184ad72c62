"""The managed transfer API: ``TransferConfig``, ``TransferManager`` and its controller.

A ``TransferManager`` validates each call, registers a coordinator for it, returns a
``TransferFuture`` at once and submits one submission task per transfer.
"""

from __future__ import annotations

import logging
import numbers
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from s3transfer._awschunked import use_offset_reads
from s3transfer._events import register_once
from s3transfer._types import CopySource, DownloadTarget, ExtraArgs, UploadSource
from s3transfer.bandwidth import BandwidthLimiter, LeakyBucket
from s3transfer.checksums import resolve_upload_algorithm
from s3transfer.constants import (
    ALLOWED_DOWNLOAD_ARGS,
    CONDITIONAL_WRITE_ARGS,
    FULL_OBJECT_CHECKSUM_ARGS,
    KB,
    MB,
    SSE_C_ARGS,
)
from s3transfer.copies import CopySubmissionTask
from s3transfer.delete import DeleteSubmissionTask
from s3transfer.download import DownloadSubmissionTask
from s3transfer.exceptions import CancelledError, FatalError
from s3transfer.futures import (
    IN_MEMORY_DOWNLOAD_TAG,
    IN_MEMORY_UPLOAD_TAG,
    BaseExecutor,
    BoundedExecutor,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.resume import (
    UPLOAD,
    JournalStore,
    ResumeOptions,
    ResumeToken,
)
from s3transfer.subscribers import BaseSubscriber
from s3transfer.tasks import SubmissionTask
from s3transfer.upload import UploadSubmissionTask
from s3transfer.utils import (
    CallArgs,
    OSUtils,
    SlidingWindowSemaphore,
    TaskSemaphore,
    get_callbacks,
    set_default_checksum_algorithm,
    signal_not_transferring,
    signal_transferring,
)
from s3transfer.validation import (
    UNSUPPORTED_BUCKET_PATTERNS,
    require_extra_args_mapping,
    validate_bucket_supported,
    validate_extra_args,
    validate_names,
)

logger = logging.getLogger(__name__)

# The numeric settings of TransferConfig, checked for type before their value.
_NUMERIC_SETTINGS = (
    'multipart_threshold',
    'multipart_chunksize',
    'max_request_concurrency',
    'max_submission_concurrency',
    'max_request_queue_size',
    'max_submission_queue_size',
    'max_io_queue_size',
    'io_chunksize',
    'num_download_attempts',
    'max_in_memory_upload_chunks',
    'max_in_memory_download_chunks',
    'max_bandwidth',
)


# Settings where 0 is meaningful (off): whole numbers, at least 0.
_COUNT_SETTINGS = ('part_retry_attempts',)


def _check_is_count(attr: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f'Provided parameter {attr} of value {value!r} must be a whole '
            f'number, 0 or more.'
        )


class TransferConfig:
    """Settings for a ``TransferManager``: sizes, concurrency and queue bounds."""

    UNSET_DEFAULT = object()

    def __init__(
        self,
        multipart_threshold: int = 8 * MB,
        multipart_chunksize: int = 8 * MB,
        max_request_concurrency: int = 10,
        max_submission_concurrency: int = 5,
        max_request_queue_size: int = 1000,
        max_submission_queue_size: int = 1000,
        max_io_queue_size: int = 1000,
        io_chunksize: int = 256 * KB,
        num_download_attempts: int = 5,
        max_in_memory_upload_chunks: int = 10,
        max_in_memory_download_chunks: int = 10,
        max_bandwidth: int | None = None,
        verify_download_checksums: bool = False,
        full_object_checksum: bool | str = False,
        grow_stream_part_size: bool = False,
        part_retry_attempts: int = 0,
        resumable: bool = False,
        resume_dir: str | os.PathLike[str] | None = None,
        strict_resume: bool = False,
        download_part_size: int | str | None = None,
    ) -> None:
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize
        self.max_request_concurrency = max_request_concurrency
        self.max_submission_concurrency = max_submission_concurrency
        self.max_request_queue_size = max_request_queue_size
        self.max_submission_queue_size = max_submission_queue_size
        self.max_io_queue_size = max_io_queue_size
        self.io_chunksize = io_chunksize
        self.num_download_attempts = num_download_attempts
        self.max_in_memory_upload_chunks = max_in_memory_upload_chunks
        self.max_in_memory_download_chunks = max_in_memory_download_chunks
        self.max_bandwidth = max_bandwidth
        # Opt-in integrity features (docs/integrity.md); the defaults send exactly
        # the spec's requests.
        self.verify_download_checksums = verify_download_checksums
        self.full_object_checksum = full_object_checksum
        self.grow_stream_part_size = grow_stream_part_size
        # Opt-in part-level retries (s3transfer.retries): how many more times a part
        # that still fails after botocore's retries is sent; 0 = off (the spec's).
        self.part_retry_attempts = part_retry_attempts
        # Resume (opt-in, see docs/resume.md): keep multipart upload / ranged
        # download state so an interrupted transfer continues where it stopped.
        self.resumable = resumable
        self.resume_dir = resume_dir
        self.strict_resume = strict_resume
        # Range size of multipart downloads: None = multipart_chunksize (the
        # spec's), a size, or 'auto' (plan.auto_download_part_size).
        self.download_part_size = download_part_size
        self._validate_attrs_are_nonzero()
        _check_download_part_size(download_part_size)
        resolve_upload_algorithm(full_object_checksum)  # a clear error, early
        _check_resume_settings(self)

    def _validate_attrs_are_nonzero(self) -> None:
        unset = self.UNSET_DEFAULT  # read once: subclasses' attribute reads are slow
        for attr, value in self.__dict__.items():
            if attr in _COUNT_SETTINGS:
                _check_is_count(attr, value)
                continue
            if value is None or value is unset or isinstance(value, bool):
                continue
            if attr in _NUMERIC_SETTINGS:
                _check_is_number(attr, value)
            elif not isinstance(value, numbers.Real):
                continue
            if value <= 0:
                raise ValueError(
                    f'Provided parameter {attr} of value {value} must '
                    f'be greater than 0.'
                )

    def get_deep_attr(self, item: str) -> Any:
        """The raw attribute, bypassing any subclass ``__getattribute__``."""
        return object.__getattribute__(self, item)


def _check_download_part_size(value: object) -> None:
    if value is None or value == 'auto':
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"download_part_size must be a size in bytes, 'auto' or None, not {value!r}"
        )


def _check_resume_settings(config: TransferConfig) -> None:
    for name in ('resumable', 'strict_resume'):
        if not isinstance(getattr(config, name), bool):
            raise TypeError(f'{name} must be True or False')
    folder = config.resume_dir
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise TypeError('resume_dir must be a folder path (str or os.PathLike) or None')


def _resume_options(
    config: TransferConfig, token: ResumeToken | None = None
) -> ResumeOptions | None:
    """How transfers of ``config`` keep resume state (``None``: they do not)."""
    folder = getattr(config, 'resume_dir', None)
    if not (getattr(config, 'resumable', False) or folder is not None or token):
        return None
    store = JournalStore(os.fspath(folder)) if folder is not None else None
    return ResumeOptions(
        store=store, token=token, strict=getattr(config, 'strict_resume', False)
    )


def _check_is_number(attr: str, value: object) -> None:
    # The original compared any value with 0 and failed with a confusing
    # "'<=' not supported" error for e.g. '8MB'; name the field instead.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'Provided parameter {attr} of value {value!r} must be a number '
            f'(an int of bytes or a count), not {type(value).__name__}.'
        )


class TransferManager:
    """Runs uploads, downloads, copies and deletes on bounded thread pools."""

    ALLOWED_DOWNLOAD_ARGS = ALLOWED_DOWNLOAD_ARGS

    _ALLOWED_SHARED_ARGS = [
        'ACL',
        'CacheControl',
        'ChecksumAlgorithm',
        'ContentDisposition',
        'ContentEncoding',
        'ContentLanguage',
        'ContentType',
        'ExpectedBucketOwner',
        'Expires',
        'GrantFullControl',
        'GrantRead',
        'GrantReadACP',
        'GrantWriteACP',
        'Metadata',
        'ObjectLockLegalHoldStatus',
        'ObjectLockMode',
        'ObjectLockRetainUntilDate',
        'RequestPayer',
        'ServerSideEncryption',
        'StorageClass',
        *SSE_C_ARGS,
        'SSEKMSKeyId',
        'SSEKMSEncryptionContext',
        'Tagging',
        'WebsiteRedirectLocation',
    ]

    ALLOWED_UPLOAD_ARGS = (
        _ALLOWED_SHARED_ARGS
        + ['ChecksumType', 'MpuObjectSize']
        + FULL_OBJECT_CHECKSUM_ARGS
        + CONDITIONAL_WRITE_ARGS
    )

    ALLOWED_COPY_ARGS = _ALLOWED_SHARED_ARGS + [
        'CopySourceIfMatch',
        'CopySourceIfModifiedSince',
        'CopySourceIfNoneMatch',
        'CopySourceIfUnmodifiedSince',
        'CopySourceSSECustomerAlgorithm',
        'CopySourceSSECustomerKey',
        'CopySourceSSECustomerKeyMD5',
        'MetadataDirective',
        'TaggingDirective',
        'AnnotationDirective',
    ]

    ALLOWED_DELETE_ARGS = [
        'MFA',
        'VersionId',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]

    VALIDATE_SUPPORTED_BUCKET_VALUES = True

    _UNSUPPORTED_BUCKET_PATTERNS = UNSUPPORTED_BUCKET_PATTERNS

    def __init__(
        self,
        client: Any,
        config: TransferConfig | None = None,
        osutil: OSUtils | None = None,
        executor_cls: type[BaseExecutor] | None = None,
    ) -> None:
        self._client = client
        self._config = config if config is not None else TransferConfig()
        self._osutil = osutil if osutil is not None else OSUtils()
        self._coordinator_controller = TransferCoordinatorController()
        self._id_counter = 0
        # Guards the id counter, the shut-down flag and coordinator registration.
        self._submission_lock = threading.RLock()
        self._is_shutdown = False

        self._request_executor = BoundedExecutor(
            max_size=self._config.max_request_queue_size,
            max_num_threads=self._config.max_request_concurrency,
            tag_semaphores={
                IN_MEMORY_UPLOAD_TAG: TaskSemaphore(
                    self._config.max_in_memory_upload_chunks
                ),
                IN_MEMORY_DOWNLOAD_TAG: SlidingWindowSemaphore(
                    self._config.max_in_memory_download_chunks
                ),
            },
            executor_cls=executor_cls,
        )
        self._submission_executor = BoundedExecutor(
            max_size=self._config.max_submission_queue_size,
            max_num_threads=self._config.max_submission_concurrency,
            executor_cls=executor_cls,
        )
        # One thread writes every download's bytes, in submission order.
        self._io_executor = BoundedExecutor(
            max_size=self._config.max_io_queue_size,
            max_num_threads=1,
            executor_cls=executor_cls,
        )

        self._bandwidth_limiter: BandwidthLimiter | None = None
        if self._config.max_bandwidth is not None:
            logger.debug('Setting max_bandwidth to %s', self._config.max_bandwidth)
            self._bandwidth_limiter = BandwidthLimiter(
                LeakyBucket(self._config.max_bandwidth)
            )

        self._register_handlers()

    @property
    def client(self) -> Any:
        """The botocore S3 client the transfers use."""
        return self._client

    @property
    def config(self) -> TransferConfig:
        """The transfer settings."""
        return self._config

    def upload(
        self,
        fileobj: UploadSource,
        bucket: str,
        key: str,
        extra_args: ExtraArgs | None = None,
        subscribers: Sequence[BaseSubscriber] | None = None,
    ) -> TransferFuture:
        """Upload a file name, seekable or readable object to ``bucket``/``key``."""
        return self._upload(fileobj, bucket, key, extra_args, subscribers)

    def _upload(
        self,
        fileobj: UploadSource,
        bucket: str,
        key: str,
        extra_args: ExtraArgs | None,
        subscribers: Sequence[BaseSubscriber] | None,
        resume_token: ResumeToken | None = None,
    ) -> TransferFuture:
        extra_args = extra_args.copy() if extra_args else {}
        if subscribers is None:
            subscribers = []
        self._validate_all_known_args(extra_args, self.ALLOWED_UPLOAD_ARGS)
        validate_names(bucket, key)
        self._validate_if_bucket_supported(bucket)
        self._add_operation_defaults(extra_args)
        call_args = CallArgs(
            fileobj=fileobj,
            bucket=bucket,
            key=key,
            extra_args=extra_args,
            subscribers=subscribers,
        )
        extra_main_kwargs: dict[str, Any] = {}
        if self._bandwidth_limiter:
            extra_main_kwargs['bandwidth_limiter'] = self._bandwidth_limiter
        self._add_resume_options(extra_main_kwargs, fileobj, resume_token)
        return self._submit_transfer(call_args, UploadSubmissionTask, extra_main_kwargs)

    def download(
        self,
        bucket: str,
        key: str,
        fileobj: DownloadTarget,
        extra_args: ExtraArgs | None = None,
        subscribers: Sequence[BaseSubscriber] | None = None,
    ) -> TransferFuture:
        """Download ``bucket``/``key`` into a file name or writable object."""
        return self._download(bucket, key, fileobj, extra_args, subscribers)

    def _download(
        self,
        bucket: str,
        key: str,
        fileobj: DownloadTarget,
        extra_args: ExtraArgs | None,
        subscribers: Sequence[BaseSubscriber] | None,
        resume_token: ResumeToken | None = None,
    ) -> TransferFuture:
        if extra_args is None:
            extra_args = {}
        if subscribers is None:
            subscribers = []
        self._validate_all_known_args(extra_args, self.ALLOWED_DOWNLOAD_ARGS)
        validate_names(bucket, key)
        self._validate_if_bucket_supported(bucket)
        call_args = CallArgs(
            bucket=bucket,
            key=key,
            fileobj=fileobj,
            extra_args=extra_args,
            subscribers=subscribers,
        )
        extra_main_kwargs: dict[str, Any] = {'io_executor': self._io_executor}
        if self._bandwidth_limiter:
            extra_main_kwargs['bandwidth_limiter'] = self._bandwidth_limiter
        self._add_resume_options(extra_main_kwargs, fileobj, resume_token)
        return self._submit_transfer(
            call_args, DownloadSubmissionTask, extra_main_kwargs
        )

    def resume(
        self,
        token: ResumeToken | str | bytes,
        extra_args: ExtraArgs | None = None,
        subscribers: Sequence[BaseSubscriber] | None = None,
    ) -> TransferFuture:
        """Continue the upload or download that ``token`` describes.

        ``token`` is a ``ResumeToken`` (``TransferFuture.resume_token``) or its
        ``to_json()`` text. ``extra_args`` default to the non-secret ones recorded;
        an SSE-C transfer needs its ``SSECustomerKey`` given again. The state is
        checked against the file and S3 first (see docs/resume.md).
        """
        if isinstance(token, (str, bytes)):
            token = ResumeToken.from_json(token)
        if not isinstance(token, ResumeToken):
            raise TypeError('token must be a ResumeToken or its to_json() text')
        merged = dict(token.extra_args)
        merged.update(extra_args or {})
        if 'SSECustomerAlgorithm' in merged and 'SSECustomerKey' not in merged:
            raise ValueError(
                'This transfer used SSE-C: give its SSECustomerKey again in '
                'extra_args (keys are never stored in a resume token).'
            )
        if token.kind == UPLOAD:
            return self._upload(
                token.filename, token.bucket, token.key, merged, subscribers, token
            )
        return self._download(
            token.bucket, token.key, token.filename, merged, subscribers, token
        )

    def _add_resume_options(
        self,
        extra_main_kwargs: dict[str, Any],
        fileobj: object,
        token: ResumeToken | None,
    ) -> None:
        """Resume applies to file names only, and only when asked for."""
        if not isinstance(fileobj, str):
            if token is not None:
                raise ValueError('only transfers of a file name can be resumed')
            return
        options = _resume_options(self._config, token)
        if options is not None:
            extra_main_kwargs['resume'] = options

    def copy(
        self,
        copy_source: CopySource,
        bucket: str,
        key: str,
        extra_args: ExtraArgs | None = None,
        subscribers: Sequence[BaseSubscriber] | None = None,
        source_client: Any = None,
    ) -> TransferFuture:
        """Copy ``copy_source`` (Bucket, Key, VersionId) to ``bucket``/``key``."""
        if extra_args is None:
            extra_args = {}
        if subscribers is None:
            subscribers = []
        if source_client is None:
            source_client = self._client
        require_extra_args_mapping(extra_args)
        self._warn_on_ignored_copy_args(extra_args)
        self._validate_all_known_args(extra_args, self.ALLOWED_COPY_ARGS)
        if isinstance(copy_source, dict):
            self._validate_if_bucket_supported(copy_source.get('Bucket'))
        validate_names(bucket, key)
        self._validate_if_bucket_supported(bucket)
        call_args = CallArgs(
            copy_source=copy_source,
            bucket=bucket,
            key=key,
            extra_args=extra_args,
            subscribers=subscribers,
            source_client=source_client,
        )
        return self._submit_transfer(call_args, CopySubmissionTask)

    def delete(
        self,
        bucket: str,
        key: str,
        extra_args: ExtraArgs | None = None,
        subscribers: Sequence[BaseSubscriber] | None = None,
    ) -> TransferFuture:
        """Delete ``bucket``/``key``."""
        if extra_args is None:
            extra_args = {}
        if subscribers is None:
            subscribers = []
        self._validate_all_known_args(extra_args, self.ALLOWED_DELETE_ARGS)
        validate_names(bucket, key)
        self._validate_if_bucket_supported(bucket)
        call_args = CallArgs(
            bucket=bucket,
            key=key,
            extra_args=extra_args,
            subscribers=subscribers,
        )
        return self._submit_transfer(call_args, DeleteSubmissionTask)

    @staticmethod
    def _warn_on_ignored_copy_args(extra_args: ExtraArgs) -> None:
        if extra_args.get('Metadata') and extra_args.get('MetadataDirective') is None:
            logger.warning(
                "Metadata was supplied without a metadata directive. The "
                "supplied metadata will be ignored and source metadata will be "
                "preserved. Set the metadata directive to 'REPLACE' to apply "
                "the supplied metadata."
            )
        if extra_args.get('Tagging') and extra_args.get('TaggingDirective') is None:
            logger.warning(
                "Tagging was supplied without a tagging directive. The "
                "supplied tagging will be ignored and source tags will be "
                "preserved. Set the tagging directive to 'REPLACE' to apply "
                "the supplied tagging."
            )

    def _validate_if_bucket_supported(self, bucket: str | None) -> None:
        if self.VALIDATE_SUPPORTED_BUCKET_VALUES:
            validate_bucket_supported(bucket, self._UNSUPPORTED_BUCKET_PATTERNS)

    def _validate_all_known_args(
        self, actual: Iterable[str], allowed: Sequence[str]
    ) -> None:
        validate_extra_args(actual, allowed)

    def _add_operation_defaults(self, extra_args: ExtraArgs) -> None:
        config = self._client.meta.config
        if config.request_checksum_calculation == 'when_supported':
            set_default_checksum_algorithm(extra_args)

    def _submit_transfer(
        self,
        call_args: CallArgs,
        submission_task_cls: type[SubmissionTask],
        extra_main_kwargs: dict[str, Any] | None = None,
    ) -> TransferFuture:
        if not extra_main_kwargs:
            extra_main_kwargs = {}
        with self._submission_lock:
            self._raise_if_shut_down()
            transfer_future, coordinator = self._get_future_with_coordinator(call_args)
            try:
                self._start_submission(
                    transfer_future, coordinator, submission_task_cls, extra_main_kwargs
                )
            except BaseException:
                # E.g. bad subscribers, or Ctrl-C while waiting for room in the
                # submission queue: nothing will ever finish this transfer, so
                # untrack it or every later shutdown() would wait for it forever.
                self._coordinator_controller.remove_transfer_coordinator(coordinator)
                raise
            self._id_counter += 1
        return transfer_future

    def _start_submission(
        self,
        transfer_future: TransferFuture,
        coordinator: TransferCoordinator,
        submission_task_cls: type[SubmissionTask],
        extra_main_kwargs: dict[str, Any],
    ) -> None:
        for callback in get_callbacks(transfer_future, 'done'):
            coordinator.add_done_callback(callback)
        main_kwargs = self._get_submission_task_main_kwargs(
            transfer_future, extra_main_kwargs
        )
        submission_task = submission_task_cls(
            transfer_coordinator=coordinator, main_kwargs=main_kwargs
        )
        try:
            self._submission_executor.submit(submission_task)
        except RuntimeError as e:
            # The executors were shut down under us.
            raise RuntimeError(
                f'Cannot submit a transfer: the TransferManager is shut down ({e}).'
            ) from e

    def _raise_if_shut_down(self) -> None:
        if self._is_shutdown:
            raise RuntimeError(
                'Cannot submit a transfer: this TransferManager has been shut '
                'down. Create a new TransferManager for more transfers.'
            )

    def _get_future_with_coordinator(
        self, call_args: CallArgs
    ) -> tuple[TransferFuture, TransferCoordinator]:
        transfer_id = self._id_counter
        transfer_coordinator = TransferCoordinator(transfer_id=transfer_id)
        self._coordinator_controller.add_transfer_coordinator(transfer_coordinator)
        # Untrack the coordinator first thing once it is done.
        transfer_coordinator.add_done_callback(
            self._coordinator_controller.remove_transfer_coordinator,
            transfer_coordinator,
        )
        meta = TransferMeta(call_args, transfer_id=transfer_id)
        transfer_future = TransferFuture(meta=meta, coordinator=transfer_coordinator)
        return transfer_future, transfer_coordinator

    def _get_submission_task_main_kwargs(
        self, transfer_future: TransferFuture, extra_main_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        main_kwargs = {
            'client': self._client,
            'config': self._config,
            'osutil': self._osutil,
            'request_executor': self._request_executor,
            'transfer_future': transfer_future,
        }
        main_kwargs.update(extra_main_kwargs)
        return main_kwargs

    def _register_handlers(self) -> None:
        # Progress and bandwidth limiting only count bytes that botocore
        # actually sends, not its reads for checksums or signing.
        event_name = 'request-created.s3'
        register_once(
            self._client.meta.events,
            [
                (
                    'register_first',
                    event_name,
                    signal_not_transferring,
                    's3upload-not-transferring',
                ),
                (
                    'register_last',
                    event_name,
                    signal_transferring,
                    's3upload-transferring',
                ),
                # Fast path (docs/performance.md): a cheaper aws-chunked encoder.
                (
                    'register_last',
                    event_name,
                    use_offset_reads,
                    's3upload-aws-chunked-offset-reads',
                ),
            ],
        )

    def __enter__(self) -> TransferManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        *args: Any,
    ) -> None:
        cancel = False
        cancel_msg = ''
        cancel_exc_type: type[BaseException] = FatalError
        if exc_type:
            cancel = True
            if _resume_options(self._config) is not None:
                # An exception or Ctrl-C interrupts: resumable transfers keep state.
                self._coordinator_controller.keep_resume_state()
            cancel_msg = str(exc_value)
            if not cancel_msg:
                cancel_msg = repr(exc_value)
            if isinstance(exc_value, KeyboardInterrupt):
                cancel_exc_type = CancelledError
        self._shutdown(cancel, cancel_msg, cancel_exc_type)

    def shutdown(self, cancel: bool = False, cancel_msg: str = '') -> None:
        """Wait for (or, with ``cancel``, cancel) every transfer, then stop threads.

        The original passed its arguments shifted and raised ``TypeError`` when
        ``cancel=True`` met a running transfer; see docs/compatibility.md.
        """
        self._shutdown(cancel, cancel_msg)

    def _shutdown(
        self,
        cancel: bool,
        cancel_msg: str,
        exc_type: type[BaseException] = CancelledError,
    ) -> None:
        with self._submission_lock:
            self._is_shutdown = True
        if cancel:
            self._coordinator_controller.cancel(cancel_msg, exc_type)
        try:
            self._coordinator_controller.wait()
        except KeyboardInterrupt:
            if _resume_options(self._config) is not None:
                self._coordinator_controller.keep_resume_state()
            self._coordinator_controller.cancel('KeyboardInterrupt()')
            raise
        finally:
            self._submission_executor.shutdown()
            self._request_executor.shutdown()
            self._io_executor.shutdown()


class TransferCoordinatorController:
    """Tracks the unfinished transfers of one manager, to cancel or wait on them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tracked_transfer_coordinators: set[TransferCoordinator] = set()

    @property
    def tracked_transfer_coordinators(self) -> set[TransferCoordinator]:
        with self._lock:
            return set(self._tracked_transfer_coordinators)

    def add_transfer_coordinator(
        self, transfer_coordinator: TransferCoordinator
    ) -> None:
        """Track an unfinished transfer."""
        with self._lock:
            self._tracked_transfer_coordinators.add(transfer_coordinator)

    def remove_transfer_coordinator(
        self, transfer_coordinator: TransferCoordinator
    ) -> None:
        """Stop tracking a (finished) transfer."""
        with self._lock:
            self._tracked_transfer_coordinators.remove(transfer_coordinator)

    def keep_resume_state(self) -> None:
        """Make every tracked resumable transfer keep its state when it ends."""
        for transfer_coordinator in self.tracked_transfer_coordinators:
            transfer_coordinator.keep_resume_state = True

    def cancel(
        self, msg: str = '', exc_type: type[BaseException] = CancelledError
    ) -> None:
        """Cancel every tracked transfer with ``exc_type(msg)``."""
        for transfer_coordinator in self.tracked_transfer_coordinators:
            transfer_coordinator.cancel(msg, exc_type)

    def wait(self) -> None:
        """Block until every tracked transfer is done; re-raise Ctrl-C."""
        try:
            for transfer_coordinator in self.tracked_transfer_coordinators:
                transfer_coordinator.result()
        except KeyboardInterrupt:
            logger.debug('Received KeyboardInterrupt in wait()')
            raise
        except Exception:
            # A failed transfer ends the wait; the executor shutdown that
            # follows still waits for every task.
            logger.debug('Exception while waiting on transfers', exc_info=True)
