"""Bulk jobs as data: what to move, streamed in batches, and what became of each file.

A ``Job`` names a source (a local folder, an S3 prefix, or a manifest of keys), a
destination and the options, as plain picklable values. Its listing is a generator
cut into ``Batch`` values by count and bytes, so no step holds every key at once.
``run_batch`` runs one batch on a ``TransferManager`` kept per process and returns one
``FileResult`` per file; ``ResultsLog`` writes them as JSON lines, so a re-run skips
what is done. Nothing here imports Dask: ``s3transfer.distributed`` ships these values
to its workers.
"""

from __future__ import annotations

import atexit
import csv
import gzip
import io
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import CancelledError
from dataclasses import asdict, dataclass, field
from typing import IO, Any, cast
from urllib.parse import unquote_plus

from s3transfer.directory import (
    FileTransfer,
    Filter,
    Refused,
    iter_copy,
    iter_download,
    iter_upload,
    list_objects,
    normalize_prefix,
    validate_filters,
)
from s3transfer.manager import TransferConfig, TransferManager

UPLOAD = 'upload'
DOWNLOAD = 'download'
COPY = 'copy'
DIRECTIONS = (UPLOAD, DOWNLOAD, COPY)

DONE = 'done'
FAILED = 'failed'
REFUSED = 'refused'

KEYS = 'keys'
INVENTORY = 'inventory'
MANIFEST_FORMATS = (KEYS, INVENTORY)

LOG_VERSION = 1
MAX_KEY_BYTES = 1024
DEFAULT_BATCH_FILES = 500
DEFAULT_BATCH_BYTES = 1024**3
_MAX_REPORTED_LINES = 5


class JobError(Exception):
    """A bulk job cannot start or go on; the message says why, for a person."""


class ManifestError(JobError):
    """A manifest has lines that name no object; nothing was transferred."""


# -- The job ------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Options:
    """How each process (client or worker) builds its own S3 client.

    ``None`` leaves a setting to botocore's usual chain (environment, config files,
    instance roles): on a real cluster, give workers their credentials that way and
    leave the keys here empty. They never appear in a ``repr`` or in a results log.
    """

    endpoint_url: str | None = None
    region_name: str | None = None
    addressing_style: str | None = None
    max_attempts: int | None = None
    profile: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    def make_client(self) -> Any:
        """A new botocore S3 client with these settings."""
        import botocore.session
        from botocore.config import Config

        config_kwargs: dict[str, Any] = {}
        if self.addressing_style:
            config_kwargs['s3'] = {'addressing_style': self.addressing_style}
        if self.max_attempts is not None:
            config_kwargs['retries'] = {
                'max_attempts': self.max_attempts,
                'mode': 'standard',
            }
        return botocore.session.Session(profile=self.profile).create_client(
            's3',
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
            config=Config(**config_kwargs),
        )


@dataclass(frozen=True)
class Job:
    """One bulk transfer: ``direction``, ``source``, ``destination`` and options.

    Local folders are plain paths; S3 locations are ``s3://bucket/prefix``. With
    ``manifest`` (a path on the client), the source is the listed keys of the source
    bucket instead of a listing of its prefix: one key per line (``'keys'``) or an S3
    Inventory CSV (``'inventory'``, gzip allowed, columns named by
    ``inventory_columns``). ``transfer_config`` holds ``TransferConfig`` keyword
    arguments for the managers on the workers.
    """

    direction: str
    source: str
    destination: str
    manifest: str | None = None
    manifest_format: str | None = None
    inventory_columns: tuple[str, ...] = ('Bucket', 'Key')
    filters: tuple[Filter, ...] = ()
    batch_files: int = DEFAULT_BATCH_FILES
    batch_bytes: int = DEFAULT_BATCH_BYTES
    s3: S3Options = S3Options()
    transfer_config: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        check_job(self)

    def identity(self) -> dict[str, Any]:
        """What must match for a results log to belong to this job (no secrets)."""
        return {
            'direction': self.direction,
            'source': self.source,
            'destination': self.destination,
            'manifest': self.manifest,
            'filters': [list(pair) for pair in self.filters],
        }

    def make_config(self) -> TransferConfig:
        """The ``TransferConfig`` for this job's managers."""
        return TransferConfig(**dict(self.transfer_config))


