"""Abstractions over S3's upload/download operations.

This package provides two APIs:

* :mod:`s3transfer.manager` — the managed, asynchronous ``TransferManager`` used by
  boto3 and the AWS CLI (uploads, downloads, copies and deletes with futures and
  subscribers).
* This module — the original synchronous ``S3Transfer`` API, kept for older callers.

The legacy API transparently switches to multipart transfers for large files, uses
threads to transfer parts in parallel, reports progress through a callback and retries
interrupted downloads.

Uploading a file::

    client = botocore.session.get_session().create_client('s3', 'us-west-2')
    transfer = S3Transfer(client)
    transfer.upload_file('/tmp/myfile', 'bucket', 'key')

Downloading it back::

    transfer.download_file('bucket', 'key', '/tmp/myfile.copy')

Extra arguments are passed through to the underlying requests; the allowed ones are
listed in ``S3Transfer.ALLOWED_UPLOAD_ARGS`` and ``S3Transfer.ALLOWED_DOWNLOAD_ARGS``::

    transfer.upload_file(
        '/tmp/myfile', 'bucket', 'key',
        extra_args={'ContentType': 'text/plain', 'Metadata': {'a': 'b'}},
    )

Progress is reported by calling ``callback(bytes_amount)`` as bytes move. The callback
is invoked from worker threads, so it must be thread-safe; the amount may be negative
when a retried request rewinds its body::

    class ProgressPercentage:
        def __init__(self, filename):
            self._filename = filename
            self._size = float(os.path.getsize(filename))
            self._seen_so_far = 0
            self._lock = threading.Lock()

        def __call__(self, bytes_amount):
            with self._lock:
                self._seen_so_far += bytes_amount
                percentage = (self._seen_so_far / self._size) * 100
                print(f'{self._filename}  {self._seen_so_far} / {self._size}'
                      f'  ({percentage:.2f}%)')

    transfer.upload_file(
        '/tmp/myfile', 'bucket', 'key', callback=ProgressPercentage('/tmp/myfile')
    )

Thresholds, part sizes and concurrency are configured with ``TransferConfig``::

    config = TransferConfig(
        multipart_threshold=8 * 1024 * 1024,
        max_concurrency=10,
        num_download_attempts=10,
    )
    transfer = S3Transfer(client, config)

Downloads are written to a temporary file next to the destination and renamed into
place only when complete; on failure the temporary file is removed.
"""

import concurrent.futures
import dataclasses
import functools
import logging
import os
import queue
import random
import string
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from botocore.compat import six  # noqa: F401  (re-exported, unused)
from botocore.exceptions import (  # noqa: F401  (re-exported, spec legacy.md)
    IncompleteReadError,
    ResponseStreamingError,
)
from botocore.vendored.requests.packages.urllib3.exceptions import (  # noqa: F401
    ReadTimeoutError,
)

__author__ = 'Amazon Web Services'
__version__ = '0.19.3'

# Package imports come after __version__: s3transfer.constants reads it on import.
import s3transfer.compat  # noqa: E402
from s3transfer.constants import CONTENT_HEADER_ARGS, SSE_C_ARGS  # noqa: E402
from s3transfer.exceptions import (  # noqa: E402, F401
    RetriesExceededError,
    S3UploadFailedError,
)
from s3transfer.retries import (  # noqa: E402
    LEGACY_RETRYABLE_DOWNLOAD_ERRORS,
    call_with_retries,
    download_retry_policy,
)
from s3transfer.utils import (  # noqa: E402
    LocalFiles,
    calculate_num_parts,
    calculate_range_parameter,
)
from s3transfer.validation import validate_extra_args  # noqa: E402

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

MB = 1024 * 1024
SHUTDOWN_SENTINEL = object()

_T = TypeVar('_T')
_UPLOAD_CALLBACK_OPERATIONS = ('PutObject', 'UploadPart')
_SINGLE_GET_READ_SIZE = 8 * 1024
_RANGED_GET_READ_SIZE = 16 * 1024


def random_file_extension(num_digits: int = 8) -> str:
    """Return ``num_digits`` random hex digits (either case), for temp file names."""
    return ''.join(random.choice(string.hexdigits) for _ in range(num_digits))


