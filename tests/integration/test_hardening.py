"""Issue 21 through the Python API: symlink races, silent skips and misleading errors.

Each test names the issue's point it pins. The command-line side of the same points
is in ``tests/integration/test_cli_hardening.py``.
"""

import os
import threading
import time

import pytest

from s3transfer.directory import (
    download_directory,
    plan_download,
    submit_plan,
    upload_directory,
)
from s3transfer.exceptions import CancelledError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import OSUtils
from tests.helpers import write_tree


@pytest.fixture
def manager(s3_client):
    with TransferManager(s3_client, TransferConfig(max_request_concurrency=1)) as tm:
        yield tm


def _put(client, bucket, objects):
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


class _SwapBeforeOpen(BaseSubscriber):
    """When ``key`` is queued (its folders planned, its file not yet opened), swap
    ``folder`` for a symlink to ``target``: the attacker's move, made deterministic."""

    def __init__(self, key, folder, target):
        self._key, self._folder, self._target = key, folder, target

    def on_queued(self, future, **kwargs):
        if future.meta.call_args.key != self._key:
            return
        if os.path.isdir(self._folder) and not os.path.islink(self._folder):
            os.rename(self._folder, str(self._folder) + '.moved')
        self._folder.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(self._target, self._folder)


# -- 1. a symlink swapped in mid-download -------------------------------------------


def test_1_folder_swapped_for_symlink_before_open_writes_nothing_outside(
    manager, bucket, tmp_path
):
    _put(manager.client, bucket, {'h3/a_big': b'a' * 1000, 'h3/z/file': b'secret'})
    dest, elsewhere = tmp_path / 'dest', tmp_path / 'elsewhere'
    elsewhere.mkdir()
    swap = _SwapBeforeOpen('h3/z/file', dest / 'z', elsewhere)
    result = download_directory(
        manager, bucket, 'h3', str(dest), subscribers=[swap]
    ).result()
    assert os.listdir(elsewhere) == []
    assert [f.item.key for f in result.failed] == ['h3/z/file']
    assert 'symlink' in result.failed[0].message
    assert (dest / 'a_big').read_bytes() == b'a' * 1000


def test_1_destination_root_swapped_before_open_writes_nothing_outside(
    manager, bucket, tmp_path
):
    _put(manager.client, bucket, {'h4/file': b'secret'})
    dest, elsewhere = tmp_path / 'dest', tmp_path / 'elsewhere'
    dest.mkdir()
    elsewhere.mkdir()
    swap = _SwapBeforeOpen('h4/file', dest, elsewhere)
    result = download_directory(
        manager, bucket, 'h4', str(dest), subscribers=[swap]
    ).result()
    assert os.listdir(elsewhere) == []
    assert [f.item.key for f in result.failed] == ['h4/file']
    assert 'replaced' in result.failed[0].message


class _SwapAfterFirstBytes(BaseSubscriber):
    """Swap the folder once bytes have arrived (the temp file is open by then)."""

    def __init__(self, folder, target):
        self._folder, self._target, self.swapped = folder, target, False

    def on_progress(self, future, bytes_transferred, **kwargs):
        if not self.swapped and os.path.isdir(self._folder):
            self.swapped = True
            os.rename(self._folder, str(self._folder) + '.moved')
            os.symlink(self._target, self._folder)


def test_1_folder_swapped_between_open_and_rename_writes_nothing_outside(
    manager, bucket, tmp_path
):
    body = b'x' * (1024 * 1024)  # several reads: progress after the first write
    _put(manager.client, bucket, {'h5/z/file': body})
    dest, elsewhere = tmp_path / 'dest', tmp_path / 'elsewhere'
    elsewhere.mkdir()
    swap = _SwapAfterFirstBytes(dest / 'z', elsewhere)
    download_directory(manager, bucket, 'h5', str(dest), subscribers=[swap]).result()
    assert swap.swapped
    assert os.listdir(elsewhere) == []
    # The file went into the folder it was opened in (now moved), complete.
    assert (tmp_path / 'dest' / 'z.moved' / 'file').read_bytes() == body


