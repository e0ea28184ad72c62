"""Helpers shared by every transfer engine.

Part/range math, progress plumbing, file-system access (``OSUtils``), the request body
window (``ReadFileChunk``), the executor semaphores and part-size adjustment live here.
"""

import dataclasses
import functools
import logging
import math
import os
import random
import stat
import string
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import (  # noqa: F401  (module attributes, spec utils.md)
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.httpchecksum import DEFAULT_CHECKSUM_ALGORITHM, AwsChunkedWrapper
from botocore.utils import is_s3express_bucket  # re-exported: crt imports it from here

from s3transfer._events import request_body
from s3transfer.compat import SOCKET_ERROR, fallocate, rename_file  # noqa: F401
from s3transfer.constants import FULL_OBJECT_CHECKSUM_ARGS

# Defined with the other retry rules; a module attribute here as the spec says.
from s3transfer.retries import S3_RETRYABLE_DOWNLOAD_ERRORS  # noqa: F401

try:
    from botocore.utils import create_nested_client as create_client
except ImportError:  # botocore releases older than the nested-client helper

    def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
        """Create a client directly from ``session``."""
        return session.create_client(*args, **kwargs)


MAX_PARTS = 10000
# The maximum size of a single PutObject / UploadPart: 5 GiB.
MAX_SINGLE_UPLOAD_SIZE = 5 * (1024**3)
# The minimum size of every upload part except the last: 5 MiB.
MIN_UPLOAD_CHUNKSIZE = 5 * (1024**2)

logger = logging.getLogger(__name__)

_ProgressCallback = Callable[..., Any]


def random_file_extension(num_digits: int = 8) -> str:
    """Return ``num_digits`` random hex digits (either case)."""
    return ''.join(random.choices(string.hexdigits, k=num_digits))


def signal_not_transferring(request: Any, operation_name: str, **kwargs: Any) -> None:
    """Event handler: tell an upload body that it is no longer being sent."""
    if operation_name in ('PutObject', 'UploadPart'):
        body = request_body(request)
        if hasattr(body, 'signal_not_transferring'):
            body.signal_not_transferring()


def signal_transferring(request: Any, operation_name: str, **kwargs: Any) -> None:
    """Event handler: tell an upload body (unwrapping aws-chunked) it is being sent."""
    if operation_name in ('PutObject', 'UploadPart'):
        body = request_body(request)
        if isinstance(body, AwsChunkedWrapper):
            body = getattr(body, '_raw', None)
        if hasattr(body, 'signal_transferring'):
            body.signal_transferring()


def calculate_num_parts(size: int, part_size: int) -> int:
    """Return how many ``part_size`` parts cover ``size`` bytes."""
    return int(math.ceil(size / float(part_size)))


def calculate_range_parameter(
    part_size: int, part_index: int, num_parts: int, total_size: int | None = None
) -> str:
    """Return the ``Range`` value of part ``part_index`` (the last is open-ended)."""
    start_range = part_index * part_size
    if part_index == num_parts - 1:
        end_range = '' if total_size is None else str(total_size - 1)
    else:
        end_range = str(start_range + part_size - 1)
    return f'bytes={start_range}-{end_range}'


def get_callbacks(transfer_future: Any, callback_type: str) -> list[Callable[..., Any]]:
    """Return each subscriber's ``on_<callback_type>`` bound to ``transfer_future``."""
    callback_name = 'on_' + callback_type
    return [
        functools.partial(getattr(subscriber, callback_name), future=transfer_future)
        for subscriber in transfer_future.meta.call_args.subscribers
        if hasattr(subscriber, callback_name)
    ]


def invoke_progress_callbacks(
    callbacks: Iterable[_ProgressCallback], bytes_transferred: int
) -> None:
    """Report ``bytes_transferred`` (possibly negative) to every callback, unless 0."""
    if bytes_transferred:
        for callback in callbacks:
            callback(bytes_transferred=bytes_transferred)


def get_filtered_dict(
    original_dict: dict,
    whitelisted_keys: Iterable | None = None,
    blocklisted_keys: Iterable | None = None,
) -> dict:
    """Keep items whose key is whitelisted or (given a blocklist) not blocklisted."""
    filtered_dict = {}
    for key, value in original_dict.items():
        if (whitelisted_keys and key in whitelisted_keys) or (
            blocklisted_keys and key not in blocklisted_keys
        ):
            filtered_dict[key] = value
    return filtered_dict


def add_s3express_defaults(bucket: str, extra_args: dict) -> None:
    """Deprecated: default ``ChecksumAlgorithm`` to crc32 for S3 Express buckets."""
    if is_s3express_bucket(bucket) and 'ChecksumAlgorithm' not in extra_args:
        extra_args['ChecksumAlgorithm'] = 'crc32'


def set_default_checksum_algorithm(extra_args: dict) -> None:
    """Default ``ChecksumAlgorithm`` unless a full-object checksum is supplied."""
    if any(checksum in extra_args for checksum in FULL_OBJECT_CHECKSUM_ARGS):
        return
    extra_args.setdefault('ChecksumAlgorithm', DEFAULT_CHECKSUM_ALGORITHM)


def create_nested_client(session: Any, service_name: str, **kwargs: Any) -> Any:
    """Create a client from inside another client's machinery (plugins disabled)."""
    return create_client(session, service_name, **kwargs)


class CallArgs:
    """The arguments of one transfer call, as attributes."""

    def __init__(self, **kwargs: Any) -> None:
        for arg, value in kwargs.items():
            setattr(self, arg, value)

    if TYPE_CHECKING:
        # Attributes are whatever the call passed (bucket, key, fileobj, ...).
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class FunctionContainer:
    """A function bound to its arguments, called with none."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._func = func
        self._args = args
        self._kwargs = kwargs

    def __repr__(self) -> str:
        return (
            f'Function: {self._func} with args {self._args} and kwargs {self._kwargs}'
        )

    def __call__(self) -> Any:
        return self._func(*self._args, **self._kwargs)


class CountCallbackInvoker:
    """Invoke a callback once the count is back at zero after finalization."""

    def __init__(self, callback: Callable[[], Any]) -> None:
        self._lock = threading.Lock()
        self._callback = callback
        self._count = 0
        self._is_finalized = False

    @property
    def current_count(self) -> int:
        """The current count."""
        with self._lock:
            return self._count

    def increment(self) -> None:
        """Add one to the count (only before finalization)."""
        with self._lock:
            if self._is_finalized:
                raise RuntimeError(
                    'Counter has been finalized it can no longer be incremented.'
                )
            self._count += 1

    def decrement(self) -> None:
        """Subtract one; invoke the callback if finalized and now at zero."""
        with self._lock:
            if self._count == 0:
                raise RuntimeError('Counter is at zero. It cannot dip below zero')
            self._count -= 1
            if self._is_finalized and self._count == 0:
                self._callback()

    def finalize(self) -> None:
        """Stop further increments; invoke the callback now if the count is zero."""
        with self._lock:
            self._is_finalized = True
            if self._count == 0:
                self._callback()


_FILE_KINDS = (
    (stat.S_ISREG, 'regular file'),
    (stat.S_ISDIR, 'folder'),
    (stat.S_ISCHR, 'character device'),
    (stat.S_ISBLK, 'block device'),
    (stat.S_ISFIFO, 'FIFO (named pipe)'),
    (stat.S_ISSOCK, 'socket'),
)


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words (for messages)."""
    for is_kind, name in _FILE_KINDS:
        if is_kind(mode):
            return name
    return 'special file'


class LocalFiles:
    """The file operations both ``OSUtils`` (this one and the legacy API's) share."""

    def get_file_size(self, filename: str) -> int:
        """Return the size of ``filename`` in bytes."""
        return os.path.getsize(filename)

    def open(self, filename: str, mode: str) -> IO:
        """Open ``filename`` with the builtin ``open``."""
        return open(filename, mode)

    def remove_file(self, filename: str) -> None:
        """Remove ``filename``; a missing file (or any OSError) is ignored."""
        try:
            os.remove(filename)
        except OSError:
            pass


class OSUtils(LocalFiles):
    """The single seam for file-system access (stateless, safe to subclass)."""

    _MAX_FILENAME_LEN = 255

    def open_file_chunk_reader(
        self,
        filename: str,
        start_byte: int,
        size: int,
        callbacks: list[_ProgressCallback],
    ) -> 'ReadFileChunk':
        """Return a ``ReadFileChunk`` window of ``filename`` (callbacks disabled)."""
        return ReadFileChunk.from_filename(
            filename, start_byte, size, callbacks, enable_callbacks=False
        )

    def open_file_chunk_reader_from_fileobj(
        self,
        fileobj: Any,
        chunk_size: int,
        full_file_size: int,
        callbacks: list[_ProgressCallback],
        close_callbacks: list[Callable[[], Any]] | None = None,
    ) -> 'ReadFileChunk':
        """Return a ``ReadFileChunk`` window of ``fileobj`` (callbacks disabled)."""
        return ReadFileChunk(
            fileobj,
            chunk_size,
            full_file_size,
            callbacks=callbacks,
            enable_callbacks=False,
            close_callbacks=close_callbacks,
        )

    def rename_file(self, current_filename: str, new_filename: str) -> None:
        """Rename, replacing ``new_filename`` if it exists."""
        rename_file(current_filename, new_filename)

    def is_special_file(self, filename: str) -> bool:
        """Whether ``filename`` is a character/block device, FIFO or socket."""
        try:
            mode = os.stat(filename).st_mode
        except (OSError, ValueError):  # what os.path.exists treats as missing
            return False
        return (
            stat.S_ISCHR(mode)
            or stat.S_ISBLK(mode)
            or stat.S_ISFIFO(mode)
            or stat.S_ISSOCK(mode)
        )

    def get_temp_filename(self, filename: str) -> str:
        """Return a random sibling name of ``filename`` whose basename fits 255."""
        suffix = os.extsep + random_file_extension()
        path = os.path.dirname(filename)
        name = os.path.basename(filename)
        temp_filename = name[: self._MAX_FILENAME_LEN - len(suffix)] + suffix
        return os.path.join(path, temp_filename)

    def allocate(self, filename: str, size: int) -> None:
        """Create ``filename`` with ``size`` bytes reserved; remove it on failure."""
        try:
            with self.open(filename, 'wb') as f:
                # posix_fallocate rejects a zero length; an empty file needs nothing.
                if size:
                    fallocate(f, size)
        except OSError:
            self.remove_file(filename)
            raise


class DeferredOpenFile:
    """A file handle opened on first use, so queued parts hold no descriptors."""

    def __init__(
        self,
        filename: str,
        start_byte: int = 0,
        mode: str = 'rb',
        open_function: Callable[..., Any] = open,
    ) -> None:
        self._filename = filename
        self._fileobj: Any = None
        self._start_byte = start_byte
        self._mode = mode
        self._open_function = open_function

    def _open_if_needed(self) -> None:
        if self._fileobj is None:
            self._fileobj = self._open_function(self._filename, self._mode)
            if self._start_byte != 0:
                self._fileobj.seek(self._start_byte)

    @property
    def name(self) -> str:
        """The file name."""
        return self._filename

    def read(self, amount: int | None = None) -> Any:
        """Read from the (opened) file."""
        self._open_if_needed()
        return self._fileobj.read(amount)

    def write(self, data: Any) -> None:
        """Write to the (opened) file."""
        self._open_if_needed()
        self._fileobj.write(data)

    def seek(self, where: int, whence: int = 0) -> None:
        """Seek the (opened) file."""
        self._open_if_needed()
        self._fileobj.seek(where, whence)

    def tell(self) -> int:
        """Return the position; ``start_byte`` while still unopened."""
        if self._fileobj is None:
            return self._start_byte
        return self._fileobj.tell()

    def close(self) -> None:
        """Close the file if it was ever opened."""
        if self._fileobj is not None:
            self._fileobj.close()

    def __enter__(self) -> 'DeferredOpenFile':
        self._open_if_needed()
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


def _source_ended_early(amount_read: int, size: int) -> OSError:
    # Sending fewer bytes than the announced Content-Length would leave the
    # request waiting for the server to time out; fail at once instead.
    return OSError(
        f'The upload source ended after {amount_read} of the {size} bytes '
        f'expected for this request: was the file truncated while uploading?'
    )


class ReadFileChunk:
    """A read-only, seekable window over a file, reporting progress as it is sent.

    Seeks report progress too, so a retry that rewinds the body rewinds progress.
    """

    def __init__(
        self,
        fileobj: Any,
        chunk_size: int,
        full_file_size: int,
        callbacks: list[_ProgressCallback] | None = None,
        enable_callbacks: bool = True,
        close_callbacks: list[Callable[[], Any]] | None = None,
    ) -> None:
        self._fileobj = fileobj
        self._start_byte = self._fileobj.tell()
        self._size = self._calculate_file_size(
            self._fileobj,
            requested_size=chunk_size,
            start_byte=self._start_byte,
            actual_file_size=full_file_size,
        )
        self._amount_read = 0
        self._callbacks = [] if callbacks is None else callbacks
        self._callbacks_enabled = enable_callbacks
        self._close_callbacks = close_callbacks

    @classmethod
    def from_filename(
        cls,
        filename: str,
        start_byte: int,
        chunk_size: int,
        callbacks: list[_ProgressCallback] | None = None,
        enable_callbacks: bool = True,
    ) -> 'ReadFileChunk':
        """Open ``filename`` and return the window starting at ``start_byte``."""
        f = open(filename, 'rb')
        f.seek(start_byte)
        file_size = os.fstat(f.fileno()).st_size
        return cls(f, chunk_size, file_size, callbacks, enable_callbacks)

    def _calculate_file_size(
        self,
        fileobj: Any,
        requested_size: int,
        start_byte: int,
        actual_file_size: int,
    ) -> int:
        max_chunk_size = actual_file_size - start_byte
        return min(max_chunk_size, requested_size)

    def read(self, amount: int | None = None) -> bytes:
        """Read up to ``amount`` bytes of the window (None/negative: the rest)."""
        amount_left = max(self._size - self._amount_read, 0)
        if amount is None or amount < 0:
            amount = amount_left
        elif amount > amount_left:
            amount = amount_left
        data = self._fileobj.read(amount)
        if not data and amount:
            raise _source_ended_early(self._amount_read, self._size)
        self._amount_read += len(data)
        if self._callbacks_enabled:
            invoke_progress_callbacks(self._callbacks, len(data))
        return data

    def seek(self, where: int, whence: int = 0) -> None:
        """Seek within the window, reporting the change of in-window position."""
        if whence not in (0, 1, 2):
            raise ValueError(f'invalid whence ({whence}, should be 0, 1 or 2)')
        offset = where
        if whence == 1:
            offset += self._amount_read
        elif whence == 2:
            offset += self._size
        self._fileobj.seek(self._start_byte + max(offset, 0))
        if self._callbacks_enabled:
            clamped_offset = min(max(offset, 0), self._size)
            delta = clamped_offset - min(self._amount_read, self._size)
            invoke_progress_callbacks(self._callbacks, delta)
        self._amount_read = max(offset, 0)

    def tell(self) -> int:
        """Return the position relative to the window start."""
        return self._amount_read

    def __len__(self) -> int:
        # HTTP layers use this as the Content-Length.
        return self._size

    def signal_transferring(self) -> None:
        """Enable progress (the body is being sent) and tell the wrapped file."""
        self.enable_callback()
        if hasattr(self._fileobj, 'signal_transferring'):
            self._fileobj.signal_transferring()

    def signal_not_transferring(self) -> None:
        """Disable progress (the body is not being sent) and tell the wrapped file."""
        self.disable_callback()
        if hasattr(self._fileobj, 'signal_not_transferring'):
            self._fileobj.signal_not_transferring()

    def enable_callback(self) -> None:
        """Turn progress reporting on."""
        self._callbacks_enabled = True

    def disable_callback(self) -> None:
        """Turn progress reporting off."""
        self._callbacks_enabled = False

    def close(self) -> None:
        """Run the close callbacks (only while reporting) and close the file."""
        if self._close_callbacks is not None and self._callbacks_enabled:
            for callback in self._close_callbacks:
                callback()
        self._fileobj.close()

    def __enter__(self) -> 'ReadFileChunk':
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[bytes]:
        # http.client iterates bodies that have no len(); always send via read().
        return iter([])


class StreamReaderProgress:
    """Wrap a stream so every read reports its length as progress."""

    def __init__(
        self, stream: Any, callbacks: list[_ProgressCallback] | None = None
    ) -> None:
        self._stream = stream
        self._callbacks = [] if callbacks is None else callbacks

    def read(self, *args: Any, **kwargs: Any) -> Any:
        """Read from the stream and report the amount read."""
        value = self._stream.read(*args, **kwargs)
        invoke_progress_callbacks(self._callbacks, len(value))
        return value


class NoResourcesAvailable(Exception):
    """A non-blocking semaphore acquire could not succeed."""


class TaskSemaphore:
    """A counting semaphore with the tag-aware acquire/release API."""

    def __init__(self, count: int) -> None:
        self._semaphore = threading.Semaphore(count)

    def acquire(self, tag: Any, blocking: bool = True) -> Any:
        """Take one slot; raise ``NoResourcesAvailable`` if none and not blocking."""
        logger.debug('Acquiring %s', tag)
        if not self._semaphore.acquire(blocking):
            raise NoResourcesAvailable(f"Cannot acquire tag '{tag}'")

    def release(self, tag: Any, acquire_token: Any) -> None:
        """Give one slot back (``tag`` and ``acquire_token`` are ignored)."""
        logger.debug('Releasing acquire %s/%s', tag, acquire_token)
        self._semaphore.release()


class SlidingWindowSemaphore(TaskSemaphore):
    """Per tag, free a slot only when the lowest outstanding sequence number returns.

    Out-of-order completions therefore cannot slide the window ahead.
    """

    def __init__(self, count: int) -> None:
        self._count = count
        self._tag_sequences: defaultdict[Any, int] = defaultdict(int)
        self._lowest_sequence: dict[Any, int] = {}
        self._pending_release: dict[Any, set[int]] = {}
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)

    def current_count(self) -> int:
        """Return the number of free slots."""
        with self._lock:
            return self._count

    def acquire(self, tag: Any, blocking: bool = True) -> int:
        """Take a slot and return the tag's next sequence number."""
        logger.debug('Acquiring %s', tag)
        with self._condition:
            if self._count == 0:
                if not blocking:
                    raise NoResourcesAvailable(f"Cannot acquire tag '{tag}'")
                while self._count == 0:
                    self._condition.wait()
            sequence_number = self._tag_sequences[tag]
            if sequence_number == 0:
                self._lowest_sequence[tag] = 0
            self._tag_sequences[tag] += 1
            self._count -= 1
            return sequence_number

    def release(self, tag: Any, acquire_token: int) -> None:
        """Return sequence number ``acquire_token`` of ``tag``."""
        sequence_number = acquire_token
        logger.debug('Releasing acquire %s/%s', tag, sequence_number)
        with self._condition:
            if tag not in self._lowest_sequence:
                raise ValueError(f'Attempted to release unknown tag: {tag}')
            pending = self._pending_release.setdefault(tag, set())
            lowest = self._lowest_sequence[tag]
            if sequence_number == lowest:
                self._free_from(tag, lowest + 1, pending)
            elif lowest < sequence_number < self._tag_sequences[tag] and (
                sequence_number not in pending
            ):
                pending.add(sequence_number)
            else:
                raise ValueError(
                    'Attempted to release unknown sequence number '
                    f'{sequence_number} for tag: {tag}'
                )

    def _free_from(self, tag: Any, next_lowest: int, pending: set[int]) -> None:
        """Slide the window past the released lowest number and absorbed pendings."""
        freed = 1
        while next_lowest in pending:
            pending.remove(next_lowest)
            next_lowest += 1
            freed += 1
        self._lowest_sequence[tag] = next_lowest
        self._count += freed
        # One wake-up per freed slot, so no waiter sleeps while slots are free.
        self._condition.notify(freed)