def disable_upload_callbacks(request: Any, operation_name: str, **kwargs: Any) -> None:
    """Silence progress callbacks of an upload body while botocore prepares it."""
    if operation_name in _UPLOAD_CALLBACK_OPERATIONS and hasattr(
        request.body, 'disable_callback'
    ):
        request.body.disable_callback()


def enable_upload_callbacks(request: Any, operation_name: str, **kwargs: Any) -> None:
    """Re-enable progress callbacks of an upload body just before it is sent."""
    if operation_name in _UPLOAD_CALLBACK_OPERATIONS and hasattr(
        request.body, 'enable_callback'
    ):
        request.body.enable_callback()


class QueueShutdownError(Exception):
    """An item was put on a ShutdownQueue after it was shut down."""


class ReadFileChunk:
    """A read-only window over part of a file, reporting reads to a callback."""

    def __init__(
        self,
        fileobj: Any,
        start_byte: int,
        chunk_size: int,
        full_file_size: int,
        callback: Callable[[int], Any] | None = None,
        enable_callback: bool = True,
    ) -> None:
        self._fileobj = fileobj
        self._start_byte = start_byte
        self._size = min(full_file_size - start_byte, chunk_size)
        self._fileobj.seek(self._start_byte)
        self._amount_read = 0
        self._callback = callback
        self._callback_enabled = enable_callback

    @classmethod
    def from_filename(
        cls,
        filename: str,
        start_byte: int,
        chunk_size: int,
        callback: Callable[[int], Any] | None = None,
        enable_callback: bool = True,
    ) -> 'ReadFileChunk':
        """Open ``filename`` and return the window starting at ``start_byte``."""
        f = open(filename, 'rb')
        file_size = os.fstat(f.fileno()).st_size
        return cls(f, start_byte, chunk_size, file_size, callback, enable_callback)

    def read(self, amount: int | None = None) -> bytes:
        """Read up to ``amount`` bytes (all remaining if None or negative)."""
        remaining = max(self._size - self._amount_read, 0)
        if amount is None or amount < 0:
            amount_to_read = remaining
        else:
            amount_to_read = min(remaining, amount)
        data = self._fileobj.read(amount_to_read)
        self._amount_read += len(data)
        if self._callback is not None and self._callback_enabled:
            self._callback(len(data))
        return data

    def enable_callback(self) -> None:
        """Report reads and seeks to the callback."""
        self._callback_enabled = True

    def disable_callback(self) -> None:
        """Stop reporting reads and seeks to the callback."""
        self._callback_enabled = False

    def seek(self, where: int, whence: int = 0) -> None:
        """Move to ``where`` relative to the window start, current position or end.

        The callback receives the (unclamped) position change.
        """
        position = self._absolute_position(where, whence)
        self._fileobj.seek(self._start_byte + position)
        if self._callback is not None and self._callback_enabled:
            self._callback(position - self._amount_read)
        self._amount_read = position

    def _absolute_position(self, where: int, whence: int) -> int:
        if whence == 0:
            return where
        if whence == 1:
            return self._amount_read + where
        if whence == 2:
            return self._size + where
        raise ValueError(f'invalid whence ({whence}, should be 0, 1 or 2)')

    def close(self) -> None:
        """Close the underlying file object."""
        self._fileobj.close()

    def tell(self) -> int:
        """Return the position relative to the window start."""
        return self._amount_read

    def __len__(self) -> int:
        return self._size

    def __enter__(self) -> 'ReadFileChunk':
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        # An empty iterator: a sized body must not be streamed line by line.
        return iter([])


class StreamReaderProgress:
    """Wraps a readable stream, reporting the length of each read to a callback."""

    def __init__(
        self, stream: Any, callback: Callable[[int], Any] | None = None
    ) -> None:
        self._stream = stream
        self._callback = callback

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        """Read from the stream and report the number of bytes returned."""
        value = self._stream.read(*args, **kwargs)
        if self._callback is not None:
            self._callback(len(value))
        return value


class OSUtils(LocalFiles):
    """File-system access for the legacy API (a seam for tests)."""

    def open_file_chunk_reader(
        self,
        filename: str,
        start_byte: int,
        size: int,
        callback: Callable[[int], Any] | None,
    ) -> ReadFileChunk:
        """Open a window of ``filename`` with its callback initially disabled."""
        return ReadFileChunk.from_filename(
            filename, start_byte, size, callback, enable_callback=False
        )

    def rename_file(self, current_filename: str, new_filename: str) -> None:
        """Rename a file, replacing the destination if it exists."""
        s3transfer.compat.rename_file(current_filename, new_filename)