# -- 2. unreadable folders in a recursive upload -------------------------------------


def _unlistable(monkeypatch, *paths):
    """Make ``os.scandir`` fail on ``paths`` as chmod 000 does for a non-root user."""
    real = os.scandir
    blocked = {os.fspath(path) for path in paths}

    def scandir(path='.'):
        if os.fspath(path) in blocked:
            raise PermissionError(13, 'Permission denied', os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, 'scandir', scandir)


def test_2_unreadable_folder_is_a_listed_failure(
    manager, bucket, tmp_path, monkeypatch
):
    write_tree(tmp_path / 'src', {'open/a': b'a', 'closed/b': b'b'})
    _unlistable(monkeypatch, tmp_path / 'src' / 'closed')
    result = upload_directory(manager, str(tmp_path / 'src'), bucket, 'p').result()
    assert not result.ok
    assert [r.source for r in result.refused] == [str(tmp_path / 'src' / 'closed')]
    assert 'cannot be listed' in result.refused[0].reason
    assert [item.key for item in result.succeeded] == ['p/open/a']


def test_2_unreadable_source_root_is_a_listed_failure(
    manager, bucket, tmp_path, monkeypatch
):
    write_tree(tmp_path / 'src', {'a': b'a'})
    _unlistable(monkeypatch, tmp_path / 'src')
    result = upload_directory(manager, str(tmp_path / 'src'), bucket, 'p').result()
    assert not result.ok
    assert [r.source for r in result.refused] == [str(tmp_path / 'src')]


# -- 7. a non-empty object whose key ends in '/' -------------------------------------


def test_7_non_empty_key_ending_in_slash_is_refused_not_skipped(
    manager, bucket, tmp_path
):
    _put(manager.client, bucket, {'h7/dir/': b'data', 'h7/marker/': b'', 'h7/f': b'f'})
    result = download_directory(manager, bucket, 'h7', str(tmp_path / 'd')).result()
    assert [r.source for r in result.refused] == [f's3://{bucket}/h7/dir/']
    assert 'ends in "/"' in result.refused[0].reason
    assert [item.key for item in result.succeeded] == ['h7/f']


# -- 8. two keys that map to one path ------------------------------------------------


def test_8_exact_key_wins_over_a_double_slash_key(manager, bucket, tmp_path):
    _put(manager.client, bucket, {'h8/a//b': b'other', 'h8/a/b': b'exact'})
    result = download_directory(manager, bucket, 'h8', str(tmp_path / 'd')).result()
    assert (tmp_path / 'd' / 'a' / 'b').read_bytes() == b'exact'
    assert [r.source for r in result.refused] == [f's3://{bucket}/h8/a//b']


# -- 9. deep folders -----------------------------------------------------------------


def _make_deep_tree(parent, depth):
    """``parent/deep/d/d/.../d/leaf`` with ``depth`` ``d`` levels (fd-relative)."""
    fds = [os.open(parent, os.O_RDONLY)]
    try:
        for name in ['deep'] + ['d'] * depth:
            os.mkdir(name, dir_fd=fds[-1])
            fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
        fd = os.open('leaf', os.O_WRONLY | os.O_CREAT, dir_fd=fds[-1])
        os.write(fd, b'leaf')
        os.close(fd)
    finally:
        for fd in fds:
            os.close(fd)


def _remove_deep_tree(parent, depth):
    """Remove it without recursion (pytest's own cleanup would recurse too deep)."""
    fds = [os.open(parent, os.O_RDONLY)]
    names = ['deep'] + ['d'] * depth
    try:
        for name in names:
            fds.append(os.open(name, os.O_RDONLY, dir_fd=fds[-1]))
        os.unlink('leaf', dir_fd=fds[-1])
        os.unlink('shallow', dir_fd=fds[1])
        for index in range(len(names) - 1, -1, -1):
            os.rmdir(names[index], dir_fd=fds[index])
    finally:
        for fd in fds:
            os.close(fd)


