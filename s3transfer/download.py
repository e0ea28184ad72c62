"""Downloads: size discovery, single or ranged GetObject requests, and disk writes.

Layers, top-down: ``DownloadSubmissionTask`` picks an output manager (where bytes go)
and submits ``GetObjectTask``s; each task streams its response and hands every
``io_chunksize`` read to the output manager's ``queue_file_io_task``, the one entry
point for bytes; the output manager's final io task renames/closes and announces done.

From there bytes take one of three routes: an io task per write on the io executor
(the plain way, as the original), or one of two fast paths (docs/performance.md, off
with ``S3TRANSFER_NO_FAST_PATHS=1``): "positional writes" (``_PositionalTempFile``:
request threads ``pwrite`` into the temp file) and "batched streaming writes"
(``_IOTaskBatch``: writes a non-seekable target's DeferQueue releases together go to
the io executor as one task).
"""

from __future__ import annotations

import errno
import heapq
import logging
import os
import select
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, cast

from botocore.exceptions import ClientError

from s3transfer import fastpaths, waiting
from s3transfer.checksums import (
    DownloadVerifier,
    PendingVerifier,
    build_download_verifier,
)
from s3transfer.compat import seekable
from s3transfer.exceptions import S3DownloadFailedError, S3ValidationError
from s3transfer.futures import IN_MEMORY_DOWNLOAD_TAG
from s3transfer.plan import Part, PartPlan, auto_download_part_size
from s3transfer.resume import (
    Journal,
    ResumeOptions,
    ResumeToken,
    finish,
    prepare_download,
    should_discard,
)
from s3transfer.retries import (
    RetryPolicy,
    call_with_retries,
    download_retry_policy,
    part_retry_policy,
)
from s3transfer.tasks import SubmissionTask, Task
from s3transfer.threads import last_submission
from s3transfer.utils import (
    CountCallbackInvoker,
    DeferredOpenFile,
    FunctionContainer,
    StreamReaderProgress,
    calculate_range_parameter,
    get_callbacks,
    invoke_progress_callbacks,
)

logger = logging.getLogger(__name__)


def _etag_mismatch_message(bucket: str, key: str) -> str:
    return (
        f'Contents of stored object "{key}" in bucket "{bucket}" '
        f'did not match expected ETag.'
    )


def _check_destination_filename(filename: str) -> None:
    """Fail before any request when ``filename`` can never be written (quirk fix)."""
    if os.path.isdir(filename):
        raise IsADirectoryError(
            errno.EISDIR, 'Download destination is a directory', filename
        )
    folder = os.path.dirname(filename)
    if folder and not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, 'Folder of the download destination does not exist', filename
        )


def _naming_destination(error: OSError, destination: str) -> OSError:
    """The same error about the temp file, but naming the file the user asked for."""
    temp = os.path.basename(error.filename)
    reason = f'{error.strerror} (creating its temp file {temp})'
    return type(error)(error.errno, reason, destination)