# Plain attributes (spec legacy.md): no validation, and no value equality or repr.
@dataclasses.dataclass(eq=False, repr=False)
class TransferConfig:
    """Thresholds, part size, concurrency and retry settings of the legacy API."""

    multipart_threshold: int = 8 * MB
    max_concurrency: int = 10
    multipart_chunksize: int = 8 * MB
    num_download_attempts: int = 5
    max_io_queue: int = 100


def _retry_download(max_attempts: int, attempt: Callable[[], _T]) -> _T:
    """Run ``attempt`` with the legacy API's (wider) retryable download errors."""
    policy = download_retry_policy(max_attempts, LEGACY_RETRYABLE_DOWNLOAD_ERRORS)
    return call_with_retries(policy, attempt, log=logger)


def _iter_reads(stream: StreamReaderProgress, read_size: int) -> Iterator[bytes]:
    """Iterate ``read_size`` reads until ``b''`` or a StopIteration from read()."""
    # iter(callable, sentinel) ends quietly when the callable raises StopIteration.
    return iter(lambda: stream.read(read_size), b'')


def _num_parts(size: int, part_size: int) -> int:
    return calculate_num_parts(size, part_size)


class _PartsJob:
    """What both legacy multipart classes are built from: a client, the settings,
    file access and the executor class their parts run on."""

    def __init__(
        self,
        client: Any,
        config: TransferConfig,
        osutil: OSUtils,
        executor_cls: type = concurrent.futures.ThreadPoolExecutor,
    ) -> None:
        self._client = client
        self._config = config
        self._os = osutil
        self._executor_cls = executor_cls


class MultipartUploader(_PartsJob):
    """Uploads a file in parts (CreateMultipartUpload / UploadPart / Complete)."""

    UPLOAD_PART_ARGS = [
        'SSECustomerKey',
        'SSECustomerAlgorithm',
        'SSECustomerKeyMD5',
        'RequestPayer',
    ]

    def upload_file(
        self,
        filename: str,
        bucket: str,
        key: str,
        callback: Callable[[int], Any] | None,
        extra_args: dict[str, Any],
    ) -> None:
        """Upload ``filename`` in parts; any part failure aborts the upload."""
        response = self._client.create_multipart_upload(
            Bucket=bucket, Key=key, **extra_args
        )
        upload_id = response['UploadId']
        try:
            parts = self._upload_parts(
                upload_id, filename, bucket, key, callback, extra_args
            )
        except Exception as e:
            logger.debug(
                'Exception raised while uploading parts, aborting multipart upload.',
                exc_info=True,
            )
            self._client.abort_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id
            )
            raise S3UploadFailedError(
                f'Failed to upload {filename} to {bucket}/{key}: {e}'
            )
        self._client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={'Parts': parts},
        )

    def _upload_parts(
        self,
        upload_id: str,
        filename: str,
        bucket: str,
        key: str,
        callback: Callable[[int], Any] | None,
        extra_args: dict[str, Any],
    ) -> list[dict[str, Any]]:
        part_args = {k: v for k, v in extra_args.items() if k in self.UPLOAD_PART_ARGS}
        part_size = self._config.multipart_chunksize
        num_parts = _num_parts(self._os.get_file_size(filename), part_size)

        def upload_one(part_number: int) -> dict[str, Any]:
            start_byte = part_size * (part_number - 1)
            with self._os.open_file_chunk_reader(
                filename, start_byte, part_size, callback
            ) as body:
                response = self._client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=body,
                    **part_args,
                )
            return {'ETag': response['ETag'], 'PartNumber': part_number}

        with self._executor_cls(max_workers=self._config.max_concurrency) as executor:
            return list(executor.map(upload_one, range(1, num_parts + 1)))


