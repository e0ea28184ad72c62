"""Bulk transfers on a Dask cluster: batching, submission and result collection.

Each batch of a job (``s3transfer.jobs``) is one Dask task that runs ``run_batch``
on a worker, with a ``TransferManager`` kept per worker process. Dask schedules the
tasks, retries failed ones and reschedules those of a worker that died; the client
streams the listing, keeps at most a window of batches in flight, and aggregates the
per-file results into progress, a ``JobResult`` and an optional results log.

Needs the ``dask`` extra: ``pip install 's3transfer[dask]'``.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

try:
    from distributed import Client, LocalCluster, WorkerPlugin, as_completed
except ImportError as _error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "s3transfer.distributed needs Dask's distributed scheduler: "
        "pip install 's3transfer[dask]'"
    ) from _error

from s3transfer._progress import ProgressSnapshot, ProgressTally
from s3transfer.directory import FileTransfer, Refused
from s3transfer.jobs import (
    COPY,
    DONE,
    DOWNLOAD,
    FAILED,
    UPLOAD,
    Batch,
    FileResult,
    Job,
    JobError,
    ResultsLog,
    S3Options,
    check_locations,
    close_managers,
    cut_batches,
    iter_entries,
    one_line,
    run_batch,
    transfer_config_items,
)

__all__ = [
    'JobError',
    'JobResult',
    'S3Options',
    'connect',
    'copy',
    'download',
    'local_cluster',
    'run_job',
    'upload',
]

DEFAULT_RETRIES = 3
MAX_KEPT_FAILURES = 100
_PLUGIN_NAME = 's3transfer-managers'

ResultCallback = Callable[[FileResult, ProgressSnapshot], None]


@dataclass
class JobResult:
    """Counts of a finished job; the full per-file record is the results log."""

    done: int = 0
    failed: int = 0
    refused: int = 0
    already_done: int = 0
    bytes_done: int = 0
    batches: int = 0
    elapsed: float = 0.0
    failures: list[FileResult] = field(default_factory=list)
    results_log: str | None = None

    @property
    def ok(self) -> bool:
        """True when no file failed or was refused."""
        return not (self.failed or self.refused)

    def _add(self, result: FileResult) -> None:
        if result.status == DONE:
            self.done += 1
            self.bytes_done += result.size
            return
        if result.status == FAILED:
            self.failed += 1
        else:
            self.refused += 1
        if len(self.failures) < MAX_KEPT_FAILURES:
            self.failures.append(result)


class _ManagerPlugin(WorkerPlugin):
    """Shuts down the worker's transfer managers when the worker closes."""

    name = _PLUGIN_NAME

    def teardown(self, worker: Any) -> None:
        close_managers()


# -- Clusters -----------------------------------------------------------------------


def connect(address: str, timeout: float = 10.0) -> Client:
    """A client of the scheduler at ``address``; ``JobError`` if none answers."""
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise JobError(
            f'no Dask scheduler answers at {address} (waited {timeout:g} s): '
            f'{one_line(error)}'
        ) from error


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Client]:
    """A ``LocalCluster`` of ``workers`` single-threaded processes, and its client.

    Everything listens on 127.0.0.1 only (scheduler, workers, its HTTP endpoint).
    """
    if workers < 1:
        raise JobError(f'workers must be at least 1, not {workers}')
    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host='127.0.0.1',
        dashboard_address='127.0.0.1:0',  # loopback only, any free port
    ) as cluster:
        with Client(cluster) as client:
            yield client


# -- Running a job ------------------------------------------------------------------


def run_job(
    client: Client,
    job: Job,
    results_log: str | None = None,
    on_result: ResultCallback | None = None,
    max_in_flight: int | None = None,
    retries: int = DEFAULT_RETRIES,
) -> JobResult:
    """Run ``job`` on the cluster behind ``client`` and return its counts.

    Checks folders, buckets and the manifest first (``JobError``, nothing sent).
    With ``results_log``, per-file results are appended to that file as they come,
    and sources it already records as done are skipped. ``on_result`` sees each
    result with the progress so far. At most ``max_in_flight`` batches (default:
    twice the cluster's threads) are listed ahead; on any exception (Ctrl-C included)
    the batches in flight are cancelled and the exception propagates.
    """
    started = time.monotonic()
    s3_client = job.s3.make_client()  # the client's own: checks and listing
    check_locations(job, s3_client)
    log = ResultsLog(results_log, job) if results_log else None
    skip = log.done_sources() if log else set()
    client.register_plugin(_ManagerPlugin(), name=_PLUGIN_NAME)
    run = _Run(client, job, log, on_result, retries)
    window = max_in_flight or max(2, 2 * sum(client.nthreads().values()))
    if log:
        log.open()
    try:
        run.execute(iter_entries(job, s3_client), skip, window)
    finally:
        run.cancel_all()
        if log:
            log.close()
    run.result.elapsed = time.monotonic() - started
    run.result.results_log = results_log
    return run.result


