"""Unit tests for s3transfer.compat."""

import errno
import importlib.util
import io
import multiprocessing.managers
import os
import sys

import botocore.compat
import pytest

import s3transfer.compat as compat
from s3transfer.compat import (
    MAXINT,
    SOCKET_ERROR,
    accepts_kwargs,
    fallocate,
    readable,
    seekable,
)


def load_compat_for_platform(monkeypatch, platform):
    """Import a private copy of compat as if running on ``platform``."""
    monkeypatch.setattr(sys, 'platform', platform)
    spec = importlib.util.spec_from_file_location('_compat_copy', compat.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reexports():
    assert compat.six is botocore.compat.six
    assert compat.BaseManager is multiprocessing.managers.BaseManager
    assert SOCKET_ERROR is ConnectionError
    assert MAXINT is None


def test_rename_file_is_os_rename_off_windows():
    assert sys.platform.startswith('linux')
    assert compat.rename_file is os.rename


class TestWindowsRenameFile:
    def test_replaces_existing_target(self, monkeypatch, tmp_path):
        module = load_compat_for_platform(monkeypatch, 'win32')
        assert module.rename_file is not os.rename
        src, dst = tmp_path / 'src', tmp_path / 'dst'
        src.write_bytes(b'new')
        dst.write_bytes(b'old')
        module.rename_file(str(src), str(dst))
        assert dst.read_bytes() == b'new' and not src.exists()

    def test_missing_target_is_fine(self, monkeypatch, tmp_path):
        module = load_compat_for_platform(monkeypatch, 'win32')
        src, dst = tmp_path / 'src', tmp_path / 'dst'
        src.write_bytes(b'new')
        module.rename_file(str(src), str(dst))
        assert dst.read_bytes() == b'new'

    def test_other_remove_errors_propagate(self, monkeypatch, tmp_path):
        module = load_compat_for_platform(monkeypatch, 'win32')
        renamed = []

        def deny(path):
            raise OSError(errno.EACCES, 'denied')

        monkeypatch.setattr(os, 'remove', deny)
        monkeypatch.setattr(os, 'rename', lambda a, b: renamed.append((a, b)))
        with pytest.raises(OSError) as e:
            module.rename_file('a', 'b')
        assert e.value.errno == errno.EACCES
        assert renamed == []


def test_accepts_kwargs():
    def with_kwargs(a, **extra):
        pass

    def without(a, *args):
        pass

    class Subscriber:
        def on_done(self, future, **kwargs):
            pass

    assert accepts_kwargs(with_kwargs) == 'extra'
    assert accepts_kwargs(without) is None
    assert accepts_kwargs(Subscriber().on_done) == 'kwargs'
    assert accepts_kwargs(lambda **kw: None) == 'kw'


class SeekTellOnly:
    def __init__(self, error=None):
        self.error = error
        self.seeks = []

    def seek(self, offset, whence=0):
        self.seeks.append((offset, whence))
        if self.error:
            raise self.error

    def tell(self):
        return 0


class ReportsSeekable:
    def __init__(self, answer):
        self.answer = answer

    def seekable(self):
        return self.answer

    def seek(self, offset, whence=0):
        raise AssertionError('must not probe when seekable() exists')


def test_seekable():
    assert seekable(io.BytesIO()) is True
    assert seekable(object()) is False
    assert seekable(ReportsSeekable(False)) is False
    assert seekable(ReportsSeekable(True)) is True
    probe = SeekTellOnly()
    assert seekable(probe) is True
    assert probe.seeks == [(0, 1)]
    assert seekable(SeekTellOnly(OSError('unseekable'))) is False


def test_seekable_only_swallows_oserror():
    with pytest.raises(ValueError):
        seekable(SeekTellOnly(ValueError('boom')))


def test_seekable_needs_both_seek_and_tell():
    class SeekOnly:
        def seek(self, offset, whence=0):
            raise AssertionError('must not be called')

    assert seekable(SeekOnly()) is False


def test_seekable_pipe():
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, 'rb') as reader, os.fdopen(write_fd, 'wb') as writer:
        assert seekable(reader) is False
        assert seekable(writer) is False


def test_readable():
    class HasRead:
        def read(self):
            return b''

    class ReportsReadable:
        def readable(self):
            return False

        def read(self):
            return b''

    assert readable(io.BytesIO()) is True
    assert readable(object()) is False
    assert readable(HasRead()) is True
    assert readable(ReportsReadable()) is False


def test_fallocate_with_posix_fallocate(tmp_path):
    assert hasattr(os, 'posix_fallocate')
    path = tmp_path / 'f'
    with open(path, 'wb') as f:
        fallocate(f, 4096)
    assert path.stat().st_size == 4096


def test_fallocate_zero_raises_on_posix(tmp_path):
    # compat keeps the platform behaviour; OSUtils.allocate avoids calling it for 0.
    with open(tmp_path / 'f', 'wb') as f, pytest.raises(OSError) as e:
        fallocate(f, 0)
    assert e.value.errno == errno.EINVAL


def test_fallocate_falls_back_to_truncate(monkeypatch, tmp_path):
    monkeypatch.delattr(os, 'posix_fallocate')
    path = tmp_path / 'f'
    with open(path, 'wb') as f:
        fallocate(f, 100)
    assert path.stat().st_size == 100