def _load_fallocate() -> Callable[[int, int], int] | None:
    """Linux's ``fallocate(2)`` through libc, or ``None`` where there is none."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).fallocate
    except (AttributeError, OSError, ImportError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    function.restype = ctypes.c_int

    def fallocate(fd: int, size: int) -> int:
        return int(function(fd, 0, 0, size))

    return fallocate


_fallocate: Callable[[int, int], int] | None = None
_fallocate_loaded = False


def _preallocate(fd: int, size: int) -> None:
    """Allocate ``size`` bytes for the new temp file ``fd`` in one call.

    The download's positional writes then land in allocated blocks: on ext4 the
    page-cache copy of a 1 GiB download cost 0.17-0.21 s of kernel time in every
    trial, against 0.25-0.29 s, and 1.5-2.6 s in about a third of the trials, when
    each write allocated its own blocks (docs/performance.md). Uses the
    ``fallocate`` system call itself, never ``posix_fallocate``, which on a
    filesystem without it writes zeros over the whole file; any failure (no
    support, no space yet) is ignored: the writes then allocate as before.
    """
    global _fallocate, _fallocate_loaded
    if not _fallocate_loaded:
        _fallocate = _load_fallocate()
        _fallocate_loaded = True
    if _fallocate is None or size <= 0:
        return
    try:
        _fallocate(fd, size)
    except Exception:
        logger.debug('fallocate of %d bytes failed', size, exc_info=True)


class _PositionalTempFile(DeferredOpenFile):
    """Fast path "positional writes": a lazily opened temp file that request threads
    may also write with ``pwrite``.

    Writing positionally from the thread that read the bytes keeps them out of the io
    queue (memory) and off the single io thread (speed). The writes take turns: the
    kernel serializes writers of one file anyway, and the ones waiting there spin.
    """

    def __init__(
        self,
        filename: str,
        open_function: Callable[..., Any],
        destination: str | None = None,
        mode: str = 'wb',
    ) -> None:
        super().__init__(filename, mode=mode, open_function=self._open_and_keep)
        self._opener = open_function
        self._opened: Any = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.destination = destination
        # Decided at the first write, then kept for the file's life: whether this
        # fast path is on (S3TRANSFER_NO_FAST_PATHS read once per file, not per
        # chunk) and the descriptor to pwrite to (``None`` again once closed).
        self._positional: bool | None = None
        self._fd: int | None = None
        # Bytes to reserve on disk when the file is first opened (``reserve``).
        self._reserved = 0

    def _open_and_keep(self, filename: str, mode: str) -> Any:
        try:
            self._opened = self._opener(filename, mode)
        except OSError as error:
            if self.destination is None or error.filename != filename:
                raise
            raise _naming_destination(error, self.destination) from error
        return self._opened

    def write_at(self, data: bytes, offset: int) -> bool:
        """Write ``data`` at ``offset``; ``False`` if this file cannot do that (or
        fast paths are switched off): the caller then queues an io task."""
        if self._fd is None and self._file_descriptor() is None:
            return False
        view = memoryview(data)
        with self._write_lock:
            fd = self._fd
            if fd is None:  # closed meanwhile: let the io task report it
                return False
            while view:
                written = os.pwrite(fd, view, offset)
                view = view[written:]
                offset += written
        return True

    def _file_descriptor(self) -> int | None:
        with self._open_lock:
            if self._positional is None:
                self._positional = fastpaths.enabled() and hasattr(os, 'pwrite')
            if not self._positional:
                return None
            if self._opened is None:
                self.seek(0)  # opens the file (once) through DeferredOpenFile
            try:
                fd = self._opened.fileno()
            except (AttributeError, OSError, ValueError):
                return None
            with self._write_lock:
                if not getattr(self._opened, 'closed', False):
                    if self._fd is None and self._reserved and 'w' in self._mode:
                        _preallocate(fd, self._reserved)
                    self._fd = fd
                return self._fd

    def reserve(self, size: int) -> None:
        """Fast path "preallocated temp files": give a new temp file its final
        ``size`` on disk when it is opened (see ``_preallocate``)."""
        self._reserved = size

    def close(self) -> None:
        """Close the file; no positional write runs on (or after) the close."""
        with self._write_lock:
            self._fd = None
            super().close()


class DownloadOutputManager:
    """Where downloaded bytes go: which fileobj, which io tasks, which final task."""

    def __init__(
        self, osutil: Any, transfer_coordinator: Any, io_executor: Any
    ) -> None:
        self._osutil = osutil
        self._transfer_coordinator = transfer_coordinator
        self._io_executor = io_executor
        # Set when the download is verified (docs/integrity.md): GET tasks feed it
        # their bytes, the final io task checks it before finishing.
        self.verifier: DownloadVerifier | PendingVerifier | None = None

    def _final_task_kwargs(self, **main_kwargs: Any) -> dict[str, Any]:
        """Main kwargs of the final io task, with the verifier when there is one."""
        if self.verifier is not None:
            main_kwargs['verifier'] = self.verifier
        return main_kwargs

    @classmethod
    def is_compatible(cls, download_target: Any, osutil: Any) -> bool:
        """Whether this manager can write to ``download_target``."""
        raise NotImplementedError('must implement is_compatible()')

    def get_download_task_tag(self) -> Any:
        """The executor tag for this manager's GET tasks (``None``: untagged)."""
        return None

    def get_fileobj_for_io_writes(self, transfer_future: Any) -> Any:
        """The file-like object the io tasks write to."""
        raise NotImplementedError('must implement get_fileobj_for_io_writes()')

    def queue_file_io_task(self, fileobj: Any, data: bytes, offset: int) -> None:
        """Write our own temp file positionally right here (fast path "positional
        writes", docs/performance.md); else queue an io task."""
        if isinstance(fileobj, _PositionalTempFile) and fileobj.write_at(data, offset):
            return
        self._transfer_coordinator.submit(
            self._io_executor, self.get_io_write_task(fileobj, data, offset)
        )

    def get_io_write_task(self, fileobj: Any, data: bytes, offset: int) -> Task:
        """A task writing ``data`` at ``offset`` of ``fileobj``."""
        return IOWriteTask(
            self._transfer_coordinator,
            main_kwargs={'fileobj': fileobj, 'data': data, 'offset': offset},
        )

    def get_final_io_task(self) -> Task:
        """The final task: runs after every write and announces the transfer done."""
        raise NotImplementedError('must implement get_final_io_task()')

    def _check_download_target(self, transfer_future: Any) -> None:
        """Raise if the target can never be written; runs before any request."""

    def _get_fileobj_from_filename(self, filename: str) -> DeferredOpenFile:
        fileobj = DeferredOpenFile(filename, mode='wb', open_function=self._osutil.open)
        self._transfer_coordinator.add_failure_cleanup(fileobj.close)
        return fileobj


class DownloadFilenameOutputManager(DownloadOutputManager):
    """Downloads into a temp file next to the destination, renamed on success."""

    def __init__(
        self, osutil: Any, transfer_coordinator: Any, io_executor: Any
    ) -> None:
        super().__init__(osutil, transfer_coordinator, io_executor)
        self._final_filename: str | None = None
        self._temp_filename: str | None = None
        self._temp_fileobj: _PositionalTempFile | None = None

    @classmethod
    def is_compatible(cls, download_target: Any, osutil: Any) -> bool:
        """Any file name."""
        return isinstance(download_target, str)

    def get_fileobj_for_io_writes(self, transfer_future: Any) -> Any:
        """The (lazily opened) temp file; cleanups close and remove it on failure."""
        fileobj = transfer_future.meta.call_args.fileobj
        self._final_filename = fileobj
        self._temp_filename = self._osutil.get_temp_filename(fileobj)
        self._temp_fileobj = _PositionalTempFile(
            self._temp_filename, self._osutil.open, destination=fileobj
        )
        self._transfer_coordinator.add_failure_cleanup(self._temp_fileobj.close)
        self._transfer_coordinator.add_failure_cleanup(
            self._osutil.remove_file, self._temp_filename
        )
        return self._temp_fileobj

    def _check_download_target(self, transfer_future: Any) -> None:
        _check_destination_filename(transfer_future.meta.call_args.fileobj)

    def get_resumable_fileobj(
        self, transfer_future: Any, temp_filename: str, existing: bool
    ) -> Any:
        """Like ``get_fileobj_for_io_writes`` for a resumable download.

        The temp file is ``temp_filename`` (opened in place when ``existing``), and
        a failure removes it only when the state is discarded (``should_discard``).
        """
        self._final_filename = transfer_future.meta.call_args.fileobj
        self._temp_filename = temp_filename
        mode = 'r+b' if existing else 'wb'
        self._temp_fileobj = _PositionalTempFile(
            temp_filename,
            self._osutil.open,
            destination=self._final_filename,
            mode=mode,
        )
        coordinator = self._transfer_coordinator
        coordinator.add_failure_cleanup(self._temp_fileobj.close)
        coordinator.add_failure_cleanup(
            _remove_unless_kept, coordinator, self._osutil, temp_filename
        )
        return self._temp_fileobj

    def get_final_io_task(self) -> Task:
        """Close the temp file and rename it to the destination."""
        return IORenameFileTask(
            transfer_coordinator=self._transfer_coordinator,
            main_kwargs=self._final_task_kwargs(
                fileobj=self._temp_fileobj,
                final_filename=self._final_filename,
                osutil=self._osutil,
            ),
            is_final=True,
        )


