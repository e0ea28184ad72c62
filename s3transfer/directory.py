"""Directory transfers: a folder to a bucket prefix, a prefix to a folder, or S3 to S3.

Built only on the public ``TransferManager`` API: each file is one ``upload``,
``download`` or ``copy`` call, and a ``DirectoryTransferFuture`` aggregates them.

The decisions (key <-> path mapping, include/exclude filters, refusing keys that would
escape the destination) are small pure functions; planning lists the source; running
submits one transfer per planned file and applies the failure policy.

Filters follow the AWS CLI: ``('include' | 'exclude', glob)`` pairs evaluated in
order against the path relative to the source (``/``-separated, ``*`` also matches
``/``); the last matching filter decides and a file no filter matches is included.
"""

from __future__ import annotations

import dataclasses
import errno
import fnmatch
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from typing import Any, Protocol

from s3transfer import confined
from s3transfer._progress import ProgressSnapshot, ProgressTally
from s3transfer.confined import ConfinedFolder, ConfinedTempFile
from s3transfer.futures import TransferFuture
from s3transfer.manager import TransferManager
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import file_kind

INCLUDE = 'include'
EXCLUDE = 'exclude'
CONTINUE = 'continue'
STOP = 'stop'
POLICIES = (CONTINUE, STOP)

Filter = tuple[str, str]
FileDoneCallback = Callable[['FileTransfer', BaseException | None], None]

#: The longest object key S3 accepts, in UTF-8 bytes.
MAX_KEY_BYTES = 1024

_ANY_SEPARATORS = ('/', '\\')
_LOCAL_SEPARATORS = tuple({'/', os.sep, os.altsep or '/'})


# -- Pure decisions -------------------------------------------------------------


def normalize_prefix(prefix: str) -> str:
    """Return ``prefix`` ending in ``/`` (or ``''``), so it names a folder of keys."""
    return prefix if not prefix or prefix.endswith('/') else prefix + '/'


def key_for(relative_path: str, prefix: str) -> str:
    """Map a ``/``-separated relative path to its key under ``prefix``."""
    return normalize_prefix(prefix) + relative_path


def relative_key(key: str, prefix: str) -> str:
    """Strip the folder ``prefix`` from ``key`` (which must start with it)."""
    prefix = normalize_prefix(prefix)
    if not key.startswith(prefix):
        raise ValueError(f'key {key!r} is not under prefix {prefix!r}')
    return key[len(prefix) :]


def relative_path(path: str, root: str) -> str:
    """The ``/``-separated path of ``path`` relative to the folder ``root``."""
    return os.path.relpath(path, root).replace(os.sep, '/')


def is_selected(name: str, filters: Sequence[Filter]) -> bool:
    """Whether ``name`` passes the ordered include/exclude ``filters``."""
    selected = True
    for kind, pattern in filters:
        if fnmatch.fnmatchcase(name, pattern):
            selected = kind == INCLUDE
    return selected


def validate_filters(filters: Sequence[Filter]) -> None:
    """Reject filter kinds other than ``'include'`` and ``'exclude'``."""
    for kind, _ in filters:
        if kind not in (INCLUDE, EXCLUDE):
            raise ValueError(f'filter kind must be include or exclude, not {kind!r}')


def is_folder_marker(relative: str) -> bool:
    """Whether a key names a folder (``photos/``), not a file to download."""
    return relative == '' or relative.endswith('/')


def is_exact_key(relative: str) -> bool:
    """Whether ``relative`` is the ``/``-join of its own parts (no ``//`` or ``.``)."""
    return relative == '/'.join(_split_parts(relative, _ANY_SEPARATORS))


def unsafe_key_reason(relative: str) -> str | None:
    """Why a relative key may not become a local path, or ``None`` if it may."""
    if '\x00' in relative:
        return 'contains a NUL character'
    if relative.startswith(_ANY_SEPARATORS) or os.path.isabs(relative):
        return 'is an absolute path'
    if os.path.splitdrive(relative)[0]:
        return 'names a drive'
    # Judge with every platform's separators, so a\..\x is refused everywhere.
    parts = _split_parts(relative, _ANY_SEPARATORS)
    if '..' in parts:
        return 'contains a parent-folder (..) component'
    if not parts:
        return 'has no file name (only "." or empty path parts)'
    return None