@dataclass(eq=False)
class _Run:
    """The client side of one job run: a bounded window of batch futures."""

    client: Client
    job: Job
    log: ResultsLog | None
    on_result: ResultCallback | None
    retries: int
    result: JobResult = field(default_factory=JobResult, init=False)
    _tally: ProgressTally = field(default_factory=ProgressTally, init=False)
    _in_flight: dict[Any, Batch] = field(default_factory=dict, init=False)
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12], init=False)

    def execute(
        self, entries: Iterable[FileTransfer | Refused], skip: set[str], window: int
    ) -> None:
        """Submit the batches of ``entries`` (bar ``skip``), ``window`` at a time."""
        pending = as_completed()
        todo = self._todo(entries, skip)
        for batch in cut_batches(todo, self.job.batch_files, self.job.batch_bytes):
            while pending.count() >= window:
                self._collect(next(pending))
            future = self.client.submit(
                run_batch,
                batch,
                self.job,
                key=f's3transfer-{self._run_id}-{batch.number}',
                retries=self.retries,
                pure=False,
            )
            self._in_flight[future] = batch
            pending.add(future)
            self.result.batches += 1
        for future in pending:
            self._collect(future)

    def cancel_all(self) -> None:
        """Cancel whatever is still in flight (after an error or Ctrl-C)."""
        futures = list(self._in_flight)
        self._in_flight.clear()
        if futures:
            self.client.cancel(futures)

    def _todo(
        self, entries: Iterable[FileTransfer | Refused], skip: set[str]
    ) -> Iterator[FileTransfer]:
        for entry in entries:
            if isinstance(entry, Refused):
                self._record([FileResult.refused(entry)])
            elif entry.source in skip:
                self.result.already_done += 1
            else:
                self._tally.expect(entry.size)
                yield entry

    def _collect(self, future: Any) -> None:
        batch = self._in_flight.pop(future)
        try:
            results = future.result()
        except Exception as error:  # the batch failed on every attempt
            message = f'batch {batch.number} failed on the cluster: {one_line(error)}'
            results = [
                FileResult(item.source, item.destination, FAILED, item.size, message)
                for item in batch.items
            ]
        future.release()
        self._record(results)

    def _record(self, results: list[FileResult]) -> None:
        if self.log:
            self.log.write(results)
        for result in results:
            self.result._add(result)
            if result.status == DONE:
                self._tally.add_bytes(result.size)
            self._tally.finish_file(failed=result.status != DONE)
            if self.on_result is not None:
                self.on_result(result, self._tally.snapshot())


# -- Entry points -------------------------------------------------------------------


def upload(
    client: Client,
    source_dir: str,
    bucket: str,
    prefix: str = '',
    *,
    results_log: str | None = None,
    on_result: ResultCallback | None = None,
    **options: Any,
) -> JobResult:
    """Upload every file under ``source_dir`` to ``bucket``/``prefix`` on the cluster.

    The folder must be readable by every worker (same path, e.g. a shared mount).
    ``options`` are ``Job`` fields: ``s3``, ``transfer_config`` (a dict),
    ``filters``, ``batch_files``, ``batch_bytes``.
    """
    job = _job(UPLOAD, source_dir, f's3://{bucket}/{prefix}', options)
    return run_job(client, job, results_log, on_result)


def download(
    client: Client,
    bucket: str,
    prefix: str,
    dest_dir: str,
    *,
    results_log: str | None = None,
    on_result: ResultCallback | None = None,
    **options: Any,
) -> JobResult:
    """Download every key under ``bucket``/``prefix`` into ``dest_dir`` on the cluster.

    ``dest_dir`` is written by the workers (same path on each, e.g. a shared mount).
    ``options`` are ``Job`` fields, including ``manifest`` to take the keys from a
    key list or an S3 Inventory CSV instead of listing the prefix.
    """
    job = _job(DOWNLOAD, f's3://{bucket}/{prefix}', dest_dir, options)
    return run_job(client, job, results_log, on_result)


def copy(
    client: Client,
    source_bucket: str,
    source_prefix: str,
    bucket: str,
    prefix: str,
    *,
    results_log: str | None = None,
    on_result: ResultCallback | None = None,
    **options: Any,
) -> JobResult:
    """Copy every key under ``source_prefix`` to ``bucket``/``prefix``, on the cluster.

    ``options`` are ``Job`` fields, including ``manifest`` (see ``download``).
    """
    source = f's3://{source_bucket}/{source_prefix}'
    job = _job(COPY, source, f's3://{bucket}/{prefix}', options)
    return run_job(client, job, results_log, on_result)


def _job(direction: str, source: str, destination: str, options: dict) -> Job:
    options = dict(options)
    if 'transfer_config' in options:
        options['transfer_config'] = transfer_config_items(options['transfer_config'])
    if 'filters' in options:
        options['filters'] = tuple(tuple(pair) for pair in options['filters'])
    try:
        return Job(direction, source, destination, **options)
    except TypeError as error:
        raise JobError(f'unknown option: {error}') from error