class _IntoCallersObject(DownloadOutputManager):
    """Writes into the caller's own object: nothing to finish but announcing done."""

    def get_fileobj_for_io_writes(self, transfer_future: Any) -> Any:
        """The caller's object itself."""
        return transfer_future.meta.call_args.fileobj

    def get_final_io_task(self) -> Task:
        """Nothing to finish; only announces done."""
        return CompleteDownloadNOOPTask(
            transfer_coordinator=self._transfer_coordinator,
            main_kwargs=self._final_task_kwargs(),
        )


class DownloadSeekableOutputManager(_IntoCallersObject):
    """Writes straight into a seekable file object at each chunk's offset."""

    @classmethod
    def is_compatible(cls, download_target: Any, osutil: Any) -> bool:
        """Any seekable object."""
        return seekable(download_target)


class DownloadNonSeekableOutputManager(_IntoCallersObject):
    """Streams into a write-only object, reordering ranged chunks via a DeferQueue."""

    def __init__(
        self,
        osutil: Any,
        transfer_coordinator: Any,
        io_executor: Any,
        defer_queue: Any = None,
    ) -> None:
        super().__init__(osutil, transfer_coordinator, io_executor)
        self._defer_queue = DeferQueue() if defer_queue is None else defer_queue
        self._io_submit_lock = threading.Lock()

    @classmethod
    def is_compatible(cls, download_target: Any, osutil: Any) -> bool:
        """Any object with ``write``."""
        return hasattr(download_target, 'write')

    def get_download_task_tag(self) -> Any:
        """GET tasks use the in-memory sliding window."""
        return IN_MEMORY_DOWNLOAD_TAG

    def queue_file_io_task(self, fileobj: Any, data: bytes, offset: int) -> None:
        """Queue the writes the DeferQueue releases, in offset order.

        Several writes released at once go out as one io task that runs them in order
        (fast path "batched streaming writes"; one task per write when it is off).
        """
        with self._io_submit_lock:
            writes = self._defer_queue.request_writes(offset, data)
            for _ in writes:
                logger.debug('Queueing IO offset %s for fileobj: %s', offset, fileobj)
            if len(writes) == 1 or not fastpaths.enabled():
                for write in writes:
                    super().queue_file_io_task(fileobj, write['data'], write['offset'])
            elif writes:
                self._transfer_coordinator.submit(
                    self._io_executor, self._get_batch_write_task(fileobj, writes)
                )

    def _get_batch_write_task(self, fileobj: Any, writes: list[dict]) -> Task:
        tasks = [
            self.get_io_write_task(fileobj, write['data'], write['offset'])
            for write in writes
        ]
        return _IOTaskBatch(self._transfer_coordinator, main_kwargs={'tasks': tasks})

    def get_io_write_task(self, fileobj: Any, data: bytes, offset: int) -> Task:
        """A write without a seek (``offset`` is ignored)."""
        return IOStreamingWriteTask(
            self._transfer_coordinator,
            main_kwargs={'fileobj': fileobj, 'data': data},
        )


class DownloadSpecialFilenameOutputManager(DownloadNonSeekableOutputManager):
    """Streams into a FIFO, device or socket path; no temp file."""

    _fileobj: Any = None  # set by get_fileobj_for_io_writes

    @classmethod
    def is_compatible(cls, download_target: Any, osutil: Any) -> bool:
        """A path naming a special file."""
        return isinstance(download_target, str) and osutil.is_special_file(
            download_target
        )

    def get_fileobj_for_io_writes(self, transfer_future: Any) -> Any:
        """The special file itself, opened lazily (a FIFO: cancellably)."""
        filename = transfer_future.meta.call_args.fileobj
        self._fileobj = DeferredOpenFile(
            filename, mode='wb', open_function=self._open_special
        )
        self._transfer_coordinator.add_failure_cleanup(self._fileobj.close)
        return self._fileobj

    def _open_special(self, filename: str, mode: str) -> Any:
        try:
            is_fifo = stat.S_ISFIFO(os.stat(filename).st_mode)
        except OSError:
            is_fifo = False
        if not is_fifo:
            return self._osutil.open(filename, mode)
        return _CancellableFifoWriter(filename, self._transfer_coordinator)

    def get_final_io_task(self) -> Task:
        """Close the special file."""
        return IOCloseTask(
            transfer_coordinator=self._transfer_coordinator,
            is_final=True,
            main_kwargs=self._final_task_kwargs(fileobj=self._fileobj),
        )


