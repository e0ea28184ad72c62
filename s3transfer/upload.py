"""Uploads: one PutObject, or a multipart upload built from the source's parts.

An *input manager* adapts each kind of source (file name, seekable file object,
read-only stream) to request bodies; ``UploadSubmissionTask`` turns those bodies into
``PutObjectTask`` or ``CreateMultipartUpload`` → ``UploadPartTask``s → complete.
"""

from __future__ import annotations

import io
import mmap
import os
import stat
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future
from io import BytesIO
from typing import Any

from s3transfer import plan
from s3transfer.checksums import (
    CRC_ALGORITHMS,
    FullObjectCrc,
    resolve_upload_algorithm,
)
from s3transfer.compat import readable, seekable
from s3transfer.constants import (
    CONDITIONAL_WRITE_ARGS,
    FULL_OBJECT_CHECKSUM_ARGS,
    MULTIPART_PART_ARGS,
)
from s3transfer.futures import IN_MEMORY_UPLOAD_TAG
from s3transfer.plan import Part, PartPlan
from s3transfer.resume import (
    Journal,
    ResumeOptions,
    finish,
    prepare_upload,
    should_discard,
)
from s3transfer.retries import RetryPolicy, call_with_retries, part_retry_policy
from s3transfer.tasks import (
    CompleteMultipartUploadTask,
    CreateMultipartUploadTask,
    SubmissionTask,
    Task,
    conditional_write_errors,
    request_kwargs,
)
from s3transfer.threads import last_submission
from s3transfer.utils import (
    ChunksizeAdjuster,
    DeferredOpenFile,
    ReadFileChunk,
    file_kind,
    get_callbacks,
    get_filtered_dict,
    invoke_progress_callbacks,
)

ProgressCallback = Callable[..., Any]


class AggregatedProgressCallback:
    """Batches progress: one call per ``threshold`` bytes instead of one per read."""

    def __init__(
        self, callbacks: list[ProgressCallback], threshold: int = 1024 * 256
    ) -> None:
        self._callbacks = callbacks
        self._threshold = threshold
        self._bytes_seen = 0

    def __call__(self, bytes_transferred: int) -> None:
        self._bytes_seen += bytes_transferred
        if self._bytes_seen >= self._threshold:
            self._trigger_callbacks()

    def flush(self) -> None:
        """Emit whatever positive amount is still pending."""
        if self._bytes_seen > 0:
            self._trigger_callbacks()

    def _trigger_callbacks(self) -> None:
        for callback in self._callbacks:
            callback(bytes_transferred=self._bytes_seen)
        self._bytes_seen = 0


class _FileView:
    """Reads, seeks and tells go straight to the wrapped file object."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj

    def read(self, amount: int | None = None) -> bytes:
        return self._fileobj.read(amount)

    def seek(self, where: int, whence: int = 0) -> Any:
        return self._fileobj.seek(where, whence)

    def tell(self) -> int:
        return self._fileobj.tell()


class InterruptReader(_FileView):
    """Makes body reads raise the transfer's exception once it has failed.

    Without it a cancelled upload would keep streaming the body to the server.
    """

    def __init__(self, fileobj: Any, transfer_coordinator: Any) -> None:
        super().__init__(fileobj)
        self._transfer_coordinator = transfer_coordinator

    def read(self, amount: int | None = None) -> bytes:
        if self._transfer_coordinator.exception:
            raise self._transfer_coordinator.exception
        return self._fileobj.read(amount)

    def close(self) -> None:
        self._fileobj.close()

    def __enter__(self) -> InterruptReader:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()


class _CallerOwnedFile(_FileView):
    """Delegates reads and seeks to a caller's file object but never closes it.

    Closing a request body must flush progress without closing what the caller owns.
    """

    def close(self) -> None:
        """Leave the caller's file object open."""


# Exact types whose readinto(b) is known to behave like read(len(b)); a subclass may
# override read() alone (io.RawIOBase's readinto then raises NotImplementedError).
_READINTO_TYPES = (io.BufferedReader, io.FileIO, io.BytesIO)

_PartData = mmap.mmap | bytes


class _PartBufferPool:
    """Reads the in-memory parts of one upload; the single place parts are read.

    Sources with a known ``readinto`` fill recycled anonymous mmaps: no copy, no
    glibc arena growth, and the pages leave the process once the pool is closed.
    Other sources hand us fresh bytes; copying them would only add memory.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[mmap.mmap] = []
        self._closed = False

    def read_part(
        self, fileobj: Any, amount: int, prefix: bytes | memoryview = b''
    ) -> _PartBuffer:
        """``prefix`` topped up to ``amount`` bytes with at most one read."""
        if type(fileobj) not in _READINTO_TYPES or len(prefix) >= amount:
            return _PartBuffer(self, _read_after(prefix, fileobj, amount) or b'')
        mapping = self._take(amount)
        try:
            size = _fill(mapping, fileobj, prefix)
        except BaseException:
            self.give_back(mapping)
            raise
        if not size:
            self.give_back(mapping)
            return _PartBuffer(self, b'')
        return _PartBuffer(self, mapping, size)

    def give_back(self, data: _PartData) -> None:
        """Keep a mapping for the next part, or unmap it once the pool is closed."""
        if not isinstance(data, mmap.mmap):
            return
        with self._lock:
            if not self._closed:
                self._idle.append(data)
                return
        data.close()

    def close(self) -> None:
        """Unmap idle mappings now and every mapping given back from now on."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for mapping in idle:
            mapping.close()

    def _take(self, size: int) -> mmap.mmap:
        with self._lock:
            while self._idle:
                mapping = self._idle.pop()
                if len(mapping) == size:
                    return mapping
                mapping.close()
        return mmap.mmap(-1, size)


