"""Unit tests for s3transfer.directory: decisions, planning, the aggregate future."""

import os
from concurrent.futures import CancelledError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3transfer.directory import (
    CONTINUE,
    EXCLUDE,
    INCLUDE,
    STOP,
    DirectoryTransferFuture,
    FileCopy,
    FileDownload,
    FileUpload,
    Plan,
    Refused,
    _walk_files,
    is_exact_key,
    is_folder_marker,
    is_selected,
    is_within,
    key_for,
    local_path_for,
    normalize_prefix,
    plan_copy,
    plan_download,
    plan_upload,
    relative_key,
    relative_path,
    submit_plan,
    unsafe_key_reason,
    validate_filters,
)
from s3transfer.futures import TransferCoordinator, TransferFuture, TransferMeta
from s3transfer.subscribers import BaseSubscriber
from s3transfer.utils import CallArgs
from tests.helpers import write_tree

# -- Pure decisions ---------------------------------------------------------------


@pytest.mark.parametrize(
    'prefix, expected',
    [('', ''), ('a', 'a/'), ('a/', 'a/'), ('a/b', 'a/b/')],
)
def test_normalize_prefix(prefix, expected):
    assert normalize_prefix(prefix) == expected


def test_key_for_joins_under_the_prefix_folder():
    assert key_for('x/y.txt', 'photos') == 'photos/x/y.txt'
    assert key_for('x/y.txt', 'photos/') == 'photos/x/y.txt'
    assert key_for('y.txt', '') == 'y.txt'


def test_relative_key_strips_the_prefix_folder():
    assert relative_key('photos/x/y.txt', 'photos') == 'x/y.txt'
    assert relative_key('photos/x/y.txt', '') == 'photos/x/y.txt'
    with pytest.raises(ValueError, match='not under prefix'):
        relative_key('photosx/y', 'photos')


def test_relative_path_uses_forward_slashes(tmp_path):
    path = os.path.join(str(tmp_path), 'a', 'b', 'c.txt')
    assert relative_path(path, str(tmp_path)) == 'a/b/c.txt'


@pytest.mark.parametrize(
    'name, filters, expected',
    [
        ('a.txt', [], True),
        ('a.txt', [(EXCLUDE, '*.txt')], False),
        ('a.log', [(EXCLUDE, '*.txt')], True),
        ('a.txt', [(EXCLUDE, '*'), (INCLUDE, '*.txt')], True),
        ('a.log', [(EXCLUDE, '*'), (INCLUDE, '*.txt')], False),
        ('a.txt', [(INCLUDE, '*.txt'), (EXCLUDE, '*')], False),
        ('dir/sub/a.txt', [(EXCLUDE, 'dir/*')], False),
        ('other/a.txt', [(EXCLUDE, 'dir/*')], True),
        ('A.TXT', [(EXCLUDE, '*.txt')], True),
    ],
)
def test_is_selected_last_matching_filter_wins(name, filters, expected):
    assert is_selected(name, filters) is expected


def test_validate_filters_rejects_unknown_kinds():
    validate_filters([(INCLUDE, '*'), (EXCLUDE, '*')])
    with pytest.raises(ValueError, match='include or exclude'):
        validate_filters([('only', '*')])


@pytest.mark.parametrize(
    'relative, expected', [('', True), ('a/', True), ('a', False), ('a/b', False)]
)
def test_is_folder_marker(relative, expected):
    assert is_folder_marker(relative) is expected


@pytest.mark.parametrize(
    'relative, reason',
    [
        ('a/../../x', 'parent-folder'),
        ('../x', 'parent-folder'),
        ('..', 'parent-folder'),
        ('a/..', 'parent-folder'),
        ('a\\..\\..\\x', 'parent-folder'),
        ('/etc/x', 'absolute'),
        ('\\etc\\x', 'absolute'),
        ('a\x00b', 'NUL'),
    ],
)
def test_unsafe_key_reason_refuses_escapes(relative, reason):
    assert reason in unsafe_key_reason(relative)


@pytest.mark.parametrize(
    'relative', ['a', 'a/b/c.txt', '..a', 'a..b', 'a/.../b', 'x y/ü.txt', './a']
)
def test_unsafe_key_reason_accepts_ordinary_names(relative):
    assert unsafe_key_reason(relative) is None


def test_local_path_for_drops_empty_and_dot_parts():
    expected = os.path.join('root', 'a', 'b', 'c')
    assert local_path_for('root', 'a//b/./c') == expected