# Plain attributes, compared by identity as before (hence no eq, no repr).
@dataclasses.dataclass(eq=False, repr=False)
class ChunksizeAdjuster:
    """Fit a part size within S3's part-size and part-count limits."""

    max_size: int = MAX_SINGLE_UPLOAD_SIZE
    min_size: int = MIN_UPLOAD_CHUNKSIZE
    max_parts: int = MAX_PARTS

    def adjust_chunksize(
        self, current_chunksize: int, file_size: int | None = None
    ) -> int:
        """Return a valid part size: doubled until parts fit, then clamped."""
        chunksize = current_chunksize
        if file_size is not None:
            chunksize = self._adjust_for_max_parts(chunksize, file_size)
        return self._adjust_for_chunksize_limits(chunksize)

    def _adjust_for_chunksize_limits(self, current_chunksize: int) -> int:
        if current_chunksize > self.max_size:
            logger.debug(
                'Chunksize greater than maximum chunksize. Setting to %s from %s.',
                self.max_size,
                current_chunksize,
            )
            return self.max_size
        if current_chunksize < self.min_size:
            logger.debug(
                'Chunksize less than minimum chunksize. Setting to %s from %s.',
                self.min_size,
                current_chunksize,
            )
            return self.min_size
        return current_chunksize

    def _adjust_for_max_parts(self, current_chunksize: int, file_size: int) -> int:
        chunksize = current_chunksize
        num_parts = calculate_num_parts(file_size, chunksize)
        while num_parts > self.max_parts:
            chunksize *= 2
            num_parts = calculate_num_parts(file_size, chunksize)
        if chunksize != current_chunksize:
            logger.debug(
                'Chunksize would result in the number of parts exceeding the '
                'maximum. Setting to %s from %s.',
                chunksize,
                current_chunksize,
            )
        return chunksize
