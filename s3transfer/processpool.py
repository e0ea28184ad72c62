"""Download S3 objects with a pool of processes instead of threads.

Use :class:`ProcessPoolDownloader` as a context manager; every ``download_file`` call
returns a future whose ``result()`` returns ``None`` or raises the transfer's error::

    from s3transfer.processpool import ProcessPoolDownloader, ProcessTransferConfig

    config = ProcessTransferConfig(
        multipart_threshold=8 * 1024 * 1024,
        multipart_chunksize=8 * 1024 * 1024,
        max_request_processes=10,
    )
    with ProcessPoolDownloader(config=config) as downloader:
        future = downloader.download_file('mybucket', 'mykey', 'myfile')
        future.result()

Leaving the ``with`` block waits for every download and stops the child processes;
futures are only usable before that. ``client_kwargs`` are forwarded to
``botocore.session.Session.create_client`` in each child process, e.g.
``ProcessPoolDownloader(client_kwargs={'region_name': 'us-west-2'})``.

Design: a manager process hosts the ``TransferMonitor`` (per-transfer state); a
``GetObjectSubmitter`` process sizes each download, pre-allocates a temporary file and
queues one ``GetObjectJob`` per ranged part; ``GetObjectWorker`` processes run the jobs,
and the worker finishing a transfer's last job renames (or removes) the temporary file.
Children ignore Ctrl-C; the parent tells them when to stop.
"""

import collections
import contextlib
import copy
import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
from botocore.config import Config

from s3transfer.compat import BaseManager
from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS, MB, PROCESS_USER_AGENT
from s3transfer.exceptions import CancelledError
from s3transfer.futures import BaseTransferFuture, MetaRecord
from s3transfer.retries import call_with_retries, download_retry_policy
from s3transfer.utils import (
    CallArgs,
    OSUtils,
    calculate_num_parts,
    calculate_range_parameter,
    create_nested_client,
)
from s3transfer.validation import validate_extra_args
from s3transfer.waiting import wait_for_event

logger = logging.getLogger(__name__)


SHUTDOWN_SIGNAL = 'SHUTDOWN'

# The request the parent sends to the submitter for each download_file() call.
DownloadFileRequest = collections.namedtuple(
    'DownloadFileRequest',
    ['transfer_id', 'bucket', 'key', 'filename', 'extra_args', 'expected_size'],
)

# One GetObject (whole object or one range) for a worker to write at ``offset``.
GetObjectJob = collections.namedtuple(
    'GetObjectJob',
    [
        'transfer_id',
        'bucket',
        'key',
        'temp_filename',
        'extra_args',
        'offset',
        'filename',
    ],
)


@contextlib.contextmanager
def ignore_ctrl_c() -> Iterator[None]:
    """Ignore SIGINT inside the block; restore the previous handler afterwards."""
    original_handler = _add_ignore_handler_for_interrupts()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, original_handler)