@given(st.text(alphabet='ab./\\\x00', max_size=12))
def test_safe_keys_stay_inside_the_root(relative):
    root = os.path.join(os.sep, 'dest')
    if unsafe_key_reason(relative) is None:
        path = os.path.normpath(local_path_for(root, relative))
        assert os.path.commonpath([root, path]) == root


def test_is_within_follows_symlinks(tmp_path):
    root = tmp_path / 'dest'
    outside = tmp_path / 'outside'
    root.mkdir()
    outside.mkdir()
    (root / 'link').symlink_to(outside)
    assert is_within(str(root), str(root / 'a' / 'b'))
    assert not is_within(str(root), str(root / 'link' / 'x'))
    assert not is_within(str(root), str(root))
    assert not is_within(str(root), str(tmp_path / 'dest2' / 'x'))


# -- Planning ---------------------------------------------------------------------


def test_plan_upload_maps_paths_to_keys_with_sizes(tmp_path):
    write_tree(tmp_path, {'a.txt': b'12', 'sub/b.log': b'', 'sub/deep/c y.txt': b'xyz'})
    plan = plan_upload(str(tmp_path), 'bkt', 'pre')
    assert plan.refused == ()
    assert plan.items == (
        FileUpload(str(tmp_path / 'a.txt'), 'bkt', 'pre/a.txt', 2),
        FileUpload(str(tmp_path / 'sub' / 'b.log'), 'bkt', 'pre/sub/b.log', 0),
        FileUpload(
            str(tmp_path / 'sub' / 'deep' / 'c y.txt'), 'bkt', 'pre/sub/deep/c y.txt', 3
        ),
    )


def test_plan_upload_applies_filters(tmp_path):
    write_tree(tmp_path, {'a.txt': b'1', 'b.log': b'2', 'sub/c.txt': b'3'})
    plan = plan_upload(str(tmp_path), 'bkt', '', [(EXCLUDE, 'sub/*')])
    assert [item.key for item in plan.items] == ['a.txt', 'b.log']
    plan = plan_upload(str(tmp_path), 'bkt', '', [(EXCLUDE, '*'), (INCLUDE, '*.txt')])
    assert [item.key for item in plan.items] == ['a.txt', 'sub/c.txt']


def test_plan_upload_refuses_special_files(tmp_path):
    write_tree(tmp_path, {'a.txt': b'1'})
    os.mkfifo(tmp_path / 'pipe')
    plan = plan_upload(str(tmp_path), 'bkt')
    assert [item.key for item in plan.items] == ['a.txt']
    assert plan.refused == (Refused(str(tmp_path / 'pipe'), 'is not a regular file'),)


def test_plan_upload_needs_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError):
        plan_upload(str(tmp_path / 'missing'), 'bkt')


class _ListingClient:
    """Answers list_objects_v2 pagination from a fixed list of keys."""

    def __init__(self, objects):
        self.objects = objects
        self.calls = []

    def get_paginator(self, name):
        assert name == 'list_objects_v2'
        return self

    def paginate(self, Bucket, Prefix):
        self.calls.append((Bucket, Prefix))
        contents = [
            {'Key': key, 'Size': size, 'ETag': f'"{key}"'}
            for key, size in self.objects
            if key.startswith(Prefix)
        ]
        return [{'Contents': contents[:2]}, {'Contents': contents[2:]}, {}]


def test_plan_download_maps_keys_and_refuses_escapes(tmp_path):
    client = _ListingClient(
        [
            ('pre/', 0),
            ('pre/a.txt', 1),
            ('pre/sub/', 0),
            ('pre/sub/b.txt', 2),
            ('pre/a/../../x', 3),
            ('pre//etc/x', 4),
            ('prefix-other', 5),
        ]
    )
    dest = str(tmp_path / 'dest')
    plan = plan_download(client, 'bkt', 'pre', dest)
    assert client.calls == [('bkt', 'pre/')]
    assert plan.items == (
        FileDownload('bkt', 'pre/a.txt', os.path.join(dest, 'a.txt'), 1, '"pre/a.txt"'),
        FileDownload(
            'bkt',
            'pre/sub/b.txt',
            os.path.join(dest, 'sub', 'b.txt'),
            2,
            '"pre/sub/b.txt"',
        ),
    )
    assert [refused.source for refused in plan.refused] == [
        's3://bkt/pre/a/../../x',
        's3://bkt/pre//etc/x',
    ]
    assert 'parent-folder' in plan.refused[0].reason
    assert 'absolute' in plan.refused[1].reason