class _CancellableFifoWriter:
    """A FIFO opened and written without blocking, so cancelling the transfer ends
    a wait for a reader (or for a reader to drain the pipe) within ~0.1 s."""

    def __init__(self, filename: str, coordinator: Any) -> None:
        self.name = filename
        self._coordinator = coordinator
        flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)
        while True:
            self._raise_if_stopped()
            try:
                self._fd = os.open(filename, flags)
                return
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
            waiting.sleep(waiting.CHECK_INTERVAL, stop=self._stopped)

    def _stopped(self) -> bool:
        return self._coordinator.exception is not None

    def _raise_if_stopped(self) -> None:
        if self._stopped():
            raise self._coordinator.exception

    def write(self, data: bytes) -> None:
        """Write all of ``data``, waiting for room in slices; stop once cancelled."""
        view = memoryview(data)
        while view:
            self._raise_if_stopped()
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                select.select([], [self._fd], [], waiting.CHECK_INTERVAL)

    def close(self) -> None:
        """Close the pipe (the reader sees end of file)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


_OUTPUT_MANAGER_RESOLUTION_ORDER = (
    DownloadSpecialFilenameOutputManager,
    DownloadFilenameOutputManager,
    DownloadSeekableOutputManager,
    DownloadNonSeekableOutputManager,
)


class DownloadSubmissionTask(SubmissionTask):
    """Works out the object size and submits the GetObject task(s) of a download."""

    def _get_download_output_manager_cls(
        self, transfer_future: Any, osutil: Any
    ) -> type[DownloadOutputManager]:
        download_target = transfer_future.meta.call_args.fileobj
        for manager_cls in _OUTPUT_MANAGER_RESOLUTION_ORDER:
            if manager_cls.is_compatible(download_target, osutil):
                return manager_cls
        raise RuntimeError(
            f'Output {download_target} of type: {type(download_target)} '
            f'is not supported.'
        )

    def _submit(
        self,
        client: Any,
        config: Any,
        osutil: Any,
        request_executor: Any,
        io_executor: Any,
        transfer_future: Any,
        bandwidth_limiter: Any = None,
        resume: ResumeOptions | None = None,
    ) -> None:
        manager_cls = self._get_download_output_manager_cls(transfer_future, osutil)
        download_output_manager = manager_cls(
            osutil, self._transfer_coordinator, io_executor
        )
        download_output_manager._check_download_target(transfer_future)

        def gets(fileobj: Any = None) -> GetObjectContext:
            return GetObjectContext.create(
                self._transfer_coordinator,
                transfer_future,
                client,
                config,
                request_executor,
                io_executor,
                download_output_manager,
                bandwidth_limiter,
                fileobj,
            )

        # A resume token continues a ranged download, whatever the settings say.
        resuming = resume is not None and resume.token is not None
        verify = getattr(config, 'verify_download_checksums', False)
        validation = getattr(client.meta.config, 'response_checksum_validation', None)
        if validation == 'when_required' and not verify and not resuming:
            self._submit_first_chunk_request(gets())
            return
        if verify and self._can_verify_from_get(config, transfer_future, resuming):
            single = gets()
            get_args = self._pending_verifier(client, transfer_future, single)
            self._submit_download_request(single, get_args)
            return
        if verify:
            self._prepare_verification(client, transfer_future, download_output_manager)
        else:
            self._discover_size_and_etag(client, transfer_future)
        if transfer_future.meta.size < config.multipart_threshold and not resuming:
            self._submit_download_request(gets())
            return
        journal = self._open_resume_journal(
            resume, config, osutil, transfer_future, download_output_manager
        )
        if journal is None:
            self._submit_ranged_download_request(gets())
            return
        # _open_resume_journal returns a journal for this manager type only.
        filename_manager = cast(DownloadFilenameOutputManager, download_output_manager)
        fileobj = filename_manager.get_resumable_fileobj(
            transfer_future, journal.token.temp_filename or '', journal.resumed
        )
        self._submit_ranged_download_request(gets(fileobj), journal, osutil)

    def _discover_size_and_etag(self, client: Any, transfer_future: Any) -> None:
        meta = transfer_future.meta
        if meta.size is not None and meta.etag is not None:
            return
        call_args = meta.call_args
        response = client.head_object(
            Bucket=call_args.bucket, Key=call_args.key, **call_args.extra_args
        )
        meta.provide_transfer_size(response['ContentLength'])
        meta.provide_object_etag(response.get('ETag'))
        self._head_version_id = response.get('VersionId')

    def _prepare_verification(
        self,
        client: Any,
        transfer_future: Any,
        download_output_manager: DownloadOutputManager,
    ) -> None:
        """HEAD with ``ChecksumMode=ENABLED``; give the output manager a verifier."""
        meta = transfer_future.meta
        call_args = meta.call_args
        head_args = {**call_args.extra_args, 'ChecksumMode': 'ENABLED'}
        response = client.head_object(
            Bucket=call_args.bucket, Key=call_args.key, **head_args
        )
        if meta.size is None:
            meta.provide_transfer_size(response['ContentLength'])
        if meta.etag is None:
            meta.provide_object_etag(response.get('ETag'))
        self._head_version_id = response.get('VersionId')
        found = build_download_verifier(
            client, call_args.bucket, call_args.key, call_args.extra_args, response
        )
        if isinstance(found, DownloadVerifier):
            found.on_verified = meta.provide_checksum_verification
            download_output_manager.verifier = found
            return
        meta.provide_checksum_verification(found)
        logger.warning(
            'Not verified: s3://%s/%s: %s',
            call_args.bucket,
            call_args.key,
            found.reason,
            extra={'unverified': f's3://{call_args.bucket}/{call_args.key}'},
        )

    @staticmethod
    def _can_verify_from_get(config: Any, transfer_future: Any, resuming: bool) -> bool:
        """A single GET with known size and ETag: its own headers have the checksum."""
        meta = transfer_future.meta
        return (
            not resuming
            and meta.size is not None
            and meta.etag is not None
            and meta.size < config.multipart_threshold
        )

    def _pending_verifier(
        self, client: Any, transfer_future: Any, gets: GetObjectContext
    ) -> dict:
        """Verify from the GET's response; returns the GET's extra_args."""
        meta = transfer_future.meta
        call_args = meta.call_args
        gets.download_output_manager.verifier = PendingVerifier(
            client,
            call_args.bucket,
            call_args.key,
            call_args.extra_args,
            meta.provide_checksum_verification,
        )
        return {**call_args.extra_args, 'ChecksumMode': 'ENABLED'}

    def _submit_download_request(
        self, gets: GetObjectContext, extra_args: dict | None = None
    ) -> None:
        """One GET of the whole object, written by the request thread itself."""
        final_task = gets.download_output_manager.get_final_io_task()
        if extra_args is None:
            extra_args = gets.call_args.extra_args
        task = ImmediatelyWriteIOGetObjectTask(
            transfer_coordinator=self._transfer_coordinator,
            main_kwargs=gets.main_kwargs(extra_args),
            done_callbacks=[final_task],
        )
        with last_submission():  # fast path: may run on this thread next
            self._transfer_coordinator.submit(
                gets.request_executor, task, tag=gets.get_object_tag
            )

    def _submit_ranged_download_request(
        self,
        gets: GetObjectContext,
        journal: Journal | None = None,
        osutil: Any = None,
    ) -> None:
        """One ranged GET per part of the plan, then the final io task.

        A resumed download (``journal``) GETs only the parts its temp file lacks,
        and counts the others as progress (and as verified input) at once.
        """
        meta = gets.transfer_future.meta
        plan = PartPlan(meta.size, download_part_size(gets.config, meta.size))
        parts: Iterable[Part] = plan.parts()
        if isinstance(gets.fileobj, _PositionalTempFile):
            gets.fileobj.reserve(meta.size)  # only a new temp file ('wb') takes it
        if journal is not None:
            token = journal.token
            plan = token.plan
            parts = [part for part in plan if part.number not in token.parts]
            invoke_progress_callbacks(gets.progress_callbacks, token.confirmed_bytes)
            verifier = getattr(gets.download_output_manager, 'verifier', None)
            if verifier is not None and journal.resumed:
                _verify_written_parts(verifier, osutil, token)
        invoker = CountCallbackInvoker(
            self._get_final_io_task_submission_callback(
                gets.download_output_manager, gets.io_executor
            )
        )
        submit_ranged_gets(gets, plan, parts, meta.etag, invoker, journal)

    def _open_resume_journal(
        self,
        resume: ResumeOptions | None,
        config: Any,
        osutil: Any,
        transfer_future: Any,
        download_output_manager: DownloadOutputManager,
    ) -> Journal | None:
        """The checked journal of a resumable ranged download to a file name.

        ``None`` unless resume was asked for and bytes go to a regular file written
        positionally. Its lock is held until the transfer ends (``resume.finish``).
        """
        if (
            resume is None
            or type(download_output_manager) is not DownloadFilenameOutputManager
            or not hasattr(os, 'pwrite')
        ):
            return None
        meta = transfer_future.meta
        call_args = meta.call_args
        journal = prepare_download(
            resume,
            call_args.fileobj,
            call_args.bucket,
            call_args.key,
            call_args.extra_args,
            meta.size,
            meta.etag,
            call_args.extra_args.get('VersionId')
            or getattr(self, '_head_version_id', None),
            download_part_size(config, meta.size),
            osutil.get_temp_filename(call_args.fileobj),
        )
        coordinator = self._transfer_coordinator
        coordinator.resume_journal = journal
        coordinator.add_done_callback(finish, journal, coordinator)
        return journal

    def _submit_first_chunk_request(self, gets: GetObjectContext) -> None:
        """GET the first part without knowing the size; its callback GETs the rest."""
        meta = gets.transfer_future.meta
        first_part = Part(1, 0, download_part_size(gets.config, None))
        extra_args = dict(gets.call_args.extra_args)
        extra_args['Range'] = first_part.range_header()
        if meta.etag is not None:
            extra_args['IfMatch'] = meta.etag
        callback = GetObjectFirstChunkOnDoneCallback(**gets.as_keywords())
        task = GetObjectTask(
            transfer_coordinator=self._transfer_coordinator,
            main_kwargs=gets.main_kwargs(extra_args, first_part),
            done_callbacks=[callback],
        )
        callback.set_task(task)
        # Untagged on purpose (quirk fix): the offset-0 chunk is never buffered
        # out of order, and holding a window slot here while the callback fills
        # the window with the remaining parts could never be released.
        self._transfer_coordinator.submit(gets.request_executor, task)

    def _calculate_range_param(
        self, part_size: int, part_index: int, num_parts: int
    ) -> str:
        return calculate_range_parameter(part_size, part_index, num_parts)

    def _get_final_io_task_submission_callback(
        self, download_manager: DownloadOutputManager, io_executor: Any
    ) -> FunctionContainer:
        final_task = download_manager.get_final_io_task()
        return FunctionContainer(
            self._transfer_coordinator.submit, io_executor, final_task
        )


@dataclass(frozen=True)
class GetObjectContext:
    """What every GetObject task of one download shares; built once per transfer."""

    transfer_coordinator: Any
    transfer_future: Any
    client: Any
    config: Any
    request_executor: Any
    io_executor: Any
    download_output_manager: DownloadOutputManager
    fileobj: Any
    progress_callbacks: list
    bandwidth_limiter: Any
    get_object_tag: Any

    @classmethod
    def create(
        cls,
        transfer_coordinator: Any,
        transfer_future: Any,
        client: Any,
        config: Any,
        request_executor: Any,
        io_executor: Any,
        download_output_manager: DownloadOutputManager,
        bandwidth_limiter: Any,
        fileobj: Any = None,
    ) -> GetObjectContext:
        """Ask the output manager for the write target, the callbacks and the tag.

        ``fileobj``: a write target already chosen (a resumed download's temp file).
        """
        if fileobj is None:
            fileobj = download_output_manager.get_fileobj_for_io_writes(transfer_future)
        return cls(
            transfer_coordinator=transfer_coordinator,
            transfer_future=transfer_future,
            client=client,
            config=config,
            request_executor=request_executor,
            io_executor=io_executor,
            download_output_manager=download_output_manager,
            fileobj=fileobj,
            progress_callbacks=get_callbacks(transfer_future, 'progress'),
            bandwidth_limiter=bandwidth_limiter,
            get_object_tag=download_output_manager.get_download_task_tag(),
        )

    @property
    def call_args(self) -> Any:
        return self.transfer_future.meta.call_args

    def as_keywords(self) -> dict[str, Any]:
        """The fields as keywords (not copied, unlike ``dataclasses.asdict``)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def main_kwargs(self, extra_args: dict, part: Part | None = None) -> dict:
        """``GetObjectTask`` main kwargs for one GET (of ``part``, when ranged)."""
        kwargs = {
            'client': self.client,
            'bucket': self.call_args.bucket,
            'key': self.call_args.key,
            'fileobj': self.fileobj,
            'extra_args': extra_args,
            'callbacks': self.progress_callbacks,
            'max_attempts': self.config.num_download_attempts,
            'download_output_manager': self.download_output_manager,
            'io_chunksize': self.config.io_chunksize,
            'bandwidth_limiter': self.bandwidth_limiter,
        }
        if part is not None:
            kwargs['start_index'] = part.offset
            policy = part_retry_policy(getattr(self.config, 'part_retry_attempts', 0))
            if policy is not None:
                kwargs['part_retry_policy'] = policy
        return kwargs


def download_part_size(config: Any, size: int | None) -> int:
    """The range size of a multipart download of ``size`` bytes under ``config``.

    ``multipart_chunksize`` (the spec's) unless ``download_part_size`` says
    otherwise: a size, or ``'auto'`` (``plan.auto_download_part_size``; with the
    size still unknown, ``multipart_chunksize``).
    """
    setting = getattr(config, 'download_part_size', None)
    if setting is None or (setting == 'auto' and size is None):
        return config.multipart_chunksize
    if setting == 'auto' and size is not None:
        return auto_download_part_size(
            size, config.multipart_chunksize, config.max_request_concurrency
        )
    return int(setting)


def submit_ranged_gets(
    gets: GetObjectContext,
    plan: PartPlan,
    parts: Iterable[Part],
    etag: str | None,
    invoker: CountCallbackInvoker,
    journal: Journal | None = None,
) -> None:
    """Submit a ranged ``GetObjectTask`` per part in ``parts``, then end ``invoker``.

    ``parts`` may be any subset of ``plan`` (e.g. the parts a resumed download still
    lacks). The plan's last part gets an open-ended range (``bytes=N-``), as the spec
    says; every GET carries ``IfMatch`` when ``etag`` is known. With a ``journal``
    each part is recorded once written, and GETs pin the recorded ``VersionId``.
    """
    pinned = _pinned_version(journal, gets.call_args.extra_args)
    try:
        for part in parts:
            extra_args = {'Range': part.range_header(open_ended=plan.is_last(part))}
            if etag is not None:
                extra_args['IfMatch'] = etag
            extra_args.update(pinned)
            extra_args.update(gets.call_args.extra_args)
            main_kwargs = gets.main_kwargs(extra_args, part)
            task_cls = GetObjectTask
            if journal is not None:
                task_cls = JournaledGetObjectTask
                main_kwargs.update(journal=journal, part_number=part.number)
            invoker.increment()
            gets.transfer_coordinator.submit(
                gets.request_executor,
                task_cls(
                    transfer_coordinator=gets.transfer_coordinator,
                    main_kwargs=main_kwargs,
                    done_callbacks=[invoker.decrement],
                ),
                tag=gets.get_object_tag,
            )
    finally:
        # Even after a failed submission the final task must run once the
        # submitted parts finish, so the transfer is announced done.
        invoker.finalize()


def _pinned_version(journal: Journal | None, extra_args: dict) -> dict[str, str]:
    """``VersionId`` a resumed download's GETs add (the version it started on)."""
    if journal is None or not journal.token.version_id or 'VersionId' in extra_args:
        return {}
    return {'VersionId': journal.token.version_id}


def _verify_written_parts(verifier: Any, osutil: Any, token: ResumeToken) -> None:
    """Feed a resumed download's verifier the ranges already in the temp file."""
    with osutil.open(token.temp_filename, 'rb') as f:
        for number in sorted(token.parts):
            part = token.plan.part(number)
            f.seek(part.offset)
            range_crc = verifier.range_crc(part.offset)
            remaining = part.size
            while remaining > 0:
                chunk = f.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break  # a short temp file: verification will fail, cleanly
                range_crc.update(chunk)
                remaining -= len(chunk)
            range_crc.commit()


def _remove_unless_kept(coordinator: Any, osutil: Any, filename: str) -> None:
    """A resumable download's failure cleanup: remove the temp file if discarded."""
    if should_discard(coordinator):
        osutil.remove_file(filename)


class GetObjectFirstChunkOnDoneCallback:
    """After the first ranged GET: learn size and ETag, then GET the other parts."""

    def __init__(self, **context: Any) -> None:
        """Keywords (spec download.md): exactly the fields of ``GetObjectContext``,
        ``transfer_future``, ``download_output_manager``, ``io_executor``, ...."""
        self._gets = GetObjectContext(**context)
        self._transfer_coordinator = self._gets.transfer_coordinator
        self._task: GetObjectTask | None = None
        self._final_task_submitted = False
        # Executors that run tasks inline call us on this same thread.
        self._creator_thread = threading.get_ident()

    def set_task(self, task: GetObjectTask) -> None:
        """Remember the first-chunk task whose response this callback reads."""
        self._task = task

    def __call__(self) -> None:
        """Run as the first GET's done callback, on its request thread."""
        if self._task is None:
            raise RuntimeError('set_task() must be called before the task is submitted')
        response = self._task.get_response()
        if response is None or self._transfer_coordinator.done():
            self._submit_final_task()
            return
        size = self._object_size(response)
        etag = response.get('ETag')
        meta = self._gets.transfer_future.meta
        meta.provide_transfer_size(size)
        meta.provide_object_etag(etag)
        if size == 0:
            # Creates the (empty) output file.
            self._gets.download_output_manager.queue_file_io_task(
                self._gets.fileobj, b'', 0
            )
        plan = PartPlan(size, download_part_size(self._gets.config, None))
        if plan.num_parts > 1:
            self._schedule_remaining_parts(plan, etag)
        else:
            self._submit_final_task()

    def _object_size(self, response: dict) -> int:
        content_range = response.get('ContentRange')
        if content_range:
            return int(content_range.rsplit('/', 1)[1])
        return response['ContentLength']

    def _submit_final_task(self) -> None:
        final_task = self._gets.download_output_manager.get_final_io_task()
        self._transfer_coordinator.submit(self._gets.io_executor, final_task)
        self._final_task_submitted = True

    def _schedule_remaining_parts(self, plan: PartPlan, etag: str | None) -> None:
        invoker = CountCallbackInvoker(self._submit_final_task)
        args = (self._gets, plan, plan.parts(first=2), etag, invoker)
        if threading.get_ident() == self._creator_thread:
            # Inline executor: every submit completes before returning; no waits.
            submit_ranged_gets(*args)
            return
        # Quirk fix: submitting may wait for executor slots that only request
        # threads free, so never wait on a request thread.
        threading.Thread(
            target=self._submit_off_request_thread,
            args=args,
            name='s3transfer-ranged-get-submitter',
            daemon=True,
        ).start()

    def _submit_off_request_thread(self, *args: Any) -> None:
        try:
            submit_ranged_gets(*args)
        except BaseException as e:
            logger.debug('Submitting the remaining parts failed.', exc_info=True)
            self._transfer_coordinator.set_exception(e)
            if not self._final_task_submitted:
                # Nothing else will announce this transfer done.
                self._transfer_coordinator.announce_done()


class GetObjectTask(Task):
    """One GetObject request (whole object or a range) streamed into io writes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._response: dict | None = None

    def _main(
        self,
        client: Any,
        bucket: str,
        key: str,
        fileobj: Any,
        extra_args: dict,
        callbacks: list,
        max_attempts: int,
        download_output_manager: DownloadOutputManager,
        io_chunksize: int,
        start_index: int = 0,
        bandwidth_limiter: Any = None,
        part_retry_policy: RetryPolicy | None = None,
    ) -> None:
        """GET and stream, retrying as the spec says; ``part_retry_policy`` (opt-in)
        then retries the whole part, with backoff, when that still fails."""

        def attempt() -> None:
            self._current_index = start_index
            try:
                self._download_once(
                    client,
                    bucket,
                    key,
                    fileobj,
                    extra_args,
                    callbacks,
                    download_output_manager,
                    io_chunksize,
                    bandwidth_limiter,
                )
            except ClientError as e:
                self._handle_client_error(e, bucket, key)

        def take_back_progress(error: BaseException) -> None:
            # Take back the progress this failed attempt reported.
            invoke_progress_callbacks(callbacks, start_index - self._current_index)

        def get_part() -> None:
            call_with_retries(
                download_retry_policy(max_attempts),
                attempt,
                on_retry=take_back_progress,
                log=logger,
            )

        if part_retry_policy is None:
            get_part()
            return
        # Each failed try already took back its progress (take_back_progress).
        call_with_retries(
            part_retry_policy,
            get_part,
            stop=self._transfer_coordinator.done,
            log=logger,
        )

    def _download_once(
        self,
        client: Any,
        bucket: str,
        key: str,
        fileobj: Any,
        extra_args: dict,
        callbacks: list,
        download_output_manager: DownloadOutputManager,
        io_chunksize: int,
        bandwidth_limiter: Any,
    ) -> None:
        response = client.get_object(Bucket=bucket, Key=key, **extra_args)
        self._response = response
        self._validate_response(response, extra_args.get('Range'), bucket, key)
        body = StreamReaderProgress(response['Body'], callbacks)
        if bandwidth_limiter is not None:
            body = bandwidth_limiter.get_bandwith_limited_stream(
                body, self._transfer_coordinator
            )
        verifier = getattr(download_output_manager, 'verifier', None)
        if isinstance(verifier, PendingVerifier):
            verifier.resolve(response)
        range_crc = verifier.range_crc(self._current_index) if verifier else None
        for chunk in DownloadChunkIterator(body, io_chunksize):
            if self._transfer_coordinator.done():
                response['Body'].close()
                return
            if range_crc is not None:
                range_crc.update(chunk)
            self._handle_io(
                download_output_manager, fileobj, chunk, self._current_index
            )
            self._current_index += len(chunk)
        if range_crc is not None:
            range_crc.commit()

    def _handle_client_error(self, error: ClientError, bucket: str, key: str) -> None:
        code = error.response.get('Error', {}).get('Code')
        if code == 'PreconditionFailed':
            raise S3DownloadFailedError(_etag_mismatch_message(bucket, key))
        if code == 'InvalidRange':
            # Ranged GET of an empty object: treat it as empty.
            self._response = {'ContentLength': 0, 'ContentRange': None, 'ETag': None}
            return
        raise error

    def _validate_response(
        self, response: dict, requested_range: str | None, bucket: str, key: str
    ) -> None:
        self._validate_content_range(requested_range, response.get('ContentRange'))

    def get_response(self) -> dict | None:
        """The last GetObject response, or ``None`` before the first one."""
        return self._response

    def _validate_content_range(
        self, requested_range: str | None, content_range: str | None
    ) -> None:
        if not requested_range or not content_range:
            return
        response_range, total = content_range.split('/')
        response_start, response_end = response_range[6:].split('-')
        requested = requested_range[6:]
        if '-' not in requested:
            return
        requested_start, requested_end = requested.split('-')
        if not requested_start:
            return  # a suffix range ('bytes=-N') has no start to compare
        if not requested_end:
            requested_end = str(int(total) - 1)
        if int(response_start) != int(requested_start):
            raise S3ValidationError(
                f'Response range start `{response_start}` does not match '
                f'requested start `{requested_start}`'
            )
        if int(response_end) > int(requested_end):
            raise S3ValidationError(
                f'Response range end `{response_end}` exceeds requested end '
                f'`{requested_end}`'
            )

    def _handle_io(
        self,
        download_output_manager: DownloadOutputManager,
        fileobj: Any,
        chunk: bytes,
        index: int,
    ) -> None:
        download_output_manager.queue_file_io_task(fileobj, chunk, index)


class JournaledGetObjectTask(GetObjectTask):
    """A ranged GET of a resumable download; records its part once it is on disk.

    Its bytes were written positionally by this thread (``write_at``), so when
    ``_main`` returns without the transfer being done, the whole range is written.
    """

    def _main(  # type: ignore[override]
        self, journal: Journal, part_number: int, **kwargs: Any
    ) -> None:
        super()._main(**kwargs)
        if not self._transfer_coordinator.done():
            journal.record_part(part_number)


class ImmediatelyWriteIOGetObjectTask(GetObjectTask):
    """A non-ranged GET that writes each chunk itself, without the io executor.

    Quirk fix: for targets that ignore offsets (non-seekable), a retry skips the bytes
    an earlier attempt already wrote, and refuses a retry that sees another ETag.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._streamed_until = 0
        self._first_etag = None

    def _validate_response(
        self, response: dict, requested_range: str | None, bucket: str, key: str
    ) -> None:
        super()._validate_response(response, requested_range, bucket, key)
        etag = response.get('ETag')
        if self._first_etag is None:
            self._first_etag = etag
        elif self._streamed_until and etag and etag != self._first_etag:
            raise S3DownloadFailedError(_etag_mismatch_message(bucket, key))

    def _handle_io(
        self,
        download_output_manager: DownloadOutputManager,
        fileobj: Any,
        chunk: bytes,
        index: int,
    ) -> None:
        if isinstance(download_output_manager, DownloadNonSeekableOutputManager):
            unwritten = self._unwritten_part(chunk, index)
            if unwritten is None:
                return
            chunk = unwritten
            index = max(index, self._streamed_until)
            self._streamed_until = index + len(chunk)
        download_output_manager.get_io_write_task(fileobj, chunk, index)()

    def _unwritten_part(self, chunk: bytes, index: int) -> bytes | None:
        already_written = self._streamed_until - index
        if already_written <= 0:
            return chunk
        if already_written >= len(chunk):
            return None
        return chunk[already_written:]


class IOWriteTask(Task):
    """Seek to ``offset`` and write ``data``."""

    def _main(self, fileobj: Any, data: bytes, offset: int) -> None:
        fileobj.seek(offset)
        fileobj.write(data)


class IOStreamingWriteTask(Task):
    """Write ``data`` at the current position (no seek)."""

    def _main(self, fileobj: Any, data: bytes) -> None:
        fileobj.write(data)


class _IOTaskBatch(Task):
    """Fast path "batched streaming writes": several io tasks run in order on the io
    thread as one task (one executor hop instead of many)."""

    @property
    def queue_slots(self) -> int:
        """Slots this batch takes in the io queue: one per write, as if unbatched."""
        return len(self._main_kwargs['tasks'])

    def _main(self, tasks: list[Task]) -> None:
        for task in tasks:
            task._run()  # already inside this batch's botocore context


class IORenameFileTask(Task):
    """Close the temp file and rename it into place (replacing any old file)."""

    def _main(
        self,
        fileobj: Any,
        final_filename: str,
        osutil: Any,
        verifier: DownloadVerifier | PendingVerifier | None = None,
    ) -> None:
        fileobj.close()
        if verifier is not None:
            verifier.verify()  # on mismatch the failure cleanups remove the temp file
        osutil.rename_file(fileobj.name, final_filename)


class IOCloseTask(Task):
    """Close the file."""

    def _main(
        self, fileobj: Any, verifier: DownloadVerifier | PendingVerifier | None = None
    ) -> None:
        fileobj.close()
        if verifier is not None:
            verifier.verify()


class CompleteDownloadNOOPTask(Task):
    """A final task with nothing to do: it only announces the download done."""

    def __init__(
        self,
        transfer_coordinator: Any,
        main_kwargs: dict | None = None,
        pending_main_kwargs: dict | None = None,
        done_callbacks: list | None = None,
        is_final: bool = True,
    ) -> None:
        super().__init__(
            transfer_coordinator=transfer_coordinator,
            main_kwargs=main_kwargs,
            pending_main_kwargs=pending_main_kwargs,
            done_callbacks=done_callbacks,
            is_final=is_final,
        )

    def _main(self, verifier: DownloadVerifier | PendingVerifier | None = None) -> None:
        if verifier is not None:
            verifier.verify()


class DownloadChunkIterator:
    """Reads a body in ``chunksize`` pieces; an empty body yields one ``b''``."""

    def __init__(self, body: Any, chunksize: int) -> None:
        self._body = body
        self._chunksize = chunksize
        self._num_reads = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = self._body.read(self._chunksize)
        self._num_reads += 1
        if chunk:
            return chunk
        if self._num_reads == 1:
            # An empty object still produces one write, which creates the file.
            return chunk
        raise StopIteration()

    next = __next__


class DeferQueue:
    """Releases out-of-order writes strictly in contiguous offset order from 0."""

    def __init__(self) -> None:
        self._offsets: list[int] = []
        self._pending: dict[int, bytes] = {}
        self._next_offset = 0
        self._lock = threading.Lock()

    def request_writes(self, offset: int, data: bytes) -> list[dict]:
        """Accept ``data`` at ``offset``; return the writes now contiguous, in order."""
        with self._lock:
            if offset + len(data) <= self._next_offset:
                return []
            if offset < self._next_offset:
                data = data[self._next_offset - offset :]
                offset = self._next_offset
            existing = self._pending.get(offset)
            if existing is None:
                heapq.heappush(self._offsets, offset)
                self._pending[offset] = data
            elif len(data) > len(existing):
                self._pending[offset] = data
            return self._pop_contiguous_writes()

    def _pop_contiguous_writes(self) -> list[dict]:
        writes = []
        while self._offsets and self._offsets[0] <= self._next_offset:
            offset = heapq.heappop(self._offsets)
            data = self._pending.pop(offset)
            if offset < self._next_offset:
                # Overtaken by a longer write: only the tail is still new.
                data = data[self._next_offset - offset :]
            if data:
                writes.append({'offset': self._next_offset, 'data': data})
                self._next_offset += len(data)
        return writes
