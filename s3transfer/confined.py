"""Writing downloaded files beneath a destination folder without following symlinks.

A recursive download checks its keys when it plans, but folders can be swapped for
symlinks (or the destination folder itself replaced) before a worker opens a file.
Here every open walks from the destination folder, checked to be the one planned,
one ``O_NOFOLLOW`` component at a time, and the temp file is created and renamed
relative to the folder descriptor that walk produced: nothing is ever written outside.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Sequence
from typing import Any

from s3transfer.download import _PositionalTempFile
from s3transfer.utils import random_file_extension

_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_FOLDER_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC

#: Whether this platform can open relative to a folder without following symlinks.
SUPPORTED = bool(_NOFOLLOW and _DIRECTORY) and os.open in os.supports_dir_fd


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


class ConfinedFolder:
    """The destination folder of a recursive download, pinned to what was planned.

    Its identity (device, inode) is taken when it is created; if it did not exist
    yet, on the first file written. A folder later swapped for another (or a
    symlink to one) is refused.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        # Serializes walks that create folders with the cleanup that removes them.
        self.lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        try:
            fd = os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        except OSError:
            return  # created on first use
        try:
            self._identity = _identity(fd)
        finally:
            os.close(fd)

    def __repr__(self) -> str:
        return f'ConfinedFolder({self.path!r})'

    def __reduce__(self) -> tuple:
        # Pickled (e.g. to a Dask worker) as its path: pinned again where it is used.
        return ConfinedFolder, (self.path,)

    def open_root(self) -> int:
        """A descriptor of the destination folder; refuses a replaced folder."""
        if self._identity is None:
            return self._create_root()
        fd = os.open(self.path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
        if _identity(fd) != self._identity:
            os.close(fd)
            raise OSError(
                errno.EXDEV,
                'the destination folder was replaced while downloading',
                self.path,
            )
        return fd

    def _create_root(self) -> int:
        parent = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(self.path)
        except FileExistsError:
            pass
        fd = _open_folder(self.path, self.path)
        self._identity = _identity(fd)
        return fd

    def open_parent(
        self, folders: Sequence[str], created: list[str] | None = None
    ) -> int:
        """Descriptor of ``root/folders...``, creating missing folders, no symlinks.

        Names of the folders this call created are appended to ``created``.
        """
        fd = self.open_root()
        path = self.path
        try:
            for name in folders:
                path = os.path.join(path, name)
                if created is not None:
                    try:
                        os.mkdir(name, dir_fd=fd)
                        created.append(name)
                    except FileExistsError:
                        pass
                next_fd = _open_folder(name, path, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def remove_created(self, folders: Sequence[str], created: Sequence[str]) -> None:
        """Remove, deepest first, the folders a failed file created, if still empty.

        The folders one walk created are always the last ``len(created)`` of them.
        """
        if not created:
            return
        fds: list[int] = []  # fds[i] is the folder holding folders[i]
        try:
            fds.append(self.open_root())
            for name in folders[:-1]:
                fds.append(_open_folder(name, name, dir_fd=fds[-1]))
        except OSError:
            pass  # the path changed since: leave whatever is there
        try:
            first_created = len(folders) - len(created)
            for index in range(len(folders) - 1, first_created - 1, -1):
                if index >= len(fds):
                    continue
                try:
                    os.rmdir(folders[index], dir_fd=fds[index])
                except OSError:
                    return  # not empty (another file is there), or gone
        finally:
            for fd in fds:
                os.close(fd)


def _open_folder(name: str, shown: str, dir_fd: int | None = None) -> int:
    """Open the folder ``name`` without following a symlink; clear errors."""
    try:
        return os.open(name, _FOLDER_FLAGS, dir_fd=dir_fd)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.EMLINK) or _is_symlink(name, dir_fd):
            raise OSError(
                error.errno, 'is a symlink: refusing to write through it', shown
            ) from None
        if error.errno == errno.ENOTDIR:
            raise NotADirectoryError(
                error.errno,
                'is a file, so it cannot be a folder of the download',
                shown,
            ) from None
        raise


def _is_symlink(name: str, dir_fd: int | None) -> bool:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISLNK(info.st_mode)


class ConfinedTempFile(_PositionalTempFile):
    """A download's temp file, created and renamed beneath a ``ConfinedFolder``.

    Opened lazily on the first write (queued files hold no descriptors); holds its
    folder's descriptor until ``commit`` or ``discard``.
    """

    def __init__(self, root: ConfinedFolder, parts: Sequence[str]) -> None:
        self._root = root
        self._folders = tuple(parts[:-1])
        self._final_name = parts[-1]
        self._temp_name = self._final_name[:246] + os.extsep + random_file_extension()
        super().__init__(
            os.path.join(root.path, *self._folders, self._temp_name),
            self._open_temp,
            destination=os.path.join(root.path, *parts),
        )
        self._folder_fd: int | None = None
        self._created: list[str] = []
        self._finish_lock = threading.Lock()
        self._finished = False

    def seekable(self) -> bool:
        """Seekable without being opened (downloads pick their writer by this)."""
        return True

    def _open_temp(self, filename: str, mode: str) -> Any:
        with self._root.lock:
            if self._finished:
                raise OSError(errno.ECANCELED, 'the download has finished', filename)
            folder_fd = self._root.open_parent(self._folders, self._created)
            try:
                fd = os.open(self._temp_name, _TEMP_FLAGS, 0o666, dir_fd=folder_fd)
            except BaseException:
                os.close(folder_fd)
                raise
            self._folder_fd = folder_fd
        return os.fdopen(fd, mode)

    def commit(self) -> None:
        """Close the temp file and rename it over the destination name."""
        with self._finish_lock:
            self.seek(0)  # an empty object never wrote: create its empty file now
            self.close()
            assert self._folder_fd is not None
            try:
                os.rename(
                    self._temp_name,
                    self._final_name,
                    src_dir_fd=self._folder_fd,
                    dst_dir_fd=self._folder_fd,
                )
            except IsADirectoryError:
                self._unlink_temp()
                raise IsADirectoryError(
                    errno.EISDIR,
                    'is a directory, so the file cannot be saved there',
                    self.destination or self.name,
                ) from None
            except BaseException:
                self._unlink_temp()
                raise
            finally:
                self._release()

    def discard(self) -> None:
        """Close and remove the temp file, and the empty folders it created."""
        with self._finish_lock:
            self.close()
            self._unlink_temp()
            self._release()
            with self._root.lock:
                self._root.remove_created(self._folders, self._created)

    def _unlink_temp(self) -> None:
        if self._folder_fd is not None:
            try:
                os.unlink(self._temp_name, dir_fd=self._folder_fd)
            except OSError:
                pass

    def _release(self) -> None:
        with self._root.lock:
            self._finished = True
            if self._folder_fd is not None:
                os.close(self._folder_fd)
                self._folder_fd = None