def check_job(job: Job) -> None:
    """Reject a malformed job before anything is listed or sent."""
    if job.direction not in DIRECTIONS:
        raise JobError(f'direction must be one of {DIRECTIONS}, not {job.direction!r}')
    source_is_s3 = job.direction in (DOWNLOAD, COPY)
    dest_is_s3 = job.direction in (UPLOAD, COPY)
    for what, location, is_s3 in (
        ('source', job.source, source_is_s3),
        ('destination', job.destination, dest_is_s3),
    ):
        if is_s3 != location.startswith('s3://'):
            kind = 'an s3://bucket/prefix URL' if is_s3 else 'a local folder'
            raise JobError(
                f'the {what} of a {job.direction} must be {kind}: {location}'
            )
        if is_s3:
            split_s3_url(location)
    if job.manifest is not None and not source_is_s3:
        raise JobError('a manifest lists S3 keys: it needs an S3 source')
    if job.manifest_format not in (None, *MANIFEST_FORMATS):
        raise JobError(f'manifest_format must be one of {MANIFEST_FORMATS}')
    if not {'Bucket', 'Key'} <= set(job.inventory_columns):
        raise JobError('inventory_columns must include Bucket and Key')
    if job.batch_files < 1 or job.batch_bytes < 1:
        raise JobError('batch_files and batch_bytes must be at least 1')
    try:
        validate_filters(job.filters)
        job.make_config()
    except (ValueError, TypeError) as error:
        raise JobError(str(error)) from error


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> ``(bucket, prefix)``."""
    bucket, _, prefix = url[len('s3://') :].partition('/')
    if not url.startswith('s3://') or not bucket:
        raise JobError(f'not an s3://bucket/prefix URL: {url}')
    return bucket, prefix


# -- Listing and batching -----------------------------------------------------------


def iter_entries(job: Job, client: Any) -> Iterator[FileTransfer | Refused]:
    """Stream the job's transfers (and refusals), one at a time, in a stable order."""
    if job.direction == UPLOAD:
        bucket, prefix = split_s3_url(job.destination)
        yield from iter_upload(job.source, bucket, prefix, job.filters)
        return
    bucket, prefix = split_s3_url(job.source)
    entries = _source_entries(job, client, bucket, prefix)
    if job.direction == DOWNLOAD:
        # Bounded memory: no table of every local path (see iter_download).
        yield from iter_download(
            entries,
            bucket,
            prefix,
            job.destination,
            job.filters,
            check_collisions=False,
        )
    else:
        dest_bucket, dest_prefix = split_s3_url(job.destination)
        yield from iter_copy(
            entries,
            bucket,
            prefix,
            dest_bucket,
            dest_prefix,
            job.filters,
            use_listed_etags=True,
        )


def _source_entries(job: Job, client: Any, bucket: str, prefix: str) -> Iterator[dict]:
    if job.manifest is None:
        return list_objects(client, bucket, prefix)
    return manifest_entries(job, bucket, prefix)


@dataclass(frozen=True)
class Batch:
    """A slice of a job's listing: the unit of work a Dask task runs."""

    number: int
    items: tuple[FileTransfer, ...]

    @property
    def size(self) -> int:
        """Bytes in the batch (as listed)."""
        return sum(item.size for item in self.items)


def cut_batches(
    items: Iterable[FileTransfer], max_files: int, max_bytes: int
) -> Iterator[Batch]:
    """Cut ``items`` into batches of at most ``max_files`` files and ``max_bytes``.

    A file larger than ``max_bytes`` gets a batch of its own.
    """
    current: list[FileTransfer] = []
    current_bytes = 0
    number = 0
    for item in items:
        if current and (
            len(current) >= max_files or current_bytes + item.size > max_bytes
        ):
            yield Batch(number, tuple(current))
            number += 1
            current, current_bytes = [], 0
        current.append(item)
        current_bytes += item.size
    if current:
        yield Batch(number, tuple(current))


# -- Manifests ----------------------------------------------------------------------


def manifest_format(job: Job) -> str:
    """The manifest's format: as given, else ``inventory`` for ``.csv``/``.csv.gz``."""
    if job.manifest_format is not None:
        return job.manifest_format
    name = (job.manifest or '').lower()
    return INVENTORY if name.endswith(('.csv', '.csv.gz')) else KEYS


def manifest_entries(job: Job, bucket: str, prefix: str) -> Iterator[dict]:
    """Stream the manifest's objects as listing entries (``Key``, ``Size``, ...).

    Raises ``ManifestError`` at the first bad line; ``check_manifest`` reads the
    whole file first, so a job never starts on a manifest with garbage in it.
    """
    for line_number, entry, problem in _parse_manifest(job, bucket, prefix):
        if problem is not None:
            raise ManifestError(f'{job.manifest}: line {line_number}: {problem}')
        yield entry


def check_manifest(job: Job) -> None:
    """Read the whole manifest once; raise ``ManifestError`` naming its bad lines."""
    bucket, prefix = split_s3_url(job.source)
    problems: list[str] = []
    count = 0
    for line_number, _, problem in _parse_manifest(job, bucket, prefix):
        if problem is not None:
            count += 1
            if len(problems) < _MAX_REPORTED_LINES:
                problems.append(f'  line {line_number}: {problem}')
    if count:
        more = (
            f'\n  ... and {count - len(problems)} more' if count > len(problems) else ''
        )
        raise ManifestError(
            f'{job.manifest}: {count} bad line(s), nothing was transferred:\n'
            + '\n'.join(problems)
            + more
        )