class _PartBuffer:
    """One in-memory part; reads like a ``BytesIO`` and frees its data on close."""

    def __init__(
        self, pool: _PartBufferPool, data: _PartData, size: int | None = None
    ) -> None:
        self._pool = pool
        self._data: _PartData | None = data
        self._size = len(data) if size is None else size
        self._position = 0

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int | None = None) -> bytes:
        data = self._open_data()
        end = self._size
        if amount is not None and amount >= 0:
            end = min(end, self._position + amount)
        if self._position >= end:
            return b''
        chunk = data[self._position : end]
        self._position = end
        return chunk

    def seek(self, where: int, whence: int = 0) -> int:
        self._open_data()
        if whence not in (0, 1, 2):
            raise ValueError(f'invalid whence ({whence}, should be 0, 1 or 2)')
        if whence == 0 and where < 0:
            raise ValueError(f'negative seek value {where}')
        # Like BytesIO, relative seeks before the start stop at 0.
        self._position = max(where + (0, self._position, self._size)[whence], 0)
        return self._position

    def tell(self) -> int:
        self._open_data()
        return self._position

    @property
    def closed(self) -> bool:
        return self._data is None

    def close(self) -> None:
        """Release the data (a mapping goes back to the pool); idempotent."""
        data, self._data = self._data, None
        if data is not None:
            self._pool.give_back(data)

    def _open_data(self) -> _PartData:
        if self._data is None:
            raise ValueError('I/O operation on closed file.')
        return self._data


def _read_after(prefix: bytes | memoryview, fileobj: Any, amount: int) -> bytes:
    """``prefix`` topped up to ``amount`` bytes with one ``read``, if it is short."""
    if len(prefix) >= amount:
        return bytes(prefix)
    if not prefix:
        return fileobj.read(amount)
    return bytes(prefix) + fileobj.read(amount - len(prefix))


def _fill(mapping: mmap.mmap, fileobj: Any, prefix: bytes | memoryview) -> int:
    """Copy ``prefix`` into ``mapping``, then fill the rest with one ``readinto``."""
    filled = len(prefix)
    with memoryview(mapping) as view:
        view[:filled] = prefix
        with view[filled:] as rest:
            filled += fileobj.readinto(rest) or 0
    return filled


def refuse_unsized_source(source: Any, osutil: Any) -> None:
    """Refuse a source whose size says nothing about its data (before any request).

    Devices, FIFOs and sockets named by path, and seekable character devices
    (``/dev/zero``), report 0 bytes (or block); procfs/sysfs files report 0 bytes
    but yield data. Uploading them by size would store an empty object or hang.
    """
    if isinstance(source, str):
        if osutil.is_special_file(source):
            kind = file_kind(os.stat(source).st_mode)
            raise ValueError(f'{source} is a {kind}, not a regular file: not uploaded')
        if osutil.get_file_size(source) == 0:
            with osutil.open(source, 'rb') as opened:
                _refuse_if_it_yields_data(opened, source)
        return
    info = _fstat(source)
    if info is None or not seekable(source):
        return  # a stream: read to its end, whatever its size
    if stat.S_ISCHR(info.st_mode):
        name = getattr(source, 'name', 'the file object')
        raise ValueError(
            f'{name} is a character device, not a regular file: not uploaded'
        )
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        position = source.tell()
        try:
            _refuse_if_it_yields_data(
                source, getattr(source, 'name', 'the file object')
            )
        finally:
            source.seek(position)


