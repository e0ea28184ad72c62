"""Resume journals: what an unfinished multipart upload or ranged download needs.

Owns the journal format (versioned JSON, atomic 0600 writes, never a secret), the
per-journal lock (two processes never continue one transfer), a folder of journals
(``JournalStore``) and the checks against S3 before continuing. The submission code in
``upload.py``/``download.py`` asks here what is already done; nothing here moves bytes.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from s3transfer.checksums import ChecksumMismatchError
from s3transfer.plan import PartPlan

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

JOURNAL_VERSION = 1
UPLOAD = 'upload'
DOWNLOAD = 'download'
_KINDS = (UPLOAD, DOWNLOAD)

# Never written to a journal: resuming an SSE-C transfer needs the key given again.
SECRET_ARGS = frozenset(
    {
        'SSECustomerKey',
        'SSECustomerKeyMD5',
        'CopySourceSSECustomerKey',
        'CopySourceSSECustomerKeyMD5',
    }
)
# Of the caller's extra args, these are needed by later requests of the same upload
# (ListParts, AbortMultipartUpload) and are safe to keep.
_KEPT_ARGS = ('RequestPayer', 'ExpectedBucketOwner', 'SSECustomerAlgorithm')


class ResumeError(Exception):
    """A transfer cannot continue from its resume state (strict resume was asked)."""


class JournalLockedError(ResumeError):
    """Another process (or transfer) is working from this journal right now."""


class InvalidJournalError(ResumeError):
    """A journal file is truncated, not JSON, or not a journal of this version."""


# -- The state --------------------------------------------------------------------


@dataclass
class ResumeToken:
    """Everything needed to continue one transfer, as a JSON-ready value.

    ``filename`` is the local file (an upload's source, a download's destination).
    ``parts`` maps a confirmed part number to its ``CompleteMultipartUpload`` entry
    (uploads) or to ``{}`` (a download range written to the temp file).
    """

    kind: str
    bucket: str
    key: str
    filename: str
    plan: PartPlan
    extra_args: dict[str, Any] = field(default_factory=dict)
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)
    upload_id: str | None = None
    source_size: int | None = None
    source_mtime_ns: int | None = None
    etag: str | None = None
    version_id: str | None = None
    temp_filename: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f'kind must be one of {_KINDS}, not {self.kind!r}')
        self.extra_args = safe_extra_args(self.extra_args)

    @property
    def confirmed_bytes(self) -> int:
        """How many bytes of the plan are confirmed done."""
        return sum(
            self.plan.part(number).size
            for number in self.parts
            if 1 <= number <= self.plan.num_parts
        )

    def describe(self) -> str:
        """One line for people: what, where, how far."""
        arrow = (
            f'{self.filename} -> s3://{self.bucket}/{self.key}'
            if self.kind == UPLOAD
            else f's3://{self.bucket}/{self.key} -> {self.filename}'
        )
        done = f'{len(self.parts)}/{self.plan.num_parts} parts'
        return f'{self.kind} {arrow} ({done})'

    def to_dict(self) -> dict[str, Any]:
        """The journal's JSON object."""
        return {
            'version': JOURNAL_VERSION,
            'kind': self.kind,
            'bucket': self.bucket,
            'key': self.key,
            'filename': self.filename,
            'plan': self.plan.to_dict(),
            'extra_args': dict(self.extra_args),
            'parts': {str(n): dict(entry) for n, entry in sorted(self.parts.items())},
            'upload_id': self.upload_id,
            'source_size': self.source_size,
            'source_mtime_ns': self.source_mtime_ns,
            'etag': self.etag,
            'version_id': self.version_id,
            'temp_filename': self.temp_filename,
        }

    def to_json(self) -> str:
        """A string to keep and give back to ``TransferManager.resume``."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> ResumeToken:
        """Rebuild from :meth:`to_dict`; ``InvalidJournalError`` on anything else."""
        if not isinstance(data, dict):
            raise InvalidJournalError(f'not a resume journal: {type(data).__name__}')
        version = data.get('version')
        if version != JOURNAL_VERSION:
            raise InvalidJournalError(
                f'unsupported resume journal version {version!r} '
                f'(this version reads {JOURNAL_VERSION})'
            )
        try:
            return cls(
                kind=_typed(data, 'kind', str),
                bucket=_typed(data, 'bucket', str),
                key=_typed(data, 'key', str),
                filename=_typed(data, 'filename', str),
                plan=PartPlan.from_dict(data.get('plan')),
                extra_args=_typed(data, 'extra_args', dict),
                parts=_parse_parts(data.get('parts')),
                upload_id=_typed(data, 'upload_id', str, optional=True),
                source_size=_typed(data, 'source_size', int, optional=True),
                source_mtime_ns=_typed(data, 'source_mtime_ns', int, optional=True),
                etag=_typed(data, 'etag', str, optional=True),
                version_id=_typed(data, 'version_id', str, optional=True),
                temp_filename=_typed(data, 'temp_filename', str, optional=True),
            )
        except (ValueError, TypeError) as error:
            raise InvalidJournalError(f'not a resume journal: {error}') from error

    @classmethod
    def from_json(cls, text: str | bytes) -> ResumeToken:
        """Parse a token or journal file's content; ``InvalidJournalError`` if bad."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidJournalError(
                f'not a resume journal (truncated or not JSON: {error})'
            ) from error
        return cls.from_dict(data)