class ShutdownQueue(queue.Queue):
    """A queue whose ``put`` fails once ``trigger_shutdown`` has been called."""

    def _init(self, maxsize: int) -> None:
        self._shutdown = False
        super()._init(maxsize)

    def trigger_shutdown(self) -> None:
        """Refuse every later put, and wake puts blocked on a full queue."""
        with self.not_full:
            self._shutdown = True
            self.not_full.notify_all()
        logger.debug('The IO queue is now shutdown.')

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item``, blocking while full; raise QueueShutdownError if shut down.

        ``block`` and ``timeout`` are accepted for ``queue.Queue``'s signature and
        ignored: a put always waits for room or for shutdown.
        """
        # Re-implemented on the queue's own condition so that a put blocked on a full
        # queue also fails at shutdown instead of waiting for a reader that is gone.
        with self.not_full:
            while not self._shutdown and 0 < self.maxsize <= self._qsize():
                self.not_full.wait()
            if self._shutdown:
                raise QueueShutdownError(
                    'Cannot put item to queue when queue has been shutdown.'
                )
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class MultipartDownloader(_PartsJob):
    """Downloads an object with parallel ranged GETs and one writer thread."""

    def __init__(
        self,
        client: Any,
        config: TransferConfig,
        osutil: OSUtils,
        executor_cls: type = concurrent.futures.ThreadPoolExecutor,
    ) -> None:
        super().__init__(client, config, osutil, executor_cls)
        self._ioqueue = ShutdownQueue(self._config.max_io_queue)

    def download_file(
        self,
        bucket: str,
        key: str,
        filename: str,
        object_size: int,
        extra_args: dict[str, Any],
        callback: Callable[[int], Any] | None = None,
    ) -> None:
        """Download ``object_size`` bytes of the object into ``filename``."""
        with self._executor_cls(max_workers=2) as controller:
            parts_future = controller.submit(
                functools.partial(
                    self._download_file_as_future,
                    bucket,
                    key,
                    filename,
                    object_size,
                    callback,
                )
            )
            io_future = controller.submit(
                functools.partial(self._perform_io_writes, filename)
            )
            done, _ = concurrent.futures.wait(
                [parts_future, io_future],
                return_when=concurrent.futures.FIRST_EXCEPTION,
            )
            # The writer first: when it fails, the parts job only sees the
            # queue shut down, which is a consequence, not the cause.
            for future in (io_future, parts_future):
                if future in done:
                    future.result()

    def _download_file_as_future(
        self,
        bucket: str,
        key: str,
        filename: str,
        object_size: int,
        callback: Callable[[int], Any] | None,
    ) -> None:
        part_size = self._config.multipart_chunksize
        num_parts = _num_parts(object_size, part_size)

        def download_range(part_index: int) -> None:
            range_param = self._calculate_range_param(part_size, part_index, num_parts)
            start = part_index * part_size
            _retry_download(
                self._config.num_download_attempts,
                lambda: self._download_range_once(
                    bucket, key, range_param, start, callback
                ),
            )

        try:
            with self._executor_cls(
                max_workers=self._config.max_concurrency
            ) as executor:
                list(executor.map(download_range, range(num_parts)))
        finally:
            self._ioqueue.put(SHUTDOWN_SENTINEL)

    def _calculate_range_param(
        self, part_size: int, part_index: int, num_parts: int
    ) -> str:
        return calculate_range_parameter(part_size, part_index, num_parts)

    def _download_range_once(
        self,
        bucket: str,
        key: str,
        range_param: str,
        start: int,
        callback: Callable[[int], Any] | None,
    ) -> None:
        response = self._client.get_object(Bucket=bucket, Key=key, Range=range_param)
        body = StreamReaderProgress(response['Body'], callback)
        offset = start
        for chunk in _iter_reads(body, _RANGED_GET_READ_SIZE):
            self._ioqueue.put((offset, chunk))
            offset += len(chunk)

    def _perform_io_writes(self, filename: str) -> None:
        try:
            with self._os.open(filename, 'wb') as f:
                self._write_queued_chunks(f)
        except Exception:
            logger.debug('Caught exception in IO thread.', exc_info=True)
            self._ioqueue.trigger_shutdown()
            raise

    def _write_queued_chunks(self, f: Any) -> None:
        while True:
            task = self._ioqueue.get()
            if task is SHUTDOWN_SENTINEL:
                logger.debug('Shutdown sentinel received in IO handler.')
                return
            offset, data = task
            f.seek(offset)
            f.write(data)


class S3Transfer:
    """The legacy synchronous transfer API: ``upload_file`` and ``download_file``."""

    ALLOWED_DOWNLOAD_ARGS = ['VersionId', *SSE_C_ARGS, 'RequestPayer']

    ALLOWED_UPLOAD_ARGS = [
        'ACL',
        *CONTENT_HEADER_ARGS,
        'GrantFullControl',
        'GrantRead',
        'GrantReadACP',
        'GrantWriteACL',
        'Metadata',
        'RequestPayer',
        'ServerSideEncryption',
        'StorageClass',
        *SSE_C_ARGS,
        'SSEKMSKeyId',
        'SSEKMSEncryptionContext',
        'Tagging',
    ]

    def __init__(
        self,
        client: Any,
        config: TransferConfig | None = None,
        osutil: OSUtils | None = None,
    ) -> None:
        self._client = client
        self._client.meta.events.register(
            'before-call.s3.*', self._update_checksum_context
        )
        self._config = config if config is not None else TransferConfig()
        self._osutil = osutil if osutil is not None else OSUtils()

    def _update_checksum_context(self, params: dict[str, Any], **kwargs: Any) -> None:
        # Send checksums as headers, not as trailers of an aws-chunked body.
        checksum_context = params.get('context', {}).get('checksum', {})
        if 'request_algorithm' in checksum_context:
            checksum_context['request_algorithm']['in'] = 'header'

    def upload_file(
        self,
        filename: str,
        bucket: str,
        key: str,
        callback: Callable[[int], Any] | None = None,
        extra_args: dict[str, Any] | None = None,
    ) -> None:
        """Upload ``filename`` to ``bucket``/``key``, in parts when it is large."""
        if extra_args is None:
            extra_args = {}
        self._validate_all_known_args(extra_args, self.ALLOWED_UPLOAD_ARGS)
        events = self._client.meta.events
        events.register_first(
            'request-created.s3',
            disable_upload_callbacks,
            unique_id='s3upload-callback-disable',
        )
        events.register_last(
            'request-created.s3',
            enable_upload_callbacks,
            unique_id='s3upload-callback-enable',
        )
        size = self._osutil.get_file_size(filename)
        if size >= self._config.multipart_threshold:
            uploader = MultipartUploader(self._client, self._config, self._osutil)
            uploader.upload_file(filename, bucket, key, callback, extra_args)
            return
        with self._osutil.open_file_chunk_reader(
            filename, 0, size, callback=callback
        ) as body:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, **extra_args)

    def download_file(
        self,
        bucket: str,
        key: str,
        filename: str,
        extra_args: dict[str, Any] | None = None,
        callback: Callable[[int], Any] | None = None,
    ) -> None:
        """Download ``bucket``/``key`` to ``filename`` via a temporary file."""
        if extra_args is None:
            extra_args = {}
        self._validate_all_known_args(extra_args, self.ALLOWED_DOWNLOAD_ARGS)
        object_size = self._object_size(bucket, key, extra_args)
        temp_filename = filename + os.extsep + random_file_extension()
        try:
            if object_size >= self._config.multipart_threshold:
                downloader = MultipartDownloader(
                    self._client, self._config, self._osutil
                )
                downloader.download_file(
                    bucket, key, temp_filename, object_size, extra_args, callback
                )
            else:
                self._get_object(bucket, key, temp_filename, extra_args, callback)
        except BaseException:
            logger.debug(
                'Exception caught in download_file, removing partial file: %s',
                temp_filename,
                exc_info=True,
            )
            self._osutil.remove_file(temp_filename)
            raise
        self._osutil.rename_file(temp_filename, filename)

    def _validate_all_known_args(
        self, actual: dict[str, Any], allowed: list[str]
    ) -> None:
        validate_extra_args(actual, allowed)

    def _get_object(
        self,
        bucket: str,
        key: str,
        filename: str,
        extra_args: dict[str, Any],
        callback: Callable[[int], Any] | None,
    ) -> None:
        def attempt() -> None:
            response = self._client.get_object(Bucket=bucket, Key=key, **extra_args)
            body = StreamReaderProgress(response['Body'], callback)
            with self._osutil.open(filename, 'wb') as f:
                for chunk in _iter_reads(body, _SINGLE_GET_READ_SIZE):
                    f.write(chunk)

        _retry_download(self._config.num_download_attempts, attempt)

    def _object_size(self, bucket: str, key: str, extra_args: dict[str, Any]) -> int:
        response = self._client.head_object(Bucket=bucket, Key=key, **extra_args)
        return response['ContentLength']