_Parsed = tuple[int, dict, str | None]


def _parse_manifest(job: Job, bucket: str, prefix: str) -> Iterator[_Parsed]:
    assert job.manifest is not None
    try:
        raw = _open_manifest(job.manifest)
    except OSError as error:
        raise ManifestError(f'cannot read the manifest: {error}') from error
    with raw:
        if manifest_format(job) == KEYS:
            parsed = _parse_key_lines(raw)
        else:
            parsed = _parse_inventory(raw, job.inventory_columns, bucket)
        for line_number, entry, problem in parsed:
            if problem is None:
                problem = _key_problem(entry['Key'], prefix)
            yield line_number, entry, problem


def _open_manifest(path: str) -> IO[bytes]:
    if path.endswith('.gz'):
        return cast(IO[bytes], gzip.open(path, 'rb'))
    return open(path, 'rb')


def _parse_key_lines(raw: IO[bytes]) -> Iterator[_Parsed]:
    for line_number, line in enumerate(raw, 1):
        data = line.rstrip(b'\n').rstrip(b'\r')
        if not data.strip():
            continue
        try:
            key = data.decode('utf-8')
        except UnicodeDecodeError:
            yield line_number, {}, 'is not UTF-8 text'
            continue
        yield line_number, {'Key': key, 'Size': 0}, None


def _parse_inventory(
    raw: IO[bytes], columns: tuple[str, ...], bucket: str
) -> Iterator[_Parsed]:
    text = io.TextIOWrapper(raw, encoding='utf-8', errors='strict', newline='')
    rows = csv.reader(text, strict=True)
    line_number = 0
    while True:
        line_number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            yield line_number, {}, f'is not CSV text ({error})'
            return  # the reader cannot find the next row after this
        if not row:
            continue
        yield line_number, *_inventory_entry(row, columns, bucket)


def _inventory_entry(
    row: list[str], columns: tuple[str, ...], bucket: str
) -> tuple[dict, str | None]:
    if len(row) != len(columns):
        return {}, f'has {len(row)} fields, expected {len(columns)} ({columns})'
    values = dict(zip(columns, row, strict=True))
    if values['Bucket'] != bucket:
        return {}, f'names bucket {values["Bucket"]!r}, not the source {bucket!r}'
    entry: dict[str, Any] = {'Key': unquote_plus(values['Key']), 'Size': 0}
    if values.get('Size'):
        if not values['Size'].isdigit():
            return {}, f'has a size that is not a number: {values["Size"]!r}'
        entry['Size'] = int(values['Size'])
    return entry, None


def _key_problem(key: str, prefix: str) -> str | None:
    if not key:
        return 'has an empty key'
    if any(ord(char) < 32 or ord(char) == 127 for char in key):
        return f'has a control character in the key {key!r}'
    if len(key.encode('utf-8')) > MAX_KEY_BYTES:
        return f'has a key longer than {MAX_KEY_BYTES} bytes'
    if not key.startswith(normalize_prefix(prefix)):
        return f'names a key outside the source prefix {prefix!r}: {key!r}'
    return None


# -- Results ------------------------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    """What became of one file: ``done``, ``failed`` (with the error) or ``refused``."""

    source: str
    destination: str
    status: str
    size: int = 0
    error: str | None = None

    def to_json(self) -> str:
        """One line of the results log."""
        record = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def refused(cls, refusal: Refused) -> FileResult:
        """The result of an entry refused while listing."""
        return cls(refusal.source, '', REFUSED, error=refusal.reason)


def one_line(error: BaseException) -> str:
    """An error as one line of text."""
    text = str(error) or type(error).__name__
    return ' '.join(text.split())