def test_plan_download_refuses_keys_through_symlinks(tmp_path):
    dest = tmp_path / 'dest'
    dest.mkdir()
    (dest / 'link').symlink_to(tmp_path)
    client = _ListingClient([('link/x', 1), ('ok', 1)])
    plan = plan_download(client, 'bkt', '', str(dest))
    assert [item.key for item in plan.items] == ['ok']
    assert plan.refused == (
        Refused('s3://bkt/link/x', 'resolves outside the destination folder'),
    )


def test_plan_download_exact_key_wins_a_shared_file(tmp_path):
    """Issue 21 point 8: never the other key's bytes under this name."""
    client = _ListingClient([('a//b', 1), ('a/b', 2), ('a/./c', 3)])
    plan = plan_download(client, 'bkt', '', str(tmp_path))
    assert [item.key for item in plan.items] == ['a/b', 'a/./c']
    assert plan.refused == (
        Refused(
            's3://bkt/a//b',
            "maps to the same file as 'a/b', the exact name",
        ),
    )


def test_plan_download_refuses_both_when_neither_key_is_exact(tmp_path):
    client = _ListingClient([('a//b', 1), ('a/./b', 2)])
    plan = plan_download(client, 'bkt', '', str(tmp_path))
    assert plan.items == ()
    assert [refused.source for refused in plan.refused] == [
        's3://bkt/a//b',
        's3://bkt/a/./b',
    ]


def test_is_exact_key():
    assert is_exact_key('a/b')
    assert not is_exact_key('a//b')
    assert not is_exact_key('a/./b')
    assert not is_exact_key('/a')


def test_walk_is_iterative_and_reports_unlistable_folders(tmp_path, monkeypatch):
    """Issue 21 points 2 and 9 (no recursion; failures listed, not skipped)."""
    write_tree(tmp_path, {'a/b/c/d/e/f': b'', 'x/y': b''})
    real = os.scandir

    def scandir(path):
        if os.path.basename(path) == 'x':
            raise PermissionError(13, 'Permission denied', path)
        return real(path)

    monkeypatch.setattr(os, 'scandir', scandir)
    walked = list(_walk_files(str(tmp_path)))
    found = [entry for entry in walked if isinstance(entry, str)]
    refused = [entry for entry in walked if isinstance(entry, Refused)]
    assert found == [str(tmp_path / 'a/b/c/d/e/f')]
    assert refused == [
        Refused(str(tmp_path / 'x'), 'cannot be listed: Permission denied')
    ]


def test_plan_download_applies_filters(tmp_path):
    client = _ListingClient([('a.txt', 1), ('b.log', 1), ('c/d.txt', 1)])
    plan = plan_download(client, 'bkt', '', str(tmp_path), [(EXCLUDE, '*.log')])
    assert [item.key for item in plan.items] == ['a.txt', 'c/d.txt']


def test_plan_copy_maps_prefix_to_prefix():
    client = _ListingClient([('src/a', 1), ('src/b/c', 2), ('src/b/', 0)])
    plan = plan_copy(client, 'one', 'src', 'two', 'dst/', [(EXCLUDE, 'a')])
    assert plan.items == (FileCopy('one', 'src/b/c', 'two', 'dst/b/c', 2),)


def test_file_transfer_descriptions():
    assert FileUpload('p', 'b', 'k', 1).source == 'p'
    assert FileUpload('p', 'b', 'k', 1).destination == 's3://b/k'
    assert FileDownload('b', 'k', 'p', 1).source == 's3://b/k'
    assert FileDownload('b', 'k', 'p', 1).destination == 'p'
    assert FileCopy('b', 'k', 'b2', 'k2', 1).source == 's3://b/k'
    assert FileCopy('b', 'k', 'b2', 'k2', 1).destination == 's3://b2/k2'


# -- Running (a fake manager; no client) ------------------------------------------