def test_9_a_1500_level_tree_is_walked_without_recursion(manager, bucket, tmp_path):
    depth = 1500
    _make_deep_tree(tmp_path, depth)
    (tmp_path / 'deep' / 'shallow').write_bytes(b'shallow')
    try:
        result = upload_directory(manager, str(tmp_path / 'deep'), bucket, 'p').result()
    finally:
        _remove_deep_tree(tmp_path, depth)
    assert [item.key for item in result.succeeded] == ['p/shallow']
    # Its key would be 3,000 bytes: refused before any request, and listed.
    [refused] = result.refused
    assert refused.source.endswith('/d/d/leaf')
    assert '1024 bytes' in refused.reason


# -- 11. symlinks in an upload source ------------------------------------------------


def test_11_symlinked_folder_is_followed_and_a_loop_reported(manager, bucket, tmp_path):
    write_tree(tmp_path / 'outside', {'x': b'x'})
    write_tree(tmp_path / 'src', {'f': b'f'})
    (tmp_path / 'src' / 'linked').symlink_to(tmp_path / 'outside')
    (tmp_path / 'src' / 'loop').symlink_to(tmp_path / 'src')
    result = upload_directory(manager, str(tmp_path / 'src'), bucket, 'p').result()
    assert sorted(item.key for item in result.succeeded) == ['p/f', 'p/linked/x']
    assert [r.source for r in result.refused] == [str(tmp_path / 'src' / 'loop')]
    assert 'loop' in result.refused[0].reason


def test_11_no_follow_lists_symlinks_as_skipped(manager, bucket, tmp_path):
    write_tree(tmp_path / 'outside', {'x': b'x'})
    write_tree(tmp_path / 'src', {'f': b'f'})
    (tmp_path / 'src' / 'linked').symlink_to(tmp_path / 'outside')
    (tmp_path / 'src' / 'file-link').symlink_to(tmp_path / 'outside' / 'x')
    future = upload_directory(
        manager, str(tmp_path / 'src'), bucket, 'p', follow_symlinks=False
    )
    result = future.result()
    assert result.ok
    assert [item.key for item in result.succeeded] == ['p/f']
    assert sorted(os.path.basename(s.source) for s in result.skipped) == [
        'file-link',
        'linked',
    ]


# -- 12. messages --------------------------------------------------------------------


def test_12_key_naming_the_folder_itself_is_refused_as_such(manager, bucket, tmp_path):
    _put(manager.client, bucket, {'h1/.': b'dot'})
    result = download_directory(manager, bucket, 'h1', str(tmp_path / 'd')).result()
    assert len(result.refused) == 1
    assert 'outside' not in result.refused[0].reason
    assert 'no file name' in result.refused[0].reason


def test_12_a_file_in_the_way_of_a_folder_is_named_clearly(manager, bucket, tmp_path):
    _put(manager.client, bucket, {'h12/a/b': b'b'})
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'a').write_bytes(b'in the way')
    result = download_directory(manager, bucket, 'h12', str(tmp_path / 'd')).result()
    assert 'File exists' not in result.failed[0].message
    assert 'is a file' in result.failed[0].message


def test_12_failed_download_leaves_no_empty_folders(manager, bucket, tmp_path):
    dest = tmp_path / 'd'
    manager.client.put_object(Bucket=bucket, Key='h13/x/y/z', Body=b'z')
    plan = plan_download(manager.client, bucket, 'h13', str(dest))
    manager.client.delete_object(Bucket=bucket, Key='h13/x/y/z')  # the GET will 404
    outcome = submit_plan(manager, plan).result()
    assert len(outcome.failed) == 1
    assert not dest.exists() or os.listdir(dest) == []