def local_path_for(root: str, relative: str) -> str:
    """Join a safe ``/``-separated relative key onto the folder ``root``."""
    return os.path.join(root, *_split_parts(relative, _LOCAL_SEPARATORS))


def is_within(root: str, path: str) -> bool:
    """Whether ``path`` resolves (symlinks included) to somewhere inside ``root``."""
    real_root = os.path.realpath(root)
    real_path = os.path.realpath(path)
    if real_path == real_root:
        return False
    return os.path.commonpath([real_root, real_path]) == real_root


def _split_parts(relative: str, separators: Iterable[str]) -> list[str]:
    parts = [relative]
    for separator in separators:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [part for part in parts if part not in ('', '.')]


# -- Planned transfers ------------------------------------------------------------


class FileTransfer(Protocol):
    """One planned file transfer."""

    @property
    def size(self) -> int:
        """The number of bytes to transfer."""
        ...

    @property
    def source(self) -> str:
        """Where the bytes come from: a local path or ``s3://bucket/key``."""
        ...

    @property
    def destination(self) -> str:
        """Where the bytes go: a local path or ``s3://bucket/key``."""
        ...

    def submit(
        self, manager: TransferManager, subscribers: list[Any]
    ) -> TransferFuture:
        """Start the transfer on ``manager`` and return its future."""
        ...


def s3_url(bucket: str, key: str) -> str:
    """The ``s3://bucket/key`` form used in messages."""
    return f's3://{bucket}/{key}'


def upload_item(
    manager: TransferManager, fileobj: Any, item: Any, subscribers: list[Any]
) -> TransferFuture:
    """Upload ``fileobj`` to the item's ``bucket``/``key`` with its extra args."""
    return manager.upload(
        fileobj,
        item.bucket,
        item.key,
        extra_args=dict(item.extra_args) or None,
        subscribers=subscribers,
    )


def download_item(
    manager: TransferManager, item: Any, fileobj: Any, subscribers: list[Any]
) -> TransferFuture:
    """Download the item's ``bucket``/``key`` into ``fileobj`` with its extra args."""
    return manager.download(
        item.bucket,
        item.key,
        fileobj,
        extra_args=dict(item.extra_args) or None,
        subscribers=subscribers,
    )


@dataclass(frozen=True)
class FileUpload:
    """Upload of the local file ``path`` to ``bucket``/``key``."""

    path: str
    bucket: str
    key: str
    size: int
    extra_args: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return self.path

    @property
    def destination(self) -> str:
        return s3_url(self.bucket, self.key)

    def submit(
        self, manager: TransferManager, subscribers: list[Any]
    ) -> TransferFuture:
        """Start the upload."""
        return upload_item(manager, self.path, self, subscribers)


@dataclass(frozen=True)
class FileDownload:
    """Download of ``bucket``/``key`` to the local file ``path`` (folders created)."""

    bucket: str
    key: str
    path: str
    size: int
    etag: str | None = None
    extra_args: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: When set, ``path`` lies beneath this folder and is written without
    #: following symlinks (folders are created when the file is first written).
    root: ConfinedFolder | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        return s3_url(self.bucket, self.key)

    @property
    def destination(self) -> str:
        return self.path

    def submit(
        self, manager: TransferManager, subscribers: list[Any]
    ) -> TransferFuture:
        """Start the download (into a confined temp file when ``root`` is set)."""
        if self.etag is not None:
            subscribers = [_KnownObject(self.size, self.etag), *subscribers]
        if self.root is not None:
            return self._submit_confined(manager, self.root, subscribers)
        _make_parent_folders(self.path)
        return download_item(manager, self, self.path, subscribers)

    def _submit_confined(
        self, manager: TransferManager, root: ConfinedFolder, subscribers: list[Any]
    ) -> TransferFuture:
        parts = os.path.relpath(self.path, root.path).split(os.sep)
        temp = ConfinedTempFile(root, parts)
        try:
            return download_item(manager, self, temp, [_Commit(temp), *subscribers])
        except BaseException:
            temp.discard()
            raise