class _FakeManager:
    """Records submissions; the test finishes each transfer when it wants."""

    def __init__(self, client=None, immediate=None):
        self.client = client
        self.calls = []
        self.pending = {}
        self._immediate = immediate  # key -> error (None = success), run at submit
        self.extra_args = {}  # key -> extra_args of its call

    def upload(self, fileobj, bucket, key, extra_args=None, subscribers=None):
        self.calls.append(('upload', fileobj, bucket, key))
        self.extra_args[key] = extra_args
        return self._start(key, CallArgs(fileobj=fileobj, subscribers=subscribers))

    def download(self, bucket, key, fileobj, extra_args=None, subscribers=None):
        self.calls.append(('download', bucket, key, fileobj))
        self.extra_args[key] = extra_args
        return self._start(key, CallArgs(fileobj=fileobj, subscribers=subscribers))

    def copy(self, copy_source, bucket, key, extra_args=None, subscribers=None):
        self.calls.append(('copy', copy_source, bucket, key))
        self.extra_args[key] = extra_args
        return self._start(key, CallArgs(subscribers=subscribers))

    def _start(self, key, call_args):
        coordinator = TransferCoordinator()
        future = TransferFuture(TransferMeta(call_args), coordinator)
        for subscriber in call_args.subscribers:
            coordinator.add_done_callback(subscriber.on_done, future=future)
        self.pending[key] = future
        if self._immediate is not None and key in self._immediate:
            self.finish(key, self._immediate[key])
        return future

    def finish(self, key, error=None, progress=0):
        future = self.pending[key]
        for subscriber in future.meta.call_args.subscribers:
            if hasattr(subscriber, 'on_queued'):
                subscriber.on_queued(future=future)
            if progress:
                subscriber.on_progress(future=future, bytes_transferred=progress)
        coordinator = future._coordinator
        if error is None:
            coordinator.set_result(None)
        else:
            coordinator.set_exception(error)
        coordinator.announce_done()


def _uploads(*keys):
    return Plan(tuple(FileUpload(f'/src/{key}', 'bkt', key, 10) for key in keys))


def test_all_files_succeed_and_progress_covers_the_set():
    manager = _FakeManager()
    future = submit_plan(manager, _uploads('a', 'b'))
    assert not future.done()
    assert not future.wait(0.01)
    manager.finish('a', progress=10)
    assert not future.done()
    manager.finish('b', progress=10)
    assert future.wait(1)
    result = future.result()
    assert result.ok
    assert [item.key for item in result.succeeded] == ['a', 'b']
    progress = future.progress()
    assert (progress.bytes_done, progress.bytes_total) == (20, 20)
    assert (progress.files_done, progress.files_total) == (2, 2)
    assert set(future.futures) == set(_uploads('a', 'b').items)


def test_continue_policy_reports_every_failure_and_finishes_the_rest():
    manager = _FakeManager()
    future = submit_plan(manager, _uploads('a', 'b', 'c'), CONTINUE)
    manager.finish('a', RuntimeError('disk on fire'))
    manager.finish('b')
    manager.finish('c', OSError('nope\nmore'))
    result = future.result()
    assert not result.ok
    assert [item.key for item in result.succeeded] == ['b']
    assert [(f.item.key, f.message) for f in result.failed] == [
        ('a', 'disk on fire'),
        ('c', 'nope more'),
    ]
    assert future.progress().files_failed == 2


def test_stop_policy_cancels_in_flight_files():
    manager = _FakeManager()
    future = submit_plan(manager, _uploads('a', 'b', 'c'), STOP)
    manager.finish('b', RuntimeError('boom'))
    assert future.wait(1)
    result = future.result()
    assert [f.item.key for f in result.failed] == ['b']
    assert [item.key for item in result.cancelled] == ['a', 'c']
    with pytest.raises(CancelledError):
        manager.pending['a'].result()


def test_stop_policy_submits_nothing_after_a_failure():
    manager = _FakeManager(immediate={'a': None, 'b': RuntimeError('boom')})
    future = submit_plan(manager, _uploads('a', 'b', 'c', 'd'), STOP)
    assert [call[3] for call in manager.calls] == ['a', 'b']
    result = future.result()
    assert [item.key for item in result.succeeded] == ['a']
    assert [f.item.key for f in result.failed] == ['b']
    assert [item.key for item in result.cancelled] == ['c', 'd']


