"""Directory transfers through a real TransferManager against the local S3 server."""

import os

import pytest

from s3transfer.directory import (
    EXCLUDE,
    INCLUDE,
    STOP,
    copy_directory,
    download_directory,
    list_objects,
    upload_directory,
)
from s3transfer.manager import TransferConfig, TransferManager
from tests.helpers import write_tree

FILES = {
    'top.txt': b'top level\n',
    'empty.bin': b'',
    'a/b/c/deep.bin': bytes(range(256)) * 40,
    'with space/naïve ü.txt': 'non-ASCII ✓\n'.encode(),
    'a/skip.log': b'log line\n',
}


def _read_tree(root):
    found = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            relative = os.path.relpath(path, root).replace(os.sep, '/')
            with open(path, 'rb') as handle:
                found[relative] = handle.read()
    return found


@pytest.fixture
def manager(s3_client):
    config = TransferConfig(multipart_threshold=5 * 1024**2)
    with TransferManager(s3_client, config) as manager:
        yield manager


def test_upload_then_download_round_trips(manager, bucket, tmp_path):
    source = tmp_path / 'source'
    write_tree(source, FILES)
    uploaded = upload_directory(manager, str(source), bucket, 'set').result()
    assert uploaded.ok
    assert len(uploaded.succeeded) == len(FILES)
    keys = {entry['Key'] for entry in list_objects(manager.client, bucket, '')}
    assert keys == {f'set/{name}' for name in FILES}

    future = download_directory(manager, bucket, 'set', str(tmp_path / 'dest'))
    assert future.result().ok
    assert _read_tree(tmp_path / 'dest') == FILES
    progress = future.progress()
    assert progress.bytes_done == progress.bytes_total == sum(map(len, FILES.values()))
    assert progress.files_done == progress.files_total == len(FILES)
    assert all(f.done() for f in future.futures.values())


def test_copy_directory_copies_the_selected_keys(manager, bucket, tmp_path):
    source = tmp_path / 'source'
    write_tree(source, FILES)
    assert upload_directory(manager, str(source), bucket, 'src').result().ok
    filters = [(EXCLUDE, '*.log')]
    result = copy_directory(manager, bucket, 'src', bucket, 'dst/', filters).result()
    assert result.ok
    copied = {e['Key']: e['Size'] for e in list_objects(manager.client, bucket, 'dst')}
    expected = {f'dst/{n}': len(d) for n, d in FILES.items() if not n.endswith('.log')}
    assert copied == expected


def test_filters_select_exactly_the_matching_files(manager, bucket, tmp_path):
    source = tmp_path / 'source'
    write_tree(source, FILES)
    only_text = [(EXCLUDE, '*'), (INCLUDE, '*.txt')]
    assert upload_directory(manager, str(source), bucket, '', only_text).result().ok
    keys = sorted(e['Key'] for e in list_objects(manager.client, bucket, ''))
    assert keys == ['top.txt', 'with space/naïve ü.txt']
    dest = tmp_path / 'dest'
    result = download_directory(manager, bucket, '', str(dest), [(EXCLUDE, 'with*')])
    assert result.result().ok
    assert _read_tree(dest) == {'top.txt': FILES['top.txt']}


def test_keys_escaping_the_destination_are_refused(
    manager, s3_client, bucket, tmp_path
):
    dest = tmp_path / 'dest'
    outside = tmp_path / 'outside'
    dest.mkdir()
    outside.mkdir()
    (dest / 'link').symlink_to(outside)
    evil = ['p/a/../../x', 'p//etc/passwd-copy', 'p/../x', 'p/..', 'p/link/y']
    for key in [*evil, 'p/ok.txt']:
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'payload')

    result = download_directory(manager, bucket, 'p', str(dest)).result()
    assert sorted(r.source for r in result.refused) == sorted(
        f's3://{bucket}/{key}' for key in evil
    )
    assert [item.key for item in result.succeeded] == ['p/ok.txt']
    assert not result.ok
    assert sorted(os.listdir(tmp_path)) == ['dest', 'outside']
    assert os.listdir(outside) == []
    assert _read_tree(dest) == {'ok.txt': b'payload'}


def test_continue_policy_finishes_the_others_and_names_the_failure(
    manager, s3_client, bucket, tmp_path
):
    for name in ('a.txt', 'b.txt', 'c.txt'):
        s3_client.put_object(Bucket=bucket, Key=f'p/{name}', Body=name.encode())
    dest = tmp_path / 'dest'
    (dest / 'b.txt').mkdir(parents=True)  # a folder where a file must go

    result = download_directory(manager, bucket, 'p', str(dest)).result()
    assert [f.item.key for f in result.failed] == ['p/b.txt']
    assert sorted(item.key for item in result.succeeded) == ['p/a.txt', 'p/c.txt']
    assert (dest / 'a.txt').read_bytes() == b'a.txt'
    assert (dest / 'c.txt').read_bytes() == b'c.txt'
    assert os.listdir(dest / 'b.txt') == []


def test_stop_policy_reports_the_failure_and_accounts_for_every_file(
    manager, s3_client, bucket, tmp_path
):
    names = [f'{index:02d}.txt' for index in range(6)]
    for name in names:
        s3_client.put_object(Bucket=bucket, Key=f'p/{name}', Body=b'x')
    dest = tmp_path / 'dest'
    (dest / names[0]).mkdir(parents=True)

    result = download_directory(manager, bucket, 'p', str(dest), policy=STOP).result()
    assert [f.item.key for f in result.failed] == [f'p/{names[0]}']
    outcomes = result.succeeded + [f.item for f in result.failed] + result.cancelled
    assert sorted(item.key for item in outcomes) == [f'p/{n}' for n in names]
    assert not result.ok