class _TempFilesDenied(OSUtils):
    """Refuses to create temp files, as a read-only folder does for a normal user."""

    def open(self, filename, mode):
        if 'w' in mode:
            raise PermissionError(13, 'Permission denied', filename)
        return super().open(filename, mode)


def test_12_temp_file_errors_name_the_destination(s3_client, bucket, tmp_path):
    s3_client.put_object(Bucket=bucket, Key='k', Body=b'data')
    target = str(tmp_path / 'file')
    with TransferManager(s3_client, osutil=_TempFilesDenied()) as manager:
        with pytest.raises(PermissionError) as raised:
            manager.download(bucket, 'k', target).result()
    assert raised.value.filename == target
    assert 'temp file' in str(raised.value)


# -- 4. cancelling a throttled transfer ------------------------------------------------


def _start_transfer(manager, direction, bucket, tmp_path, subscriber):
    """Upload ``tmp_path/source`` to ``<direction>``, or download that object back
    (put first), with ``subscriber``."""
    source = tmp_path / 'source'
    key = f'{direction}-{os.path.basename(tmp_path)}'
    if direction == 'upload':
        return manager.upload(str(source), bucket, key, subscribers=[subscriber])
    manager.client.put_object(Bucket=bucket, Key=key, Body=source.read_bytes())
    target = str(tmp_path / 'target')
    return manager.download(bucket, key, target, subscribers=[subscriber])


@pytest.mark.parametrize('direction', ['upload', 'download'])
def test_4_cancel_ends_a_throttled_transfer_within_a_second(
    s3_client, bucket, tmp_path, direction
):
    # 64 KiB/s: each 256 KiB of the stream waits ~4 s for the bucket.
    config = TransferConfig(max_bandwidth=64 * 1024, max_request_concurrency=1)
    source = tmp_path / 'source'
    source.write_bytes(b'b' * (1024 * 1024))
    progress = _FirstProgress()
    with TransferManager(s3_client, config) as manager:
        future = _start_transfer(manager, direction, bucket, tmp_path, progress)
        assert progress.event.wait(10)
        time.sleep(0.3)  # well into the bucket's wait
        started = time.monotonic()
        future.cancel()
        with pytest.raises(CancelledError):
            future.result()
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert os.listdir(tmp_path) == ['source']


class _FirstProgress(BaseSubscriber):
    def __init__(self):
        self.event = threading.Event()

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.event.set()


# -- 6. result() inside the transfer's own callbacks -----------------------------------


class _WaitsOnItself(BaseSubscriber):
    """Misuse: waits for the transfer from inside its own progress callback."""

    def __init__(self):
        self.error = None

    def on_progress(self, future, bytes_transferred, **kwargs):
        if self.error is None:
            try:
                future.result()
            except RuntimeError as error:
                self.error = error
                raise


@pytest.mark.parametrize('direction', ['upload', 'download'])
def test_6_result_inside_on_progress_raises_instead_of_deadlocking(
    s3_client, bucket, tmp_path, direction
):
    (tmp_path / 'source').write_bytes(b'p' * 1000)
    subscriber = _WaitsOnItself()
    with TransferManager(s3_client) as manager:
        future = _start_transfer(manager, direction, bucket, tmp_path, subscriber)
        deadline = time.monotonic() + 5
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not future.done():  # deadlocked: release it so the test can fail cleanly
            future._coordinator.set_exception(AssertionError('deadlocked'))
            future._coordinator.announce_done()
        with pytest.raises(RuntimeError, match='inside the transfer'):
            future.result()
    assert subscriber.error is not None


# -- 3. FIFOs --------------------------------------------------------------------------