def test_a_file_that_cannot_be_submitted_fails_alone(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_bytes(b'')
    plan = Plan(
        (
            FileDownload('bkt', 'x/y', str(blocker / 'y'), 1),
            FileDownload('bkt', 'z', str(tmp_path / 'z'), 1),
        )
    )
    manager = _FakeManager(immediate={'z': None})
    result = submit_plan(manager, plan).result()
    assert [item.key for item in result.succeeded] == ['z']
    assert [f.item.key for f in result.failed] == ['x/y']
    assert isinstance(result.failed[0].error, OSError)


def test_download_creates_folders_and_provides_the_listed_size(tmp_path):
    target = tmp_path / 'a' / 'b' / 'c.txt'
    manager = _FakeManager()
    submit_plan(manager, Plan((FileDownload('bkt', 'k', str(target), 7, '"e"'),)))
    assert target.parent.is_dir()
    manager.finish('k')
    meta = manager.pending['k'].meta
    assert (meta.size, meta.etag) == (7, '"e"')


def test_copy_submits_a_copy_source():
    manager = _FakeManager(immediate={'k2': None})
    plan = Plan((FileCopy('b1', 'k1', 'b2', 'k2', 3),))
    assert submit_plan(manager, plan).result().ok
    assert manager.calls == [('copy', {'Bucket': 'b1', 'Key': 'k1'}, 'b2', 'k2')]


def test_cancel_cancels_every_unfinished_file():
    manager = _FakeManager()
    future = submit_plan(manager, _uploads('a', 'b'))
    manager.finish('a')
    future.cancel()
    result = future.result()
    assert [item.key for item in result.succeeded] == ['a']
    assert [item.key for item in result.cancelled] == ['b']
    assert not result.ok


def test_refused_entries_make_the_result_not_ok():
    plan = Plan((), (Refused('s3://b/../x', 'contains a parent-folder (..)'),))
    result = submit_plan(_FakeManager(), plan).result()
    assert result.refused == list(plan.refused)
    assert not result.ok


def test_empty_plan_is_done_at_once():
    future = submit_plan(_FakeManager(), Plan(()))
    assert future.done()
    assert future.result().ok


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match='policy'):
        DirectoryTransferFuture(Plan(()), 'sometimes')


def test_the_set_is_done_only_after_every_subscriber_saw_its_file():
    seen = []

    class Spy(BaseSubscriber):
        def on_done(self, future, **kwargs):
            seen.append((aggregate.done(), aggregate.progress().files_done))

    manager = _FakeManager()
    aggregate = submit_plan(manager, _uploads('a'), subscribers=[Spy()])
    manager.finish('a')
    assert seen == [(False, 1)]
    assert aggregate.done()


def test_on_file_done_reports_each_file_as_it_finishes():
    manager = _FakeManager()
    seen = []
    future = submit_plan(
        manager,
        _uploads('a', 'b'),
        on_file_done=lambda item, error: seen.append((item.key, error)),
    )
    boom = RuntimeError('boom')
    manager.finish('b', boom)
    assert seen == [('b', boom)]
    manager.finish('a')
    assert seen == [('b', boom), ('a', None)]
    assert future.wait(1)


def test_failed_files_count_their_bytes_as_failed_not_done():
    manager = _FakeManager()
    future = submit_plan(manager, _uploads('a', 'b', 'c'))
    manager.finish('a', RuntimeError('x'), progress=6)
    manager.finish('b', progress=10)
    manager.finish('c', RuntimeError('y'))
    progress = future.progress()
    assert (progress.bytes_done, progress.bytes_failed) == (10, 20)
    assert (progress.files_done, progress.files_failed) == (3, 2)


def test_extra_args_go_with_every_planned_file(tmp_path):
    write_tree(tmp_path, {'a.txt': b'1', 'd/b.txt': b'2'})
    extra = {'StorageClass': 'STANDARD_IA'}
    plan = plan_upload(str(tmp_path), 'bkt', 'p', extra_args=extra)
    assert [item.extra_args for item in plan.items] == [extra, extra]
    manager = _FakeManager()
    submit_plan(manager, plan)
    assert manager.extra_args == {'p/a.txt': extra, 'p/d/b.txt': extra}
    # No extra_args: the calls carry none (exactly the faithful upload call).
    manager = _FakeManager()
    submit_plan(manager, plan_upload(str(tmp_path), 'bkt', 'p'))
    assert manager.extra_args == {'p/a.txt': None, 'p/d/b.txt': None}


def test_copy_and_download_plans_carry_extra_args(tmp_path):
    client = _ListingClient([('src/k', 3)])
    extra = {'RequestPayer': 'requester'}
    copy = plan_copy(client, 'bkt', 'src', 'dst-bkt', 'dst', extra_args=extra)
    assert copy.items[0].extra_args == extra
    down = plan_download(client, 'bkt', 'src', str(tmp_path), extra_args=extra)
    assert down.items[0].extra_args == extra