def _fstat(source: Any) -> os.stat_result | None:
    try:
        return os.fstat(source.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _refuse_if_it_yields_data(opened: Any, name: Any) -> None:
    if opened.read(1):
        raise ValueError(
            f'{name} reports a size of 0 but is not empty (a procfs or sysfs file?): '
            'copy it to a regular file and upload that'
        )


class UploadInputManager:
    """Turns one kind of upload source into request bodies."""

    def __init__(
        self, osutil: Any, transfer_coordinator: Any, bandwidth_limiter: Any = None
    ) -> None:
        self._osutil = osutil
        self._transfer_coordinator = transfer_coordinator
        self._bandwidth_limiter = bandwidth_limiter

    @classmethod
    def is_compatible(cls, upload_source: Any) -> bool:
        """Whether this manager can handle ``upload_source``."""
        raise NotImplementedError('must implement is_compatible()')

    def stores_body_in_memory(self, operation_name: str) -> bool:
        """Whether bodies for ``'put_object'``/``'upload_part'`` are held in memory."""
        raise NotImplementedError('must implement store_body_in_memory()')

    def provide_transfer_size(self, transfer_future: Any) -> None:
        """Record the number of bytes to upload on the future's meta, if knowable."""
        raise NotImplementedError('must implement provide_transfer_size()')

    def requires_multipart_upload(self, transfer_future: Any, config: Any) -> bool:
        """Whether the source is large enough for a multipart upload."""
        raise NotImplementedError('must implement requires_multipart_upload()')

    def get_put_object_body(self, transfer_future: Any) -> ReadFileChunk:
        """The body of the single PutObject."""
        raise NotImplementedError('must implement get_put_object_body()')

    def yield_upload_part_bodies(
        self, transfer_future: Any, chunksize: int
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        """Yield ``(part_number, body)`` for every part, numbered from 1."""
        raise NotImplementedError('must implement yield_upload_part_bodies()')

    def _wrap_fileobj(self, fileobj: Any) -> Any:
        fileobj = InterruptReader(fileobj, self._transfer_coordinator)
        if self._bandwidth_limiter:
            # Limiting starts only when botocore sends the body (signal_transferring).
            fileobj = self._bandwidth_limiter.get_bandwith_limited_stream(
                fileobj, self._transfer_coordinator, enabled=False
            )
        return fileobj

    def _get_progress_callbacks(
        self, transfer_future: Any
    ) -> list[AggregatedProgressCallback]:
        callbacks = get_callbacks(transfer_future, 'progress')
        if callbacks:
            return [AggregatedProgressCallback(callbacks)]
        return []

    def _get_close_callbacks(
        self, aggregated_progress_callbacks: list[AggregatedProgressCallback]
    ) -> list[Callable[[], None]]:
        return [callback.flush for callback in aggregated_progress_callbacks]

    def _make_body(
        self, fileobj: Any, transfer_future: Any, chunk_size: int, full_file_size: int
    ) -> ReadFileChunk:
        """A body over ``fileobj`` with fresh progress callbacks for the future."""
        callbacks = self._get_progress_callbacks(transfer_future)
        return self._open_body(
            fileobj,
            chunk_size,
            full_file_size,
            callbacks,
            self._get_close_callbacks(callbacks),
        )

    def _open_body(
        self,
        fileobj: Any,
        chunk_size: int,
        full_file_size: int,
        callbacks: list[AggregatedProgressCallback],
        close_callbacks: list[Callable[[], None]],
    ) -> ReadFileChunk:
        """Every request body: a wrapped window whose callbacks start disabled."""
        return self._osutil.open_file_chunk_reader_from_fileobj(
            fileobj=self._wrap_fileobj(fileobj),
            chunk_size=chunk_size,
            full_file_size=full_file_size,
            callbacks=callbacks,
            close_callbacks=close_callbacks,
        )


class UploadFilenameInputManager(UploadInputManager):
    """Uploads a file named by a path; each body opens the file lazily."""

    @classmethod
    def is_compatible(cls, upload_source: Any) -> bool:
        return isinstance(upload_source, str)

    def stores_body_in_memory(self, operation_name: str) -> bool:
        return False

    def provide_transfer_size(self, transfer_future: Any) -> None:
        transfer_future.meta.provide_transfer_size(
            self._osutil.get_file_size(transfer_future.meta.call_args.fileobj)
        )

    def requires_multipart_upload(self, transfer_future: Any, config: Any) -> bool:
        return transfer_future.meta.size >= config.multipart_threshold

    def get_put_object_body(self, transfer_future: Any) -> ReadFileChunk:
        fileobj, full_size = self._get_put_object_fileobj_with_full_size(
            transfer_future
        )
        return self._make_body(
            fileobj,
            transfer_future,
            chunk_size=transfer_future.meta.size,
            full_file_size=full_size,
        )

    def yield_upload_part_bodies(
        self, transfer_future: Any, chunksize: int
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        plan = PartPlan(transfer_future.meta.size, chunksize)
        yield from self.yield_part_bodies(transfer_future, plan, plan.parts())

    def yield_part_bodies(
        self, transfer_future: Any, plan: PartPlan, parts: Iterable[Part]
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        """Yield ``(part_number, body)`` for each of ``parts`` of ``plan``.

        A file may be given any subset of the plan (e.g. the parts a resumed upload
        still lacks); a seekable object is read on from its position, so it takes
        the plan's parts in order.
        """
        for part in parts:
            fileobj, full_size = self._get_upload_part_fileobj_with_full_size(
                transfer_future.meta.call_args.fileobj,
                start_byte=part.offset,
                part_size=plan.part_size,
                full_file_size=plan.total_size,
            )
            body = self._make_body(
                fileobj,
                transfer_future,
                chunk_size=plan.part_size,
                full_file_size=full_size,
            )
            yield part.number, body

    def _get_deferred_open_file(self, fileobj: str, start_byte: int) -> Any:
        return DeferredOpenFile(fileobj, start_byte, open_function=self._osutil.open)

    def _get_put_object_fileobj_with_full_size(
        self, transfer_future: Any
    ) -> tuple[Any, int]:
        fileobj = transfer_future.meta.call_args.fileobj
        size = transfer_future.meta.size
        return self._get_deferred_open_file(fileobj, 0), size

    def _get_upload_part_fileobj_with_full_size(
        self, fileobj: Any, **kwargs: int
    ) -> tuple[Any, int]:
        start_byte = kwargs['start_byte']
        full_size = kwargs['full_file_size']
        return self._get_deferred_open_file(fileobj, start_byte), full_size

    def _get_num_parts(self, transfer_future: Any, part_size: int) -> int:
        # Kept for the spec; the parts themselves come from the PartPlan.
        return PartPlan(transfer_future.meta.size, part_size).num_parts


class UploadSeekableInputManager(UploadFilenameInputManager):
    """Uploads a seekable file object from its current position."""

    def __init__(
        self, osutil: Any, transfer_coordinator: Any, bandwidth_limiter: Any = None
    ) -> None:
        super().__init__(osutil, transfer_coordinator, bandwidth_limiter)
        self._part_buffers = _PartBufferPool()

    @classmethod
    def is_compatible(cls, upload_source: Any) -> bool:
        return readable(upload_source) and seekable(upload_source)

    def stores_body_in_memory(self, operation_name: str) -> bool:
        return operation_name != 'put_object'

    def provide_transfer_size(self, transfer_future: Any) -> None:
        fileobj = transfer_future.meta.call_args.fileobj
        start_position = fileobj.tell()
        fileobj.seek(0, 2)
        end_position = fileobj.tell()
        fileobj.seek(start_position)
        transfer_future.meta.provide_transfer_size(end_position - start_position)

    def _get_upload_part_fileobj_with_full_size(
        self, fileobj: Any, **kwargs: int
    ) -> tuple[Any, int]:
        # Parts are read here, in the submission thread, so the caller's object is
        # never shared between request threads; memory is bounded by the upload tag.
        part = self._part_buffers.read_part(fileobj, kwargs['part_size'])
        return part, len(part)

    def yield_part_bodies(
        self, transfer_future: Any, plan: PartPlan, parts: Iterable[Part]
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        try:
            yield from super().yield_part_bodies(transfer_future, plan, parts)
        finally:
            self._part_buffers.close()

    def _get_put_object_fileobj_with_full_size(
        self, transfer_future: Any
    ) -> tuple[Any, int]:
        fileobj = transfer_future.meta.call_args.fileobj
        size = fileobj.tell() + transfer_future.meta.size
        return _CallerOwnedFile(fileobj), size


class UploadNonSeekableInputManager(UploadInputManager):
    """Uploads a read-only stream, buffering each body in memory."""

    def __init__(
        self, osutil: Any, transfer_coordinator: Any, bandwidth_limiter: Any = None
    ) -> None:
        super().__init__(osutil, transfer_coordinator, bandwidth_limiter)
        self._initial_data: bytes | None = b''
        self._part_buffers = _PartBufferPool()

    @classmethod
    def is_compatible(cls, upload_source: Any) -> bool:
        return readable(upload_source)

    def stores_body_in_memory(self, operation_name: str) -> bool:
        return True

    def provide_transfer_size(self, transfer_future: Any) -> None:
        """The size of a stream is unknown until it has been read."""

    def requires_multipart_upload(self, transfer_future: Any, config: Any) -> bool:
        if transfer_future.meta.size is not None:
            return transfer_future.meta.size >= config.multipart_threshold
        fileobj = transfer_future.meta.call_args.fileobj
        threshold = config.multipart_threshold
        self._initial_data = self._read(fileobj, threshold, False)
        return len(self._initial_data) >= threshold

    def get_put_object_body(self, transfer_future: Any) -> ReadFileChunk:
        fileobj = transfer_future.meta.call_args.fileobj
        data = self._initial_data + fileobj.read()
        self._initial_data = None
        return self._body_from_data(data, transfer_future)

    def yield_upload_part_bodies(
        self,
        transfer_future: Any,
        chunksize: int,
        growth: plan.GrowthSchedule | None = None,
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        """Parts of ``chunksize``, or of ``growth``'s growing sizes when given."""
        file_object = transfer_future.meta.call_args.fileobj
        part_number = 0

        def next_size() -> int:
            return chunksize if growth is None else growth.part_size(part_number + 1)

        try:
            while part := self._read_part(file_object, next_size()):
                part_number += 1
                body = self._make_body(part, transfer_future, len(part), len(part))
                yield part_number, body
        finally:
            self._part_buffers.close()

    def _read_part(self, fileobj: Any, amount: int) -> _PartBuffer:
        """The next part: buffered probe data first, topped up with one read."""
        with self._take_initial_data(amount, truncate=True) as prefix:
            return self._part_buffers.read_part(fileobj, amount, prefix)

    def _read(self, fileobj: Any, amount: int, truncate: bool = True) -> bytes:
        """Read ``amount`` bytes, consuming the buffered initial data first."""
        if not self._initial_data:
            return fileobj.read(amount)
        with self._take_initial_data(amount, truncate) as prefix:
            return _read_after(prefix, fileobj, amount)

    def _take_initial_data(self, amount: int, truncate: bool) -> memoryview:
        """Up to ``amount`` bytes of the probe buffer, removing them if ``truncate``."""
        initial_data = self._initial_data or b''
        taken = memoryview(initial_data)[:amount]
        if truncate and taken:
            self._initial_data = initial_data[len(taken) :]
        return taken

    def _wrap_data(
        self,
        data: bytes,
        callbacks: list[AggregatedProgressCallback],
        close_callbacks: list[Callable[[], None]],
    ) -> ReadFileChunk:
        size = len(data)
        return self._open_body(BytesIO(data), size, size, callbacks, close_callbacks)

    def _body_from_data(self, data: bytes, transfer_future: Any) -> ReadFileChunk:
        callbacks = self._get_progress_callbacks(transfer_future)
        return self._wrap_data(data, callbacks, self._get_close_callbacks(callbacks))


class UploadSubmissionTask(SubmissionTask):
    """Works out the upload's shape and submits its request tasks."""

    PUT_OBJECT_BLOCKLIST = ['ChecksumType', 'MpuObjectSize']

    CREATE_MULTIPART_BLOCKLIST = FULL_OBJECT_CHECKSUM_ARGS + ['MpuObjectSize']

    UPLOAD_PART_ARGS = ['ChecksumAlgorithm', *MULTIPART_PART_ARGS]

    COMPLETE_MULTIPART_ARGS = [
        *MULTIPART_PART_ARGS,
        'ChecksumType',
        'MpuObjectSize',
    ] + FULL_OBJECT_CHECKSUM_ARGS

    def _get_upload_input_manager_cls(
        self, transfer_future: Any
    ) -> type[UploadInputManager]:
        """The first input manager able to read the future's source."""
        fileobj = transfer_future.meta.call_args.fileobj
        for manager_cls in (
            UploadFilenameInputManager,
            UploadSeekableInputManager,
            UploadNonSeekableInputManager,
        ):
            if manager_cls.is_compatible(fileobj):
                return manager_cls
        raise RuntimeError(
            f'Input {fileobj} of type: {type(fileobj)} is not supported.'
        )

    def _submit(
        self,
        client: Any,
        config: Any,
        osutil: Any,
        request_executor: Any,
        transfer_future: Any,
        bandwidth_limiter: Any = None,
        resume: ResumeOptions | None = None,
    ) -> None:
        upload_input_manager = self._get_upload_input_manager_cls(transfer_future)(
            osutil, self._transfer_coordinator, bandwidth_limiter
        )
        self._resume = resume
        if transfer_future.meta.size is None:
            refuse_unsized_source(transfer_future.meta.call_args.fileobj, osutil)
            upload_input_manager.provide_transfer_size(transfer_future)
        resuming = resume is not None and resume.token is not None
        multipart = resuming or upload_input_manager.requires_multipart_upload(
            transfer_future, config
        )
        full_object = self._full_object_crc(
            config, transfer_future.meta.call_args.extra_args
        )
        if multipart:
            self._submit_multipart_request(
                client,
                config,
                request_executor,
                transfer_future,
                upload_input_manager,
                full_object,
            )
        else:
            self._submit_upload_request(
                client,
                request_executor,
                transfer_future,
                upload_input_manager,
                full_object,
            )

    def _full_object_crc(self, config: Any, extra_args: dict) -> FullObjectCrc | None:
        """The CRC to compute for ``full_object_checksum`` (``None``: not asked for).

        A caller-supplied full-object checksum value takes precedence; a non-CRC
        ``ChecksumAlgorithm`` cannot be combined and is refused before any request.
        """
        algorithm = resolve_upload_algorithm(
            getattr(config, 'full_object_checksum', False)
        )
        if algorithm is None:
            return None
        if any(name in extra_args for name in FULL_OBJECT_CHECKSUM_ARGS):
            return None
        requested = extra_args.get('ChecksumAlgorithm', algorithm.name).upper()
        if requested not in CRC_ALGORITHMS:
            raise ValueError(
                f'full_object_checksum needs a CRC algorithm, but extra_args ask for '
                f'ChecksumAlgorithm={requested!r}'
            )
        return FullObjectCrc(algorithm)

    def _submit_upload_request(
        self,
        client: Any,
        request_executor: Any,
        transfer_future: Any,
        upload_input_manager: UploadInputManager,
        full_object: FullObjectCrc | None,
    ) -> None:
        call_args = transfer_future.meta.call_args
        body = upload_input_manager.get_put_object_body(transfer_future)
        extra_args = self._extra_put_object_args(call_args.extra_args)
        if full_object is not None:
            # botocore computes the whole object's CRC for a single PutObject.
            extra_args['ChecksumAlgorithm'] = full_object.algorithm.name
        task = PutObjectTask(
            transfer_coordinator=self._transfer_coordinator,
            main_kwargs=request_kwargs(client, call_args, extra_args, fileobj=body),
            is_final=True,
        )
        tag = self._get_upload_task_tag(upload_input_manager, 'put_object')
        with last_submission():  # fast path: may run on this thread next
            self._transfer_coordinator.submit(request_executor, task, tag=tag)

    def _submit_multipart_request(
        self,
        client: Any,
        config: Any,
        request_executor: Any,
        transfer_future: Any,
        upload_input_manager: UploadInputManager,
        full_object: FullObjectCrc | None,
    ) -> None:
        call_args = transfer_future.meta.call_args
        _apply_full_object_checksum(call_args.extra_args)
        coordinator = self._transfer_coordinator
        journal = self._open_resume_journal(client, config, transfer_future)
        create_args = self._extra_create_multipart_args(call_args.extra_args)
        complete_task_cls: type[CompleteMultipartUploadTask] = (
            CompleteMultipartUploadTask
        )
        complete_kwargs: dict[str, Any] = {}
        if full_object is not None:
            create_args['ChecksumAlgorithm'] = full_object.algorithm.name
            create_args['ChecksumType'] = 'FULL_OBJECT'
            complete_task_cls = _FullObjectCompleteTask
            complete_kwargs['full_object'] = full_object
        if journal is not None and journal.token.upload_id is not None:
            create_future = _resumed_upload_id(client, call_args, journal, coordinator)
        else:
            create_future = coordinator.submit(
                request_executor,
                _create_task_cls(journal)(
                    transfer_coordinator=coordinator,
                    main_kwargs=request_kwargs(
                        client, call_args, create_args, **_journal_kwarg(journal)
                    ),
                ),
            )
        part_futures = self._submit_upload_part_tasks(
            client,
            config,
            request_executor,
            transfer_future,
            upload_input_manager,
            create_future,
            full_object,
            journal,
        )
        complete_args = self._extra_complete_multipart_args(call_args.extra_args)
        self._submit_completion(
            request_executor,
            complete_task_cls,
            request_kwargs(client, call_args, complete_args, **complete_kwargs),
            create_future,
            part_futures,
        )

    def _submit_upload_part_tasks(
        self,
        client: Any,
        config: Any,
        request_executor: Any,
        transfer_future: Any,
        upload_input_manager: UploadInputManager,
        create_future: Any,
        full_object: FullObjectCrc | None = None,
        journal: Journal | None = None,
    ) -> list[Any]:
        """Submit one UploadPartTask per body; may block on the in-memory tag.

        A resumed upload (``journal``) skips the parts S3 confirmed: their entries
        go to completion as they are, and their bytes count as progress at once.
        """
        call_args = transfer_future.meta.call_args
        chunksize = ChunksizeAdjuster().adjust_chunksize(
            config.multipart_chunksize, transfer_future.meta.size
        )
        done_parts: dict[int, dict] = {}
        if journal is not None:
            chunksize = journal.token.plan.part_size
            done_parts = dict(journal.token.parts)
            invoke_progress_callbacks(
                get_callbacks(transfer_future, 'progress'),
                journal.token.confirmed_bytes,
            )
        part_args = self._extra_upload_part_args(call_args.extra_args)
        part_kwargs: dict[str, Any] = {}
        if full_object is not None:
            part_args['ChecksumAlgorithm'] = full_object.algorithm.name
            part_kwargs['full_object'] = full_object
        retry_args = _part_retry_kwargs(config)
        tag = self._get_upload_task_tag(upload_input_manager, 'upload_part')
        pacer = _PartReadPacer(config.max_in_memory_upload_chunks if tag else 0)
        part_futures = []
        parts = self._part_bodies(
            config, transfer_future, upload_input_manager, chunksize
        )
        try:
            for part_number, body in pacer.paced(parts):
                if self._transfer_coordinator.done():
                    body.close()  # cancelled or failed: a stream may never end
                    break
                if part_number in done_parts:
                    entry = done_parts[part_number]
                    if full_object is not None and journal is not None:
                        size = journal.token.plan.part(part_number).size
                        _add_confirmed_crc(full_object, part_number, entry, body, size)
                    body.close()
                    part_futures.append(_resolved(entry))
                    continue
                task = _part_task_cls(journal)(
                    transfer_coordinator=self._transfer_coordinator,
                    main_kwargs=request_kwargs(
                        client,
                        call_args,
                        part_args,
                        fileobj=body,
                        part_number=part_number,
                        **part_kwargs,
                        **retry_args,
                        **_journal_kwarg(journal),
                    ),
                    pending_main_kwargs={'upload_id': create_future},
                )
                future = self._submit_part(request_executor, task, body, tag)
                pacer.track(future)
                part_futures.append(future)
        finally:
            # On failure, end the generator now so its buffers are released, not
            # kept alive by the traceback stored on the coordinator.
            parts.close()
        return part_futures

    def _part_bodies(
        self,
        config: Any,
        transfer_future: Any,
        upload_input_manager: UploadInputManager,
        chunksize: int,
    ) -> Generator[tuple[int, ReadFileChunk], None, None]:
        """The part bodies; a stream of unknown size grows its parts if asked to."""
        if (
            getattr(config, 'grow_stream_part_size', False)
            and transfer_future.meta.size is None
            and isinstance(upload_input_manager, UploadNonSeekableInputManager)
        ):
            growth = plan.GrowthSchedule(chunksize, plan.S3_LIMITS)
            return upload_input_manager.yield_upload_part_bodies(
                transfer_future, chunksize, growth
            )
        return upload_input_manager.yield_upload_part_bodies(transfer_future, chunksize)

    def _submit_part(
        self, request_executor: Any, task: UploadPartTask, body: Any, tag: Any
    ) -> Any:
        try:
            return self._transfer_coordinator.submit(request_executor, task, tag=tag)
        except BaseException:
            # The stored exception's traceback would otherwise keep the part alive.
            body.close()
            raise

    def _open_resume_journal(
        self, client: Any, config: Any, transfer_future: Any
    ) -> Journal | None:
        """The checked journal of a resumable upload from a file name, else ``None``.

        Its lock is held until the transfer ends (``resume.finish``).
        """
        options = getattr(self, '_resume', None)
        call_args = transfer_future.meta.call_args
        if options is None or not isinstance(call_args.fileobj, str):
            return None
        chunksize = ChunksizeAdjuster().adjust_chunksize(
            config.multipart_chunksize, transfer_future.meta.size
        )
        journal = prepare_upload(
            client,
            options,
            call_args.fileobj,
            call_args.bucket,
            call_args.key,
            call_args.extra_args,
            chunksize,
        )
        coordinator = self._transfer_coordinator
        coordinator.resume_journal = journal
        coordinator.add_done_callback(finish, journal, coordinator)
        return journal

    def _extra_put_object_args(self, extra_args: dict) -> dict:
        return get_filtered_dict(extra_args, blocklisted_keys=self.PUT_OBJECT_BLOCKLIST)

    def _extra_create_multipart_args(self, extra_args: dict) -> dict:
        # Conditions are checked by S3 on completion, not on creation.
        return get_filtered_dict(
            extra_args,
            blocklisted_keys=self.CREATE_MULTIPART_BLOCKLIST + CONDITIONAL_WRITE_ARGS,
        )

    def _extra_upload_part_args(self, extra_args: dict) -> dict:
        return get_filtered_dict(extra_args, whitelisted_keys=self.UPLOAD_PART_ARGS)

    def _extra_complete_multipart_args(self, extra_args: dict) -> dict:
        return get_filtered_dict(
            extra_args,
            whitelisted_keys=self.COMPLETE_MULTIPART_ARGS + CONDITIONAL_WRITE_ARGS,
        )

    def _get_upload_task_tag(
        self, upload_input_manager: UploadInputManager, operation_name: str
    ) -> Any:
        if upload_input_manager.stores_body_in_memory(operation_name):
            return IN_MEMORY_UPLOAD_TAG
        return None


class _PartReadPacer:
    """Reads the next in-memory part only once fewer than ``limit`` are in flight.

    The tag semaphore is acquired after a part is read, so without this one more part
    would wait in memory on the submission thread. ``limit`` 0 disables pacing.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight: list[Any] = []

    def paced(self, parts: Iterator[Any]) -> Iterator[Any]:
        """Yield from ``parts``, waiting for room before each read."""
        parts = iter(parts)
        while True:
            self._wait_for_room()
            part = next(parts, None)
            if part is None:
                return
            yield part

    def track(self, future: Any) -> None:
        """Count a submitted part until its future is done."""
        self._in_flight.append(future)

    def _wait_for_room(self) -> None:
        self._prune()
        while self._in_flight and len(self._in_flight) >= self._limit > 0:
            try:
                self._in_flight[0].result()
            except Exception:
                pass  # The failing task already recorded it on the coordinator.
            self._prune()

    def _prune(self) -> None:
        self._in_flight = [future for future in self._in_flight if not future.done()]


def _resolved(value: Any) -> Future:
    """A future that already has ``value`` (a part or upload id known from before)."""
    future: Future = Future()
    future.set_result(value)
    return future


def _journal_kwarg(journal: Journal | None) -> dict[str, Any]:
    return {} if journal is None else {'journal': journal}


def _create_task_cls(journal: Journal | None) -> type[Task]:
    if journal is None:
        return CreateMultipartUploadTask
    return JournaledCreateMultipartUploadTask


def _part_task_cls(journal: Journal | None) -> type[UploadPartTask]:
    return UploadPartTask if journal is None else JournaledUploadPartTask


def _add_confirmed_crc(
    full_object: FullObjectCrc, number: int, entry: dict, body: Any, size: int
) -> None:
    """Count an already uploaded part in the full-object CRC.

    Its CRC is the one recorded with the part (S3 checked it); a journal without it
    means reading the part back from the (unchanged) file.
    """
    encoded = entry.get(full_object.algorithm.response_member)
    if encoded:
        full_object.add(number, full_object.algorithm.decode(encoded), size)
        return
    crc, read = full_object.part_crc(body)
    full_object.add(number, crc, read)


def _abort_unless_kept(coordinator: Any, client: Any, **abort_args: Any) -> None:
    """A resumable upload's failure cleanup: abort only when its state goes."""
    if should_discard(coordinator):
        client.abort_multipart_upload(**abort_args)


def _resumed_upload_id(
    client: Any, call_args: Any, journal: Journal, coordinator: Any
) -> Future:
    """The continued upload's id, with its abort-unless-kept cleanup registered."""
    upload_id = journal.token.upload_id
    coordinator.add_failure_cleanup(
        _abort_unless_kept,
        coordinator,
        client,
        Bucket=call_args.bucket,
        Key=call_args.key,
        UploadId=upload_id,
    )
    return _resolved(upload_id)


def _part_retry_kwargs(config: Any) -> dict[str, Any]:
    """``{'part_retry_policy': ...}`` when part retries are on, else nothing."""
    policy = part_retry_policy(getattr(config, 'part_retry_attempts', 0))
    return {} if policy is None else {'part_retry_policy': policy}


def _apply_full_object_checksum(extra_args: dict) -> None:
    """A caller-supplied full-object checksum selects the FULL_OBJECT multipart flow."""
    for name in FULL_OBJECT_CHECKSUM_ARGS:
        if name in extra_args:
            extra_args['ChecksumType'] = 'FULL_OBJECT'
            extra_args['ChecksumAlgorithm'] = name[len('Checksum') :]


def _rewind(body: Any) -> None:
    """Rewind a part body for another try, taking back the progress it reported."""
    body.enable_callback()  # so the seek reports the negative progress
    body.seek(0)


class JournaledCreateMultipartUploadTask(CreateMultipartUploadTask):
    """Starts a resumable upload and records its id in the journal.

    (The abort cleanup runs only when the state is discarded, not when kept.)
    """

    def _main(  # type: ignore[override]
        self, client: Any, bucket: str, key: str, extra_args: dict, journal: Journal
    ) -> str:
        response = client.create_multipart_upload(Bucket=bucket, Key=key, **extra_args)
        upload_id = response['UploadId']
        self._transfer_coordinator.add_failure_cleanup(
            _abort_unless_kept,
            self._transfer_coordinator,
            client,
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
        )
        journal.update(upload_id=upload_id)
        return upload_id


class PutObjectTask(Task):
    """Uploads the whole object with one PutObject."""

    def _main(
        self, client: Any, fileobj: Any, bucket: str, key: str, extra_args: dict
    ) -> None:
        with fileobj as body, conditional_write_errors(extra_args):
            client.put_object(Bucket=bucket, Key=key, Body=body, **extra_args)


class UploadPartTask(Task):
    """Uploads one part; returns the part's entry for CompleteMultipartUpload."""

    _main_ran = False

    def _run(self) -> Any:
        try:
            return super()._run()
        finally:
            if not self._main_ran:
                # Skipped (the transfer is already done): nothing else would close
                # the body, and an in-memory part should be released now.
                self._main_kwargs['fileobj'].close()

    def _execute_main(self, kwargs: dict) -> Any:
        self._main_ran = True
        return super()._execute_main(kwargs)

    def _main(
        self,
        client: Any,
        fileobj: Any,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        extra_args: dict,
        full_object: FullObjectCrc | None = None,
        part_retry_policy: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """UploadPart; with ``part_retry_policy`` (opt-in) a failed part is sent
        again, re-read from its file or kept in memory until it is confirmed."""
        with fileobj as body:
            if full_object is not None:
                extra_args = self._with_part_crc(
                    body, part_number, extra_args, full_object
                )

            def send() -> Any:
                return client.upload_part(
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=part_number,
                    Body=body,
                    **extra_args,
                )

            if part_retry_policy is None:
                response = send()
            else:
                response = call_with_retries(
                    part_retry_policy,
                    send,
                    on_retry=lambda error: _rewind(body),
                    stop=self._transfer_coordinator.done,
                )
        part = {'ETag': response['ETag'], 'PartNumber': part_number}
        if 'ChecksumAlgorithm' in extra_args:
            checksum_member = 'Checksum' + extra_args['ChecksumAlgorithm'].upper()
            if checksum_member in response:
                part[checksum_member] = response[checksum_member]
            elif full_object is not None:
                part[checksum_member] = extra_args[checksum_member]
        return part

    @staticmethod
    def _with_part_crc(
        body: Any, part_number: int, extra_args: dict, full_object: FullObjectCrc
    ) -> dict:
        """Read the part once for its CRC; sending it spares botocore its own pass."""
        crc, size = full_object.part_crc(body)
        full_object.add(part_number, crc, size)
        member = full_object.algorithm.response_member
        return {**extra_args, member: full_object.algorithm.encode(crc)}


class _FullObjectCompleteTask(CompleteMultipartUploadTask):
    """Completes with the full-object CRC combined from the parts' CRCs."""

    def _main(  # type: ignore[override]
        self,
        client: Any,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[dict],
        extra_args: dict,
        full_object: FullObjectCrc,
    ) -> None:
        numbers = [part['PartNumber'] for part in parts]
        extra_args = {
            **extra_args,
            'ChecksumType': 'FULL_OBJECT',
            full_object.algorithm.response_member: full_object.value(numbers),
        }
        super()._main(client, bucket, key, upload_id, parts, extra_args)


class JournaledUploadPartTask(UploadPartTask):
    """Uploads one part of a resumable upload and records it as confirmed."""

    def _main(  # type: ignore[override]
        self, journal: Journal, part_number: int, **kwargs: Any
    ) -> dict[str, Any]:
        part = super()._main(part_number=part_number, **kwargs)
        journal.record_part(part_number, part)
        return part