def _add_ignore_handler_for_interrupts() -> Any:
    """Ignore SIGINT in this process and return the previous handler."""
    return signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Defer SIGINT in this thread while child processes are being started.

    Children inherit the blocked mask, so a Ctrl-C arriving before a child has installed
    its ignore handler cannot kill it with ``KeyboardInterrupt``; the parent receives
    the deferred signal when the block ends.
    """
    if not hasattr(signal, 'pthread_sigmask'):
        yield
        return
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _notify_exception(monitor: Any, transfer_id: int, exception: Exception) -> None:
    """Record ``exception``; fall back to a picklable summary if it cannot cross over.

    Without the fallback an unpicklable error would kill the child process and leave
    the transfer's ``result()`` waiting forever.
    """
    try:
        monitor.notify_exception(transfer_id, exception)
    except Exception:
        logger.debug('Could not record %r, recording a summary', exception)
        summary = RuntimeError(f'{type(exception).__name__}: {exception}')
        monitor.notify_exception(transfer_id, summary)


class ProcessTransferConfig:
    """Sizes and process count for :class:`ProcessPoolDownloader`."""

    def __init__(
        self,
        multipart_threshold: int = 8 * MB,
        multipart_chunksize: int = 8 * MB,
        max_request_processes: int = 10,
    ) -> None:
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize
        self.max_request_processes = max_request_processes


class ProcessPoolDownloader:
    """Downloads S3 objects to files using a pool of child processes."""

    def __init__(
        self,
        client_kwargs: dict | None = None,
        config: ProcessTransferConfig | None = None,
    ) -> None:
        if client_kwargs is None:
            client_kwargs = {}
        self._client_factory = ClientFactory(client_kwargs)
        self._transfer_config = ProcessTransferConfig() if config is None else config
        self._download_request_queue: multiprocessing.Queue[Any] = (
            multiprocessing.Queue(1000)
        )
        self._worker_queue: multiprocessing.Queue[Any] = multiprocessing.Queue(1000)
        self._osutil = OSUtils()
        self._started = False
        self._start_lock = threading.Lock()
        self._manager: Any = None
        self._transfer_monitor: Any = None
        self._submitter: GetObjectSubmitter | None = None
        self._workers: list[GetObjectWorker] = []

    def download_file(
        self,
        bucket: str,
        key: str,
        filename: str,
        extra_args: dict | None = None,
        expected_size: int | None = None,
    ) -> 'ProcessPoolTransferFuture':
        """Queue a download of ``bucket``/``key`` to ``filename`` and return its future.

        ``expected_size`` (bytes) skips the HeadObject request.
        """
        self._start_if_needed()
        if extra_args is None:
            extra_args = {}
        self._validate_all_known_args(extra_args)
        transfer_id = self._transfer_monitor.notify_new_transfer()
        call_args = CallArgs(
            bucket=bucket,
            key=key,
            filename=filename,
            extra_args=extra_args,
            expected_size=expected_size,
        )
        request = DownloadFileRequest(transfer_id=transfer_id, **vars(call_args))
        logger.debug('Submitting download file request: %s.', request)
        self._download_request_queue.put(request)
        meta = ProcessPoolTransferMeta(call_args=call_args, transfer_id=transfer_id)
        return ProcessPoolTransferFuture(monitor=self._transfer_monitor, meta=meta)

    def shutdown(self) -> None:
        """Wait for every submitted download, then stop all child processes."""
        with self._start_lock:
            if self._started:
                self._shutdown_submitter()
                self._shutdown_get_object_workers()
                self._shutdown_transfer_monitor_manager()
                self._started = False

    def __enter__(self) -> 'ProcessPoolDownloader':
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, *args: Any) -> None:
        if isinstance(exc_value, KeyboardInterrupt):
            if self._transfer_monitor is not None:
                logger.debug('Cancelling all in-progress downloads after Ctrl-C.')
                self._transfer_monitor.notify_cancel_all_in_progress()
        self.shutdown()

    def _validate_all_known_args(self, provided: dict) -> None:
        validate_extra_args(provided, ALLOWED_DOWNLOAD_ARGS)

    def _start_if_needed(self) -> None:
        with self._start_lock:
            if not self._started:
                with _sigint_blocked():
                    self._start()

    def _start(self) -> None:
        self._start_transfer_monitor_manager()
        self._start_submitter()
        self._start_get_object_workers()
        self._started = True

    def _start_transfer_monitor_manager(self) -> None:
        logger.debug('Starting the TransferMonitorManager.')
        self._manager = TransferMonitorManager()
        # The manager process must not die on Ctrl-C before the parent cancels.
        self._manager.start(_add_ignore_handler_for_interrupts)
        self._transfer_monitor = self._manager.TransferMonitor()

    def _start_submitter(self) -> None:
        logger.debug('Starting the GetObjectSubmitter.')
        self._submitter = GetObjectSubmitter(
            transfer_config=self._transfer_config,
            client_factory=self._client_factory,
            transfer_monitor=self._transfer_monitor,
            osutil=self._osutil,
            download_request_queue=self._download_request_queue,
            worker_queue=self._worker_queue,
        )
        self._submitter.start()

    def _start_get_object_workers(self) -> None:
        count = self._transfer_config.max_request_processes
        logger.debug('Starting %s GetObjectWorkers.', count)
        for _ in range(count):
            worker = GetObjectWorker(
                queue=self._worker_queue,
                client_factory=self._client_factory,
                transfer_monitor=self._transfer_monitor,
                osutil=self._osutil,
            )
            worker.start()
            self._workers.append(worker)

    def _shutdown_submitter(self) -> None:
        logger.debug('Shutting down the GetObjectSubmitter.')
        self._download_request_queue.put(SHUTDOWN_SIGNAL)
        if self._submitter is not None:
            self._submitter.join()

    def _shutdown_get_object_workers(self) -> None:
        logger.debug('Shutting down the GetObjectWorkers.')
        for _ in self._workers:
            self._worker_queue.put(SHUTDOWN_SIGNAL)
        for worker in self._workers:
            worker.join()
        self._workers = []

    def _shutdown_transfer_monitor_manager(self) -> None:
        logger.debug('Shutting down the TransferMonitorManager.')
        self._manager.shutdown()
        # A monitor proxy of a stopped manager is unusable (see __exit__).
        self._transfer_monitor = None


class ProcessPoolTransferFuture(BaseTransferFuture):
    """The future of one :class:`ProcessPoolDownloader` download."""

    def __init__(self, monitor: Any, meta: 'ProcessPoolTransferMeta') -> None:
        self._monitor = monitor
        self._meta = meta

    @property
    def meta(self) -> 'ProcessPoolTransferMeta':
        """Metadata about the download."""
        return self._meta

    def done(self) -> bool:
        """Whether the download has finished (successfully or not)."""
        return self._monitor.is_done(self._meta.transfer_id)

    def result(self) -> None:
        """Wait for the download; return ``None`` or raise its exception."""
        try:
            return self._monitor.poll_for_result(self._meta.transfer_id)
        except KeyboardInterrupt:
            # The interrupted call left its connection unusable: open a fresh one.
            self._monitor._connect()
            self.cancel()
            raise

    def cancel(self) -> None:
        """Cancel the download; ``result()`` raises ``CancelledError`` once it ends."""
        self._monitor.notify_exception(self._meta.transfer_id, CancelledError())


class ProcessPoolTransferMeta(MetaRecord):
    """Call arguments, id (the monitor's) and user data of a process-pool download."""

    def __init__(self, transfer_id: int, call_args: CallArgs) -> None:
        super().__init__(call_args, transfer_id)


class ClientFactory:
    """Creates S3 clients (inside child processes) tagged with the processpool agent."""

    def __init__(self, client_kwargs: dict | None = None) -> None:
        self._client_kwargs: dict = {} if client_kwargs is None else client_kwargs
        client_config = copy.deepcopy(self._client_kwargs.get('config', Config()))
        if not client_config.user_agent_extra:
            client_config.user_agent_extra = PROCESS_USER_AGENT
        else:
            client_config.user_agent_extra += ' ' + PROCESS_USER_AGENT
        self._client_kwargs['config'] = client_config

    def create_client(self) -> Any:
        """Return a new S3 client from a new botocore session."""
        session = botocore.session.Session()
        return create_nested_client(session, 's3', **self._client_kwargs)


class TransferMonitor:
    """Per-transfer state shared by all processes (hosted in the manager process)."""

    def __init__(self) -> None:
        self._transfer_states: dict[int, TransferState] = {}
        self._id_count = 0
        self._init_lock = threading.Lock()

    def notify_new_transfer(self) -> int:
        """Register a new transfer and return its id (0, 1, ...)."""
        with self._init_lock:
            transfer_id = self._id_count
            self._transfer_states[transfer_id] = TransferState()
            self._id_count += 1
            return transfer_id

    def is_done(self, transfer_id: int) -> bool:
        """Whether the transfer has finished."""
        return self._transfer_states[transfer_id].done

    def notify_done(self, transfer_id: int) -> None:
        """Mark the transfer finished, releasing ``poll_for_result`` waiters."""
        self._transfer_states[transfer_id].set_done()

    def poll_for_result(self, transfer_id: int) -> None:
        """Wait until the transfer is done; raise its exception if it has one."""
        self._transfer_states[transfer_id].wait_till_done()
        exception = self._transfer_states[transfer_id].exception
        if exception:
            raise exception
        return None

    def notify_exception(self, transfer_id: int, exception: BaseException) -> None:
        """Record (or replace) the transfer's exception."""
        self._transfer_states[transfer_id].exception = exception

    def notify_cancel_all_in_progress(self) -> None:
        """Give every unfinished transfer a ``CancelledError``."""
        for transfer_state in self._transfer_states.values():
            if not transfer_state.done:
                transfer_state.exception = CancelledError()

    def get_exception(self, transfer_id: int) -> BaseException | None:
        """The transfer's recorded exception, or ``None``."""
        return self._transfer_states[transfer_id].exception

    def notify_expected_jobs_to_complete(self, transfer_id: int, num_jobs: int) -> None:
        """Set how many GetObject jobs the transfer consists of."""
        self._transfer_states[transfer_id].jobs_to_complete = num_jobs

    def notify_job_complete(self, transfer_id: int) -> int:
        """Count one job as finished and return how many remain."""
        return self._transfer_states[transfer_id].decrement_jobs_to_complete()


class TransferState:
    """Exception, done flag and outstanding job count of one transfer."""

    def __init__(self) -> None:
        self._exception: BaseException | None = None
        self._done_event = threading.Event()
        self._job_lock = threading.Lock()
        self._jobs_to_complete = 0

    @property
    def done(self) -> bool:
        """Whether the transfer has finished."""
        return self._done_event.is_set()

    def set_done(self) -> None:
        """Mark the transfer finished."""
        self._done_event.set()

    def wait_till_done(self) -> None:
        """Block until the transfer is finished (interruptible by Ctrl-C)."""
        wait_for_event(self._done_event)

    @property
    def exception(self) -> BaseException | None:
        """The recorded exception, or ``None``."""
        return self._exception

    @exception.setter
    def exception(self, val: BaseException | None) -> None:
        self._exception = val

    @property
    def jobs_to_complete(self) -> int:
        """How many jobs are still outstanding."""
        return self._jobs_to_complete

    @jobs_to_complete.setter
    def jobs_to_complete(self, val: int) -> None:
        self._jobs_to_complete = val

    def decrement_jobs_to_complete(self) -> int:
        """Count one job as finished and return how many remain."""
        with self._job_lock:
            self._jobs_to_complete -= 1
            return self._jobs_to_complete


class TransferMonitorManager(BaseManager):
    """The manager process that hosts the shared :class:`TransferMonitor`."""


TransferMonitorManager.register('TransferMonitor', TransferMonitor)


class BaseS3TransferProcess(multiprocessing.Process):
    """A child process with its own S3 client that ignores Ctrl-C while it works."""

    def __init__(self, client_factory: ClientFactory) -> None:
        super().__init__()
        self._client_factory = client_factory
        self._client: Any = None

    def run(self) -> None:
        """Create the client, then do the work with SIGINT ignored."""
        # Clients are created here because botocore clients cannot be pickled.
        self._client = self._client_factory.create_client()
        with ignore_ctrl_c():
            self._do_run()

    def _do_run(self) -> None:
        raise NotImplementedError('_do_run()')


class _QueueProcess(BaseS3TransferProcess):
    """A child process serving one queue until ``SHUTDOWN_SIGNAL``, reporting to
    the transfer monitor (the submitter and the workers)."""

    def __init__(
        self, client_factory: ClientFactory, transfer_monitor: Any, osutil: OSUtils
    ) -> None:
        super().__init__(client_factory)
        self._transfer_monitor = transfer_monitor
        self._osutil = osutil

    def _serve(self, queue: Any, handle: Callable[[Any], None], name: str) -> None:
        """``handle`` each item taken from ``queue`` until the shutdown signal."""
        while True:
            item = queue.get()
            if item == SHUTDOWN_SIGNAL:
                logger.debug('%s shutdown signal received.', name)
                return
            handle(item)


class GetObjectSubmitter(_QueueProcess):
    """Turns download requests into GetObject jobs, one per ranged part."""

    def __init__(
        self,
        transfer_config: ProcessTransferConfig,
        client_factory: ClientFactory,
        transfer_monitor: Any,
        osutil: OSUtils,
        download_request_queue: Any,
        worker_queue: Any,
    ) -> None:
        super().__init__(client_factory, transfer_monitor, osutil)
        self._transfer_config = transfer_config
        self._download_request_queue = download_request_queue
        self._worker_queue = worker_queue

    def _do_run(self) -> None:
        self._serve(self._download_request_queue, self._submit_request, 'Submitter')

    def _submit_request(self, download_file_request: DownloadFileRequest) -> None:
        try:
            self._submit_get_object_jobs(download_file_request)
        except Exception as e:
            logger.debug('Failed to submit %s: %r', download_file_request, e)
            transfer_id = download_file_request.transfer_id
            _notify_exception(self._transfer_monitor, transfer_id, e)
            self._transfer_monitor.notify_done(transfer_id)

    def _submit_get_object_jobs(
        self, download_file_request: DownloadFileRequest
    ) -> None:
        size = self._get_size(download_file_request)
        temp_filename = self._allocate_temp_file(download_file_request, size)
        if size < self._transfer_config.multipart_threshold:
            self._submit_single_get_object_job(download_file_request, temp_filename)
        else:
            self._submit_ranged_get_object_jobs(
                download_file_request, temp_filename, size
            )

    def _get_size(self, download_file_request: DownloadFileRequest) -> int:
        expected_size = download_file_request.expected_size
        if expected_size is None:
            expected_size = self._client.head_object(
                Bucket=download_file_request.bucket,
                Key=download_file_request.key,
                **download_file_request.extra_args,
            )['ContentLength']
        return expected_size

    def _allocate_temp_file(
        self, download_file_request: DownloadFileRequest, size: int
    ) -> str:
        temp_filename = self._osutil.get_temp_filename(download_file_request.filename)
        if size:
            self._osutil.allocate(temp_filename, size)
        else:
            # Fix of a 0.19.3 quirk: posix_fallocate rejects zero-length allocations.
            self._osutil.open(temp_filename, 'wb').close()
        return temp_filename

    def _submit_single_get_object_job(
        self, download_file_request: DownloadFileRequest, temp_filename: str
    ) -> None:
        self._notify_jobs_to_complete(download_file_request.transfer_id, 1)
        self._submit_get_object_job(
            download_file_request,
            temp_filename=temp_filename,
            extra_args=download_file_request.extra_args,
            offset=0,
        )

    def _submit_ranged_get_object_jobs(
        self,
        download_file_request: DownloadFileRequest,
        temp_filename: str,
        size: int,
    ) -> None:
        part_size = self._transfer_config.multipart_chunksize
        num_parts = calculate_num_parts(size, part_size)
        self._notify_jobs_to_complete(download_file_request.transfer_id, num_parts)
        for i in range(num_parts):
            range_parameter = calculate_range_parameter(part_size, i, num_parts)
            extra_args = {'Range': range_parameter}
            extra_args.update(download_file_request.extra_args)
            self._submit_get_object_job(
                download_file_request,
                temp_filename=temp_filename,
                extra_args=extra_args,
                offset=i * part_size,
            )

    def _submit_get_object_job(
        self,
        download_file_request: DownloadFileRequest,
        temp_filename: str,
        extra_args: dict,
        offset: int,
    ) -> None:
        self._worker_queue.put(
            GetObjectJob(
                transfer_id=download_file_request.transfer_id,
                bucket=download_file_request.bucket,
                key=download_file_request.key,
                temp_filename=temp_filename,
                extra_args=extra_args,
                offset=offset,
                filename=download_file_request.filename,
            )
        )

    def _notify_jobs_to_complete(self, transfer_id: int, num_jobs: int) -> None:
        logger.debug('Transfer %s expects %s GetObject jobs.', transfer_id, num_jobs)
        self._transfer_monitor.notify_expected_jobs_to_complete(transfer_id, num_jobs)


class GetObjectWorker(_QueueProcess):
    """Runs GetObject jobs and finalizes each transfer after its last job."""

    # A job is retried as a whole when its body stream fails.
    _MAX_ATTEMPTS = 5
    _IO_CHUNKSIZE = 2 * MB

    def __init__(
        self,
        queue: Any,
        client_factory: ClientFactory,
        transfer_monitor: Any,
        osutil: OSUtils,
    ) -> None:
        super().__init__(client_factory, transfer_monitor, osutil)
        self._queue = queue

    def _do_run(self) -> None:
        self._serve(self._queue, self._take_job, 'Worker')

    def _take_job(self, job: GetObjectJob) -> None:
        if not self._transfer_monitor.get_exception(job.transfer_id):
            self._run_get_object_job(job)
        else:
            logger.debug('Skipping %s: its transfer already failed.', job)
        remaining = self._transfer_monitor.notify_job_complete(job.transfer_id)
        if not remaining:
            self._finalize_download(job.transfer_id, job.temp_filename, job.filename)

    def _run_get_object_job(self, job: GetObjectJob) -> None:
        try:
            self._do_get_object(
                bucket=job.bucket,
                key=job.key,
                temp_filename=job.temp_filename,
                extra_args=job.extra_args,
                offset=job.offset,
            )
        except Exception as e:
            logger.debug('GetObject job %s failed: %r', job, e)
            _notify_exception(self._transfer_monitor, job.transfer_id, e)

    def _do_get_object(
        self, bucket: str, key: str, temp_filename: str, extra_args: dict, offset: int
    ) -> None:

        def attempt() -> None:
            response = self._client.get_object(Bucket=bucket, Key=key, **extra_args)
            self._write_to_file(temp_filename, offset, response['Body'])

        call_with_retries(
            download_retry_policy(self._MAX_ATTEMPTS), attempt, log=logger
        )

    def _write_to_file(self, filename: str, offset: int, body: Any) -> None:
        with open(filename, 'rb+') as f:
            f.seek(offset)
            for chunk in iter(lambda: body.read(self._IO_CHUNKSIZE), b''):
                f.write(chunk)

    def _finalize_download(
        self, transfer_id: int, temp_filename: str, filename: str
    ) -> None:
        if self._transfer_monitor.get_exception(transfer_id):
            self._osutil.remove_file(temp_filename)
        else:
            self._do_file_rename(transfer_id, temp_filename, filename)
        self._transfer_monitor.notify_done(transfer_id)

    def _do_file_rename(
        self, transfer_id: int, temp_filename: str, filename: str
    ) -> None:
        try:
            self._osutil.rename_file(temp_filename, filename)
        except Exception as e:
            _notify_exception(self._transfer_monitor, transfer_id, e)
            self._osutil.remove_file(temp_filename)