@dataclass(frozen=True)
class FileCopy:
    """Managed copy of ``source_bucket``/``source_key`` to ``bucket``/``key``."""

    source_bucket: str
    source_key: str
    bucket: str
    key: str
    size: int
    etag: str | None = None
    extra_args: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return s3_url(self.source_bucket, self.source_key)

    @property
    def destination(self) -> str:
        return s3_url(self.bucket, self.key)

    def submit(
        self, manager: TransferManager, subscribers: list[Any]
    ) -> TransferFuture:
        """Start the copy (its HeadObject also carries the metadata over).

        With the listed ``etag``, a copy small enough for one CopyObject (which keeps
        the metadata itself) skips the HeadObject.
        """
        copy_source = {'Bucket': self.source_bucket, 'Key': self.source_key}
        if self.etag is not None and self.size < manager.config.multipart_threshold:
            subscribers = [_KnownObject(self.size, self.etag), *subscribers]
        return manager.copy(
            copy_source,
            self.bucket,
            self.key,
            extra_args=dict(self.extra_args) or None,
            subscribers=subscribers,
        )


def _make_parent_folders(path: str) -> None:
    """Create the folders of ``path``; a file in the way is named as such."""
    parent = os.path.dirname(path)
    if not parent:
        return
    try:
        os.makedirs(parent, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = parent
        while os.path.dirname(blocker) != blocker and not os.path.isfile(blocker):
            blocker = os.path.dirname(blocker)
        raise NotADirectoryError(
            errno.ENOTDIR,
            'is a file, so it cannot be a folder of the download',
            blocker,
        ) from None


class _Commit(BaseSubscriber):
    """Renames a confined download's temp file into place, or removes it.

    It runs first among the subscribers, so a failed rename fails the transfer for
    every subscriber after it.
    """

    def __init__(self, temp: ConfinedTempFile) -> None:
        self._temp = temp

    def on_done(self, future: Any, **kwargs: Any) -> None:
        try:
            future.result()
        except BaseException:
            self._temp.discard()
            return
        try:
            self._temp.commit()
        except Exception as error:
            self._temp.discard()
            future.set_exception(error)


class _KnownObject(BaseSubscriber):
    """Hands the listed size and ETag to a download, sparing its HeadObject."""

    def __init__(self, size: int, etag: str) -> None:
        self._size = size
        self._etag = etag

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        future.meta.provide_transfer_size(self._size)
        future.meta.provide_object_etag(self._etag)


@dataclass(frozen=True)
class Refused:
    """A source entry that was not transferred, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Skipped(Refused):
    """A source entry left out on purpose (e.g. a symlink not followed), and why.

    Callers that know only ``Refused`` count it as one; plans keep it apart.
    """


@dataclass(frozen=True)
class Plan:
    """The files to transfer and the entries refused while planning."""

    items: tuple[FileTransfer, ...]
    refused: tuple[Refused, ...] = ()
    #: Entries left out on purpose (e.g. symlinks without following), not failures.
    skipped: tuple[Skipped, ...] = ()


# -- Planning ---------------------------------------------------------------------


def plan_upload(
    source_dir: str,
    bucket: str,
    prefix: str = '',
    filters: Sequence[Filter] = (),
    extra_args: Mapping[str, Any] | None = None,
    follow_symlinks: bool = True,
) -> Plan:
    """Plan uploading every selected regular file under ``source_dir``.

    ``extra_args`` (as for ``TransferManager.upload``) go with every file.
    """
    return _collect(
        iter_upload(source_dir, bucket, prefix, filters, follow_symlinks), extra_args
    )


def plan_download(
    client: Any,
    bucket: str,
    prefix: str,
    dest_dir: str,
    filters: Sequence[Filter] = (),
    extra_args: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan downloading every selected key under ``prefix`` into ``dest_dir``."""
    return _collect(
        iter_download(
            list_objects(client, bucket, prefix), bucket, prefix, dest_dir, filters
        ),
        extra_args,
    )


def plan_copy(
    client: Any,
    source_bucket: str,
    source_prefix: str,
    bucket: str,
    prefix: str,
    filters: Sequence[Filter] = (),
    extra_args: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan copying every selected key under ``source_prefix`` to ``prefix``."""
    entries = list_objects(client, source_bucket, source_prefix)
    return _collect(
        iter_copy(entries, source_bucket, source_prefix, bucket, prefix, filters),
        extra_args,
    )


def iter_upload(
    source_dir: str,
    bucket: str,
    prefix: str = '',
    filters: Sequence[Filter] = (),
    follow_symlinks: bool = True,
) -> Iterator[FileUpload | Refused]:
    """Stream the uploads (and refusals) of the selected files under ``source_dir``.

    Files come in a stable order (folders walked in sorted order), one at a time.
    Symlinks are followed (as the AWS CLI does) unless ``follow_symlinks`` is false,
    when they are ``Skipped``. Folders that cannot be listed, symlink loops and keys
    longer than S3 allows are refused.
    """
    validate_filters(filters)
    for path in _walk_files(source_dir, follow_symlinks):
        if not isinstance(path, str):
            yield path
            continue
        relative = relative_path(path, source_dir)
        if not is_selected(relative, filters):
            continue
        try:
            info = os.stat(path)
        except OSError as error:
            yield Refused(path, f'cannot be read: {error}')
            continue
        if not stat.S_ISREG(info.st_mode):
            yield Refused(path, 'is not a regular file')
            continue
        key = key_for(relative, prefix)
        if len(key.encode('utf-8', 'surrogateescape')) > MAX_KEY_BYTES:
            yield Refused(path, _KEY_TOO_LONG)
            continue
        yield FileUpload(path, bucket, key, info.st_size)


_KEY_TOO_LONG = f'its key would be longer than S3 allows ({MAX_KEY_BYTES} bytes)'
_NAMELESS_OBJECT = 'is not empty but its key ends in "/", so it has no file name'
_INEXACT_UNCHECKED = (
    'is not the exact name of a file ("//" or "." parts) and could take the place '
    'of another key (collisions are not checked here)'
)


def iter_download(
    entries: Iterable[dict],
    bucket: str,
    prefix: str,
    dest_dir: str,
    filters: Sequence[Filter] = (),
    check_collisions: bool = True,
) -> Iterator[FileDownload | Refused]:
    """Stream the downloads (and refusals) of listed ``entries`` into ``dest_dir``.

    ``entries`` are ListObjectsV2 entries (``Key``, ``Size``, optional ``ETag``).
    Two keys that map to one file (``a//b`` and ``a/b``): the exact key wins; if
    neither is exact, both are refused. For that, keys that are not exact names are
    held back until the listing ends. ``check_collisions`` remembers every path;
    streaming callers that must stay bounded turn it off, and then keys that are not
    exact names are refused. A non-empty object whose key ends in ``/`` is refused;
    empty ones are folder markers. Files are written beneath ``dest_dir`` without
    following symlinks (see ``s3transfer.confined``).
    """
    validate_filters(filters)
    root = ConfinedFolder(dest_dir) if confined.SUPPORTED else None
    claimed: dict[str, str] = {}  # local path -> the key that will be written there
    held: dict[str, list[dict]] = {}  # local path -> inexact entries mapping there
    for entry in entries:
        key = entry['Key']
        relative = relative_key(key, prefix)
        if not is_selected(relative, filters):
            continue
        if is_folder_marker(relative):
            if entry.get('Size'):
                yield Refused(s3_url(bucket, key), _NAMELESS_OBJECT)
            continue
        path, reason = _safe_destination(dest_dir, relative)
        if reason is None and path in claimed:
            reason = f'maps to the same file as {claimed[path]!r}'
        if reason is None:
            reason = _special_file_reason(path)
        if reason is None and not is_exact_key(relative):
            if check_collisions:
                held.setdefault(path, []).append(entry)
                continue
            reason = _INEXACT_UNCHECKED
        if reason is not None:
            yield Refused(s3_url(bucket, key), reason)
            continue
        if check_collisions:
            claimed[path] = key
        yield _file_download(bucket, entry, path, root)
    for path, inexact in held.items():
        if path in claimed:
            reason = f'maps to the same file as {claimed[path]!r}, the exact name'
        elif len(inexact) > 1:
            reason = 'maps to the same file as another key, and neither is exact'
        else:
            yield _file_download(bucket, inexact[0], path, root)
            continue
        for entry in inexact:
            yield Refused(s3_url(bucket, entry['Key']), reason)


def _special_file_reason(path: str) -> str | None:
    """Why an existing ``path`` (a FIFO, device, socket) may not be downloaded to."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return None
    return f'the destination is a {file_kind(mode)}: not written or replaced'


def _file_download(
    bucket: str, entry: dict, path: str, root: ConfinedFolder | None
) -> FileDownload:
    return FileDownload(
        bucket, entry['Key'], path, entry['Size'], entry.get('ETag'), root=root
    )


def iter_copy(
    entries: Iterable[dict],
    source_bucket: str,
    source_prefix: str,
    bucket: str,
    prefix: str,
    filters: Sequence[Filter] = (),
    use_listed_etags: bool = False,
) -> Iterator[FileCopy]:
    """Stream the copies of listed ``entries`` from ``source_prefix`` to ``prefix``.

    ``use_listed_etags`` hands each entry's ``ETag`` to its copy (see ``FileCopy``).
    """
    validate_filters(filters)
    for entry in entries:
        relative = relative_key(entry['Key'], source_prefix)
        if is_folder_marker(relative) or not is_selected(relative, filters):
            continue
        target = key_for(relative, prefix)
        etag = entry.get('ETag') if use_listed_etags else None
        yield FileCopy(source_bucket, entry['Key'], bucket, target, entry['Size'], etag)


def _collect(
    entries: Iterable[FileTransfer | Refused],
    extra_args: Mapping[str, Any] | None = None,
) -> Plan:
    items: list[FileTransfer] = []
    refused: list[Refused] = []
    extra = dict(extra_args or {})
    skipped: list[Skipped] = []
    for entry in entries:
        if isinstance(entry, Skipped):
            skipped.append(entry)
        elif isinstance(entry, Refused):
            refused.append(entry)
        elif extra and isinstance(entry, FileUpload | FileDownload | FileCopy):
            items.append(dataclasses.replace(entry, extra_args=extra))
        else:
            items.append(entry)
    return Plan(tuple(items), tuple(refused), tuple(skipped))


def list_objects(client: Any, bucket: str, prefix: str) -> Iterator[dict]:
    """Yield every object entry under the folder ``prefix`` (paginated)."""
    paginator = client.get_paginator('list_objects_v2')
    pages = paginator.paginate(Bucket=bucket, Prefix=normalize_prefix(prefix))
    for page in pages:
        yield from page.get('Contents', [])


def _safe_destination(dest_dir: str, relative: str) -> tuple[str, str | None]:
    reason = unsafe_key_reason(relative)
    if reason is not None:
        return '', reason
    path = local_path_for(dest_dir, relative)
    if not is_within(dest_dir, path):
        return '', 'resolves outside the destination folder'
    return path, None


def _walk_files(root: str, follow_symlinks: bool = True) -> Iterator[str | Refused]:
    """Yield the non-folder entries under ``root``, sorted, depth first, iteratively.

    Folders that cannot be listed and symlink loops come as ``Refused``, symlinks
    not followed as ``Skipped``. Any depth works: there is no recursion.
    """
    if not os.path.isdir(root):
        raise NotADirectoryError(f'not a folder: {root}')
    stack: list[tuple[str, frozenset]] = [(root, frozenset({_node(os.stat(root))}))]
    while stack:
        folder, above = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            yield Refused(folder, f'cannot be listed: {_os_reason(error)}')
            continue
        subfolders = []
        for entry in entries:
            if not follow_symlinks and entry.is_symlink():
                yield Skipped(entry.path, 'is a symlink (not followed)')
                continue
            if not _is_folder(entry):
                yield entry.path
                continue
            try:
                node = _node(entry.stat())
            except OSError as error:
                yield Refused(entry.path, f'cannot be read: {_os_reason(error)}')
                continue
            if node in above:
                yield Refused(entry.path, _SYMLINK_LOOP)
                continue
            subfolders.append((entry.path, above | {node}))
        stack.extend(reversed(subfolders))


_SYMLINK_LOOP = 'is a symlink loop (it leads back to a folder above it)'


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _node(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


# -- Running ----------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """A file whose transfer failed, with the error."""

    item: FileTransfer
    error: BaseException

    @property
    def message(self) -> str:
        """The error as one line."""
        text = str(self.error) or type(self.error).__name__
        return ' '.join(text.split())


@dataclass
class DirectoryResult:
    """Outcome of every planned file."""

    succeeded: list[FileTransfer] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    cancelled: list[FileTransfer] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    #: Entries left out on purpose; they do not make the result not ``ok``.
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file was transferred and none was refused."""
        return not (self.failed or self.cancelled or self.refused)


class DirectoryTransferFuture:
    """Aggregate of one ``TransferFuture`` per file, with progress for the set."""

    def __init__(
        self,
        plan: Plan,
        policy: str = CONTINUE,
        on_file_done: FileDoneCallback | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f'policy must be one of {POLICIES}, not {policy!r}')
        self._plan = plan
        self._policy = policy
        self._on_file_done = on_file_done
        self._lock = threading.Lock()
        self._all_done = threading.Event()
        self._tally = ProgressTally()
        self._futures: dict[FileTransfer, TransferFuture] = {}
        self._outcomes: dict[FileTransfer, BaseException | None] = {}
        self._skipped: list[FileTransfer] = []
        self._stopping = False
        self._submitted_all = False
        for item in plan.items:
            self._tally.expect(item.size)

    @property
    def futures(self) -> dict[FileTransfer, TransferFuture]:
        """The transfer future of each submitted file."""
        with self._lock:
            return dict(self._futures)

    def progress(self) -> ProgressSnapshot:
        """Bytes and files done so far, for the whole set."""
        return self._tally.snapshot()

    def done(self) -> bool:
        """Whether every file has finished (or was skipped)."""
        return self._all_done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for every file; return ``done()``."""
        return self._all_done.wait(timeout)

    def result(self) -> DirectoryResult:
        """Wait for every file and return the outcome; Ctrl-C cancels them."""
        try:
            self._all_done.wait()
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self._build_result()

    def cancel(self) -> None:
        """Cancel every unfinished file and submit no more."""
        with self._lock:
            self._stopping = True
            futures = list(self._futures.values())
        for future in futures:
            future.cancel()

    def _submit_all(self, manager: TransferManager, subscribers: list[Any]) -> None:
        for item in self._plan.items:
            if self._should_skip(item):
                continue
            # The watcher goes last: once the set is done, every on_done has run.
            watchers = [
                self._tally.subscriber(item.size),
                *subscribers,
                _Watcher(self, item),
            ]
            try:
                future = item.submit(manager, watchers)
            except Exception as error:  # e.g. the folder could not be created
                self._tally.finish_file(failed=True)
                self._record(item, error)
                continue
            self._register(item, future)
        with self._lock:
            self._submitted_all = True
        self._check_all_done()

    def _should_skip(self, item: FileTransfer) -> bool:
        with self._lock:
            if self._stopping:
                self._skipped.append(item)
            return self._stopping

    def _register(self, item: FileTransfer, future: TransferFuture) -> None:
        with self._lock:
            self._futures[item] = future
            late = self._stopping
        if late:  # a failure stopped the set while this file was being submitted
            future.cancel()

    def _record(self, item: FileTransfer, error: BaseException | None) -> None:
        if self._on_file_done is not None:
            self._on_file_done(item, error)
        stop = self._policy == STOP and _is_failure(error)
        with self._lock:
            self._outcomes[item] = error
            to_cancel = list(self._futures.values()) if stop else []
            self._stopping = self._stopping or stop
        for future in to_cancel:
            future.cancel()
        self._check_all_done()

    def _check_all_done(self) -> None:
        with self._lock:
            expected = len(self._plan.items) - len(self._skipped)
            if self._submitted_all and len(self._outcomes) == expected:
                self._all_done.set()

    def _build_result(self) -> DirectoryResult:
        result = DirectoryResult(
            refused=list(self._plan.refused), skipped=list(self._plan.skipped)
        )
        with self._lock:
            outcomes = dict(self._outcomes)
            result.cancelled.extend(self._skipped)
        for item in self._plan.items:
            error = outcomes.get(item, _NOT_RUN)
            if error is _NOT_RUN:
                continue
            if error is None:
                result.succeeded.append(item)
            elif _is_failure(error):
                result.failed.append(Failure(item, error))
            else:
                result.cancelled.append(item)
        return result


_NOT_RUN = CancelledError()  # marks a planned file that has no outcome


def _is_failure(error: BaseException | None) -> bool:
    return error is not None and not isinstance(error, CancelledError)


class _Watcher(BaseSubscriber):
    """Reports one file's outcome to its ``DirectoryTransferFuture``."""

    def __init__(self, aggregate: DirectoryTransferFuture, item: FileTransfer) -> None:
        self._aggregate = aggregate
        self._item = item

    def on_done(self, future: Any, **kwargs: Any) -> None:
        try:
            future.result()
        except BaseException as error:
            self._aggregate._record(self._item, error)
        else:
            self._aggregate._record(self._item, None)


def submit_plan(
    manager: TransferManager,
    plan: Plan,
    policy: str = CONTINUE,
    subscribers: Iterable[Any] = (),
    on_file_done: FileDoneCallback | None = None,
) -> DirectoryTransferFuture:
    """Submit one transfer per planned file; ``policy`` is ``'continue'`` or ``'stop'``.

    With ``'stop'`` the first failure cancels the other files and submits no more.
    ``on_file_done(item, error)`` runs as each file finishes (``error`` is ``None``
    on success), from a transfer thread, before the set counts as done.
    """
    aggregate = DirectoryTransferFuture(plan, policy, on_file_done)
    aggregate._submit_all(manager, list(subscribers))
    return aggregate


def upload_directory(
    manager: TransferManager,
    source_dir: str,
    bucket: str,
    prefix: str = '',
    filters: Sequence[Filter] = (),
    policy: str = CONTINUE,
    subscribers: Iterable[Any] = (),
    extra_args: Mapping[str, Any] | None = None,
    follow_symlinks: bool = True,
) -> DirectoryTransferFuture:
    """Upload the selected files under ``source_dir`` to ``bucket`` under ``prefix``."""
    plan = plan_upload(source_dir, bucket, prefix, filters, extra_args, follow_symlinks)
    return submit_plan(manager, plan, policy, subscribers)


def download_directory(
    manager: TransferManager,
    bucket: str,
    prefix: str,
    dest_dir: str,
    filters: Sequence[Filter] = (),
    policy: str = CONTINUE,
    subscribers: Iterable[Any] = (),
    extra_args: Mapping[str, Any] | None = None,
) -> DirectoryTransferFuture:
    """Download the selected keys under ``prefix`` into ``dest_dir``, safely."""
    plan = plan_download(manager.client, bucket, prefix, dest_dir, filters, extra_args)
    return submit_plan(manager, plan, policy, subscribers)


def copy_directory(
    manager: TransferManager,
    source_bucket: str,
    source_prefix: str,
    bucket: str,
    prefix: str,
    filters: Sequence[Filter] = (),
    policy: str = CONTINUE,
    subscribers: Iterable[Any] = (),
    extra_args: Mapping[str, Any] | None = None,
) -> DirectoryTransferFuture:
    """Copy the selected keys under ``source_prefix`` to ``bucket`` under ``prefix``."""
    plan = plan_copy(
        manager.client,
        source_bucket,
        source_prefix,
        bucket,
        prefix,
        filters,
        extra_args,
    )
    return submit_plan(manager, plan, policy, subscribers)