class ResultsLog:
    """Append-only JSON-lines log of a job's per-file results.

    The first line names the job (``{"job": ..., "version": 1}``); each next line is
    one ``FileResult``. Opening an existing log checks it belongs to the same job and
    returns the sources already done, which a re-run skips. A torn last line (the
    client died while writing it) is ignored.
    """

    def __init__(self, path: str, job: Job) -> None:
        self.path = path
        self._job_identity = job.identity()
        self._file: IO[str] | None = None

    def done_sources(self) -> set[str]:
        """The sources a previous run of this job recorded as done (empty if new)."""
        if not os.path.exists(self.path) or os.path.getsize(self.path) == 0:
            return set()
        done: set[str] = set()
        with open(self.path, encoding='utf-8') as log:
            self._check_header(log.readline())
            for line in log:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get('status') == DONE:
                    done.add(str(record.get('source')))
        return done

    def _check_header(self, line: str) -> None:
        try:
            header = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get('version') != LOG_VERSION:
            raise JobError(f'{self.path} is not a results log of s3transfer')
        if header.get('job') != self._job_identity:
            raise JobError(
                f'{self.path} is the results log of another job: {header.get("job")}'
            )

    def open(self) -> None:
        """Open for appending; a new log starts with the job line."""
        is_new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        torn = not is_new and not _ends_with_newline(self.path)
        self._file = open(self.path, 'a', encoding='utf-8')
        if torn:  # end the torn line, so the next record stands on its own
            self._file.write('\n')
        if is_new:
            header = {'version': LOG_VERSION, 'job': self._job_identity}
            self._file.write(json.dumps(header) + '\n')
            self._file.flush()

    def write(self, results: Iterable[FileResult]) -> None:
        """Append ``results`` and push them to the OS (a crash keeps them)."""
        assert self._file is not None, 'open() the log first'
        self._file.write(''.join(result.to_json() + '\n' for result in results))
        self._file.flush()

    def close(self) -> None:
        """Flush to disk and close."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def _ends_with_newline(path: str) -> bool:
    with open(path, 'rb') as log:
        log.seek(-1, os.SEEK_END)
        return log.read(1) == b'\n'


# -- Running a batch (on a worker) ---------------------------------------------------

_managers: dict[tuple[S3Options, tuple[tuple[str, Any], ...]], TransferManager] = {}
_managers_lock = threading.Lock()


def manager_for(job: Job) -> TransferManager:
    """This process's ``TransferManager`` for the job's S3 and transfer settings.

    Created on first use and reused by every later batch; ``close_managers`` (called
    when a Dask worker closes, and at exit) shuts them down.
    """
    key = (job.s3, job.transfer_config)
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            manager = TransferManager(job.s3.make_client(), job.make_config())
            _managers[key] = manager
        return manager


def close_managers() -> None:
    """Shut down every manager this process made (waiting for their transfers)."""
    with _managers_lock:
        managers = list(_managers.values())
        _managers.clear()
    for manager in managers:
        manager.shutdown()


atexit.register(close_managers)


def run_batch(batch: Batch, job: Job) -> list[FileResult]:
    """Transfer every file of ``batch``; return one result per file, in order.

    A file is ``done`` only once its transfer finished: a download is renamed into
    place at the end and an upload or copy replaces the object whole, so re-running
    a batch (after a worker died) rewrites the same bytes and harms nothing.
    """
    manager = manager_for(job)
    started: list[tuple[FileTransfer, Any]] = []
    results: list[FileResult | None] = []
    for item in batch.items:
        try:
            started.append((item, item.submit(manager, [])))
            results.append(None)
        except Exception as error:  # e.g. the folder could not be created
            results.append(_result(item, FAILED, error))
    futures = iter(started)
    for index, result in enumerate(results):
        if result is None:
            item, future = next(futures)
            results[index] = _wait(item, future)
    return [result for result in results if result is not None]


def _wait(item: FileTransfer, future: Any) -> FileResult:
    try:
        future.result()
    except CancelledError as error:
        return _result(item, FAILED, error, 'cancelled')
    except Exception as error:
        return _result(item, FAILED, error)
    return _result(item, DONE)


def _result(
    item: FileTransfer,
    status: str,
    error: BaseException | None = None,
    fallback: str = '',
) -> FileResult:
    message = None if error is None else (one_line(error) or fallback)
    return FileResult(item.source, item.destination, status, item.size, message)


# -- Checks before a job starts -----------------------------------------------------


def check_locations(job: Job, client: Any) -> None:
    """Fail early, with a clear message, when a folder or bucket is missing."""
    if job.direction == UPLOAD and not os.path.isdir(job.source):
        raise JobError(f'the source folder does not exist: {job.source}')
    if job.direction == DOWNLOAD and os.path.exists(job.destination):
        if not os.path.isdir(job.destination):
            raise JobError(f'the destination is not a folder: {job.destination}')
    for what, location in (('source', job.source), ('destination', job.destination)):
        if location.startswith('s3://'):
            _check_bucket(client, what, split_s3_url(location)[0])
    if job.manifest is not None:
        check_manifest(job)


def _check_bucket(client: Any, what: str, bucket: str) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response.get('Error', {}).get('Code', '')
        if code in ('404', 'NoSuchBucket', 'NotFound'):
            raise JobError(f'the {what} bucket does not exist: {bucket}') from error
        raise JobError(f'cannot use the {what} bucket {bucket}: {error}') from error
    except BotoCoreError as error:
        raise JobError(f'cannot reach S3 for the {what} bucket {bucket}: {error}')


def transfer_config_items(config: Mapping[str, Any] | None) -> tuple:
    """``TransferConfig`` keyword arguments as a hashable, picklable value."""
    return tuple(sorted((config or {}).items()))