def test_3_download_into_a_fifo_without_reader_is_cancellable_and_writes_nothing(
    s3_client, bucket, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='k3', Body=b'fifo bytes')
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with TransferManager(s3_client) as manager:
        future = manager.download(bucket, 'k3', fifo)
        time.sleep(0.5)  # the writer is waiting for a reader by now
        started = time.monotonic()
        future.cancel()
        deadline = started + 3
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        # A reader appears (and releases a stuck open): nothing may arrive any more.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            time.sleep(0.3)
            try:
                late = os.read(reader, 100)
            except BlockingIOError:
                late = b''
        finally:
            os.close(reader)
        with pytest.raises(CancelledError):
            future.result()
    assert elapsed < 1.0
    assert late == b''


def test_3_download_into_a_fifo_with_a_reader_still_streams(
    s3_client, bucket, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='k3b', Body=b'fifo bytes')
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(
        target=lambda: received.append(open(fifo, 'rb').read()), daemon=True
    )
    reader.start()
    with TransferManager(s3_client) as manager:
        manager.download(bucket, 'k3b', fifo).result()
    reader.join(5)
    assert received == [b'fifo bytes']


def test_3_upload_from_a_fifo_is_refused_not_hung(s3_client, bucket, tmp_path):
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with TransferManager(s3_client) as manager:
        future = manager.upload(fifo, bucket, 'k3c')
        deadline = time.monotonic() + 3
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not future.done():  # stuck in open(): give it a writer to end the test
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        with pytest.raises(ValueError, match='FIFO'):
            future.result()


# -- 10. sources whose size says nothing ----------------------------------------------


@pytest.mark.parametrize('how', ['filename', 'fileobj'])
@pytest.mark.parametrize(
    ('path', 'reason'),
    [('/dev/zero', 'character device'), ('/proc/self/status', 'size of 0 but')],
)
def test_10_sources_whose_size_says_nothing_are_refused(
    s3_client, bucket, how, path, reason
):
    with TransferManager(s3_client) as manager, open(path, 'rb') as opened:
        source = path if how == 'filename' else opened
        future = manager.upload(source, bucket, 'k10')
        with pytest.raises(ValueError, match=reason):
            future.result()
    with pytest.raises(s3_client.exceptions.ClientError):
        s3_client.head_object(Bucket=bucket, Key='k10')


def test_10_empty_regular_file_still_uploads(s3_client, bucket, tmp_path):
    (tmp_path / 'empty').write_bytes(b'')
    with TransferManager(s3_client) as manager:
        manager.upload(str(tmp_path / 'empty'), bucket, 'k10e').result()
    assert s3_client.head_object(Bucket=bucket, Key='k10e')['ContentLength'] == 0


@pytest.mark.parametrize('method', ['upload', 'download', 'copy', 'delete'])
def test_12_extra_args_that_are_not_a_dict_say_so(s3_client, bucket, tmp_path, method):
    calls = {
        'upload': lambda m, extra: m.upload(str(tmp_path / 'f'), bucket, 'k', extra),
        'download': lambda m, extra: m.download(
            bucket, 'k', str(tmp_path / 'd'), extra
        ),
        'copy': lambda m, extra: m.copy(
            {'Bucket': bucket, 'Key': 'k'}, bucket, 'k2', extra
        ),
        'delete': lambda m, extra: m.delete(bucket, 'k', extra),
    }
    (tmp_path / 'f').write_bytes(b'f')
    with TransferManager(s3_client) as manager:
        with pytest.raises(TypeError, match='extra_args must be a dict'):
            calls[method](manager, ['ACL'])


@pytest.mark.parametrize('field', ['bucket', 'key'])
def test_12_a_bucket_or_key_that_is_not_a_string_says_so(s3_client, tmp_path, field):
    names = {'bucket': 'some-bucket', 'key': 'k', field: None}
    with TransferManager(s3_client) as manager:
        with pytest.raises(TypeError, match=f'{field} must be a string'):
            manager.download(names['bucket'], names['key'], str(tmp_path / 'd'))
        with pytest.raises(TypeError, match=f'{field} must be a string'):
            manager.upload(str(tmp_path), names['bucket'], names['key'])