def _typed(data: dict, name: str, kind: type, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:
        raise ValueError(f'{name} must be {kind.__name__}, got {value!r}')
    return value


def _parse_parts(raw: Any) -> dict[int, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise ValueError(f'parts must be an object, got {raw!r}')
    parts = {}
    for number, entry in raw.items():
        if not str(number).isdigit() or not isinstance(entry, dict):
            raise ValueError(f'bad part entry {number!r}: {entry!r}')
        parts[int(number)] = entry
    return parts


def safe_extra_args(extra_args: dict[str, Any]) -> dict[str, Any]:
    """The extra args a journal may keep: no secrets, only what later requests need."""
    return {
        name: value
        for name, value in extra_args.items()
        if name in _KEPT_ARGS and name not in SECRET_ARGS and isinstance(value, str)
    }


def transfer_id(kind: str, filename: str, bucket: str, key: str) -> str:
    """A stable name for one transfer (same kind, local file, bucket and key)."""
    identity = json.dumps([kind, os.path.abspath(filename), bucket, key])
    return hashlib.sha256(identity.encode('utf-8')).hexdigest()[:32]


# -- Files: atomic writes and the lock ------------------------------------------------


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text``: temp file (0600) + fsync + rename + dir fsync."""
    folder = os.path.dirname(path) or '.'
    fd, temp_path = tempfile.mkstemp(dir=folder, prefix='.journal-', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp_path)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _holder_of(lock_path: str) -> str:
    try:
        with open(lock_path, encoding='utf-8') as f:
            holder = json.loads(f.read() or '{}')
        return f"pid {holder.get('pid')} on host {holder.get('host')}"
    except (OSError, ValueError, AttributeError):
        return 'another process'


class JournalLock:
    """An exclusive ``flock`` on ``<journal>.lock`` that names its holder (pid, host).

    Held from the moment a transfer picks its journal up until it completes, fails or
    is cancelled; the kernel drops it when the process dies (even on SIGKILL).
    """

    def __init__(self, journal_path: str) -> None:
        self.path = journal_path + '.lock'
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ``JournalLockedError`` saying who holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise JournalLockedError(
                f'the resume journal {self.path[: -len(".lock")]} is in use by '
                f'{_holder_of(self.path)}; wait for that transfer to end (or stop it)'
            ) from None
        holder = json.dumps({'pid': os.getpid(), 'host': socket.gethostname()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode('utf-8'), 0)
        self._fd = fd

    def release(self, remove: bool = False) -> None:
        """Drop the lock; ``remove`` deletes the lock file first (we still hold it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                os.remove(self.path)
        os.close(fd)

    def is_locked_elsewhere(self) -> str | None:
        """Who holds the lock right now (``None``: nobody, it is free)."""
        if not os.path.exists(self.path):
            return None
        probe = JournalLock(self.path[: -len('.lock')])
        try:
            probe.acquire()
        except JournalLockedError:
            return _holder_of(self.path)
        except OSError:
            return None
        probe.release()
        return None


# -- One transfer's journal --------------------------------------------------------


class Journal:
    """One transfer's state, kept current in ``path`` (if any) as parts complete.

    Thread-safe: request threads record parts while the caller may take snapshots.
    Without a path the state lives in memory only (``TransferFuture.resume_token``).
    """

    def __init__(
        self,
        token: ResumeToken,
        path: str | None = None,
        lock: JournalLock | None = None,
    ) -> None:
        self._token = token
        self.path = path
        self.lock = lock
        self._lock = threading.Lock()
        self.resumed = False

    @property
    def token(self) -> ResumeToken:
        """The live state (read-only use; :meth:`snapshot` for a copy to keep)."""
        return self._token

    def snapshot(self) -> ResumeToken:
        """A copy of the current state, safe to keep after the transfer moves on."""
        with self._lock:
            return copy.deepcopy(self._token)

    def replace(self, token: ResumeToken) -> None:
        """Start over with ``token`` (and write it)."""
        with self._lock:
            self._token = token
            self._save_locked()

    def update(self, **fields: Any) -> None:
        """Set state fields (e.g. ``upload_id``) and write the journal."""
        with self._lock:
            for name, value in fields.items():
                setattr(self._token, name, value)
            self._save_locked()

    def record_part(self, number: int, entry: dict[str, Any] | None = None) -> None:
        """Part ``number`` is confirmed (with its completion entry, for uploads)."""
        with self._lock:
            self._token.parts[number] = dict(entry or {})
            self._save_locked()

    def save(self) -> None:
        """Write the current state (no-op for an in-memory journal)."""
        with self._lock:
            self._save_locked()

    def _save_locked(self) -> None:
        if self.path is not None:
            write_atomically(self.path, self._token.to_json())

    def remove(self) -> None:
        """The transfer completed or was discarded: delete journal and lock."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.remove(self.path)
        if self.lock is not None:
            self.lock.release(remove=True)

    def release(self) -> None:
        """Keep the journal for a later run; only drop the lock."""
        if self.lock is not None:
            self.lock.release()


# -- A folder of journals ---------------------------------------------------------


@dataclass
class JournalEntry:
    """One journal file found in a store: its token, or why it cannot be read."""

    path: str
    token: ResumeToken | None
    error: str | None = None
    locked_by: str | None = None


class JournalStore:
    """A folder of journals (0700), one per transfer (kind, local file, bucket, key)."""

    SUFFIX = '.json'

    def __init__(self, folder: str) -> None:
        self.folder = os.path.abspath(os.path.expanduser(folder))

    def _ensure_folder(self) -> None:
        os.makedirs(self.folder, mode=0o700, exist_ok=True)

    def path_for(self, kind: str, filename: str, bucket: str, key: str) -> str:
        """Where the journal of this transfer lives."""
        name = f'{kind}-{transfer_id(kind, filename, bucket, key)}{self.SUFFIX}'
        return os.path.join(self.folder, name)

    def open(
        self, kind: str, filename: str, bucket: str, key: str
    ) -> tuple[JournalLock, str, ResumeToken | InvalidJournalError | None]:
        """Lock this transfer's journal and read it.

        Returns the held lock, the path and the recorded token: ``None`` if there is
        none, the ``InvalidJournalError`` if the file cannot be read (the caller
        decides whether to start over or give up).
        """
        self._ensure_folder()
        path = self.path_for(kind, filename, bucket, key)
        lock = JournalLock(path)
        lock.acquire()
        try:
            return lock, path, read_journal(path)
        except InvalidJournalError as error:
            return lock, path, error
        except BaseException:
            lock.release()
            raise

    def entries(self) -> Iterator[JournalEntry]:
        """Every journal in the folder (unreadable ones with their error)."""
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return
        for name in names:
            if not name.endswith(self.SUFFIX) or name.startswith('.'):
                continue
            path = os.path.join(self.folder, name)
            locked_by = JournalLock(path).is_locked_elsewhere()
            try:
                token = read_journal(path)
            except InvalidJournalError as error:
                yield JournalEntry(path, None, str(error), locked_by)
                continue
            if token is not None:
                yield JournalEntry(path, token, None, locked_by)


def read_journal(path: str) -> ResumeToken | None:
    """The token in ``path``; ``None`` if there is no file; ``InvalidJournalError``."""
    try:
        with open(path, 'rb') as f:
            content = f.read()
    except FileNotFoundError:
        return None
    return ResumeToken.from_json(content)


# -- Checks against the source and S3 ------------------------------------------------


def source_identity(filename: str) -> tuple[int, int]:
    """``(size, mtime_ns)`` of an upload source: what says it is unchanged."""
    stat = os.stat(filename)
    return stat.st_size, stat.st_mtime_ns


def upload_mismatch(token: ResumeToken, size: int, mtime_ns: int) -> str | None:
    """Why an upload cannot continue from ``token`` (``None``: it can)."""
    if token.kind != UPLOAD:
        return f'the journal is for a {token.kind}, not an upload'
    if token.upload_id is None:
        return 'the journal has no multipart upload yet'
    if (token.source_size, token.source_mtime_ns) != (size, mtime_ns):
        return (
            f'the source file changed since the interrupted run (size/mtime '
            f'{token.source_size}/{token.source_mtime_ns} -> {size}/{mtime_ns})'
        )
    if token.plan.total_size != size:
        return 'the recorded part plan does not cover the source file'
    return None


def list_confirmed_parts(
    client: Any, token: ResumeToken, extra_args: dict[str, Any]
) -> dict[int, dict[str, Any]] | None:
    """The journal's parts that S3 still has with the same ETag and size.

    ``None`` when the multipart upload no longer exists (``NoSuchUpload``). Parts
    missing from S3, or listed with another ETag or size, are left out: they are
    uploaded again.
    """
    listed = _list_parts(client, token, extra_args)
    if listed is None:
        return None
    confirmed = {}
    for number, entry in token.parts.items():
        if not 1 <= number <= token.plan.num_parts:
            continue
        part = listed.get(number)
        if part is None or part.get('ETag') != entry.get('ETag'):
            continue
        if part.get('Size') not in (None, token.plan.part(number).size):
            continue
        confirmed[number] = entry
    return confirmed


def _list_parts(
    client: Any, token: ResumeToken, extra_args: dict[str, Any]
) -> dict[int, dict[str, Any]] | None:
    # No SSE-C headers: ListParts does not need them (and botocore would not
    # encode the key for this operation).
    args = {
        name: extra_args[name]
        for name in ('RequestPayer', 'ExpectedBucketOwner')
        if name in extra_args
    }
    listed: dict[int, dict[str, Any]] = {}
    marker = 0
    for _ in range(10_001):  # at most 10,000 parts: bounded
        try:
            response = client.list_parts(
                Bucket=token.bucket,
                Key=token.key,
                UploadId=token.upload_id,
                PartNumberMarker=marker,
                **args,
            )
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') in ('NoSuchUpload', '404'):
                return None
            raise
        for part in response.get('Parts', []):
            listed[part['PartNumber']] = part
        if not response.get('IsTruncated'):
            break
        marker = int(response.get('NextPartNumberMarker') or 0)
    return listed


def download_mismatch(
    token: ResumeToken, size: int, etag: str | None, temp_exists: bool
) -> str | None:
    """Why a download cannot continue from ``token`` (``None``: it can)."""
    if token.kind != DOWNLOAD:
        return f'the journal is for an {token.kind}, not a download'
    if token.etag is None or etag != token.etag or size != token.plan.total_size:
        return (
            f'the object changed since the interrupted run (ETag/size '
            f'{token.etag}/{token.plan.total_size} -> {etag}/{size})'
        )
    if not token.temp_filename or not temp_exists:
        return 'the partly downloaded temp file is gone'
    return None


def start_over(token: ResumeToken, reason: str, strict: bool) -> None:
    """Say why a transfer starts over instead of continuing; raise when ``strict``."""
    if strict:
        raise ResumeError(
            f'cannot resume {token.describe()}: {reason} (strict resume was asked)'
        )
    logger.warning('Starting %s over from the beginning: %s', token.describe(), reason)


# -- Discarding stale state --------------------------------------------------------


def discard(client: Any | None, token: ResumeToken | None, path: str | None) -> None:
    """Abort the token's multipart upload, remove its temp file, then its journal.

    ``client`` may be ``None`` for downloads. Raises ``JournalLockedError`` when a
    running transfer holds the journal.
    """
    lock = JournalLock(path) if path is not None else None
    if lock is not None:
        lock.acquire()
    try:
        if token is not None:
            discard_remote_state(client, token)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    finally:
        if lock is not None:
            lock.release(remove=True)


def discard_remote_state(client: Any | None, token: ResumeToken) -> None:
    """Abort the stale multipart upload or delete the stale temp file of ``token``."""
    if token.kind == UPLOAD and token.upload_id and client is not None:
        try:
            client.abort_multipart_upload(
                Bucket=token.bucket,
                Key=token.key,
                UploadId=token.upload_id,
                **{
                    name: token.extra_args[name]
                    for name in ('RequestPayer', 'ExpectedBucketOwner')
                    if name in token.extra_args
                },
            )
        except ClientError as error:
            if error.response.get('Error', {}).get('Code') not in (
                'NoSuchUpload',
                '404',
            ):
                raise
    if token.kind == DOWNLOAD and token.temp_filename:
        with contextlib.suppress(FileNotFoundError):
            os.remove(token.temp_filename)


# -- What the submission code asks ---------------------------------------------------


@dataclass
class ResumeOptions:
    """How one transfer keeps and picks up resume state.

    ``store``: the folder of journals (``TransferConfig.resume_dir``), or ``None`` to
    keep the state in memory only. ``token``: explicit state to continue from
    (``TransferManager.resume``). ``strict``: raise instead of starting over.
    """

    store: JournalStore | None = None
    token: ResumeToken | None = None
    strict: bool = False

    def open(
        self, kind: str, filename: str, bucket: str, key: str
    ) -> tuple[Journal, ResumeToken | None]:
        """This transfer's journal (locked) and the state recorded for it, if any.

        An unreadable journal file means a fresh start (logged), or ``ResumeError``
        when strict. An explicit token wins over the folder's journal.
        """
        filename = os.path.abspath(filename)
        if self.store is None:
            return Journal(_placeholder(kind, filename, bucket, key)), self._given(
                kind, filename, bucket, key
            )
        lock, path, recorded = self.store.open(kind, filename, bucket, key)
        journal = Journal(_placeholder(kind, filename, bucket, key), path, lock)
        try:
            given = self._given(kind, filename, bucket, key)
            if given is not None:
                return journal, given
            if isinstance(recorded, InvalidJournalError):
                self._unreadable(path, recorded)
                return journal, None
            return journal, recorded
        except BaseException:
            journal.release()
            raise

    def _unreadable(self, path: str, error: InvalidJournalError) -> None:
        if self.strict:
            raise ResumeError(f'cannot resume from {path}: {error}') from error
        logger.warning(
            'Ignoring the unreadable resume journal %s (%s); starting over.',
            path,
            error,
        )

    def _given(
        self, kind: str, filename: str, bucket: str, key: str
    ) -> ResumeToken | None:
        token = self.token
        if token is None:
            return None
        wanted = (kind, filename, bucket, key)
        have = (token.kind, os.path.abspath(token.filename), token.bucket, token.key)
        if wanted != have:
            raise ResumeError(
                f'the resume token is for {token.describe()}, not this transfer'
            )
        return copy.deepcopy(token)


def _placeholder(kind: str, filename: str, bucket: str, key: str) -> ResumeToken:
    return ResumeToken(kind, bucket, key, filename, PartPlan(0, 1))


def prepare_upload(
    client: Any,
    options: ResumeOptions,
    filename: str,
    bucket: str,
    key: str,
    extra_args: dict[str, Any],
    part_size: int,
) -> Journal:
    """The journal an upload of ``filename`` continues from, checked against S3.

    The returned journal's token has ``upload_id`` set and ``parts`` holding only the
    parts S3 confirms when the upload continues; otherwise it is a fresh state (any
    stale multipart upload aborted) with ``upload_id`` ``None``.
    """
    journal, recorded = options.open(UPLOAD, filename, bucket, key)
    with _released_on_error(journal):
        size, mtime_ns = source_identity(filename)
        if recorded is not None and _continue_upload(
            client, options, recorded, size, mtime_ns, extra_args
        ):
            _resume(journal, recorded)
            return journal
        fresh = _fresh_token(UPLOAD, filename, bucket, key, size, part_size, extra_args)
        fresh.source_size = size
        fresh.source_mtime_ns = mtime_ns
        journal.replace(fresh)
        return journal


def _continue_upload(
    client: Any,
    options: ResumeOptions,
    recorded: ResumeToken,
    size: int,
    mtime_ns: int,
    extra_args: dict[str, Any],
) -> bool:
    if recorded.kind == UPLOAD and recorded.upload_id is None:
        return False  # stopped before S3 gave an upload id: nothing to continue
    reason = upload_mismatch(recorded, size, mtime_ns)
    if reason is None:
        confirmed = list_confirmed_parts(client, recorded, extra_args)
        if confirmed is not None:
            recorded.parts = confirmed
            logger.info(
                'Resuming %s: %d of %d parts already uploaded.',
                recorded.describe(),
                len(confirmed),
                recorded.plan.num_parts,
            )
            return True
        reason = 'its multipart upload no longer exists'
    start_over(recorded, reason, options.strict)
    discard_remote_state(client, recorded)
    return False


def prepare_download(
    options: ResumeOptions,
    filename: str,
    bucket: str,
    key: str,
    extra_args: dict[str, Any],
    size: int,
    etag: str | None,
    version_id: str | None,
    part_size: int,
    new_temp_filename: str,
) -> Journal:
    """The journal a ranged download into ``filename`` continues from.

    Continues when the object's ``size``/``etag`` (just learned from HeadObject) match
    the recorded ones and the temp file is still there; otherwise a fresh state
    using ``new_temp_filename`` (the stale temp file removed). ``resumed`` says which.
    """
    journal, recorded = options.open(DOWNLOAD, filename, bucket, key)
    with _released_on_error(journal):
        if recorded is not None:
            temp = recorded.temp_filename
            reason = download_mismatch(
                recorded, size, etag, bool(temp) and os.path.isfile(temp or '')
            )
            if reason is None:
                _resume(journal, recorded)
                logger.info(
                    'Resuming %s: %d of %d parts already downloaded.',
                    recorded.describe(),
                    len(recorded.parts),
                    recorded.plan.num_parts,
                )
                return journal
            start_over(recorded, reason, options.strict)
            discard_remote_state(None, recorded)
        fresh = _fresh_token(
            DOWNLOAD, filename, bucket, key, size, part_size, extra_args
        )
        fresh.etag = etag
        fresh.version_id = version_id
        fresh.temp_filename = new_temp_filename
        journal.replace(fresh)
        return journal


@contextlib.contextmanager
def _released_on_error(journal: Journal) -> Iterator[None]:
    """Release ``journal``'s lock when preparing the transfer fails."""
    try:
        yield
    except BaseException:
        journal.release()
        raise


def _resume(journal: Journal, recorded: ResumeToken) -> None:
    """Continue ``journal`` from the ``recorded`` state."""
    journal.resumed = True
    journal.replace(recorded)


def _fresh_token(
    kind: str,
    filename: str,
    bucket: str,
    key: str,
    size: int,
    part_size: int,
    extra_args: dict[str, Any],
) -> ResumeToken:
    """The state of a transfer with nothing done yet."""
    plan = PartPlan(size, part_size)
    return ResumeToken(
        kind, bucket, key, os.path.abspath(filename), plan, extra_args=extra_args
    )


def should_discard(coordinator: Any) -> bool:
    """Whether an unsuccessful transfer's state goes.

    It goes when cancelled through the API, and when the bytes themselves proved bad
    (a checksum mismatch: continuing would only fail again). Other failures, Ctrl-C
    and ``TransferFuture.pause()`` keep it for a later run.
    """
    exception = coordinator.exception
    if isinstance(exception, ChecksumMismatchError):
        return True
    return isinstance(exception, CancelledError) and not getattr(
        coordinator, 'keep_resume_state', False
    )


def finish(journal: Journal, coordinator: Any) -> None:
    """A done callback: remove the journal on success or discard, else keep it."""
    if coordinator.status == 'success' or should_discard(coordinator):
        journal.remove()
        return
    journal.release()
    if journal.path is not None:
        logger.info(
            'Kept the resume journal of %s in %s; run the same transfer again to '
            'continue it.',
            journal.token.describe(),
            journal.path,
        )


def default_state_dir() -> str:
    """The per-user folder for the command line's journals.

    ``$XDG_STATE_HOME/s3transfer/resume``, else ``~/.local/state/s3transfer/resume``.
    """
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state'
    )
    return os.path.join(base, 's3transfer', 'resume')
