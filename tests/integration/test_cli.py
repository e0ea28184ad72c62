"""The ``s3transfer`` command line, run as a subprocess against the local S3 server."""

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import write_tree

CONTROL = re.compile(r'[\x00-\x09\x0b-\x1f\x7f]')  # everything but '\n'
BIG = 20 * 1024**2
SLOW = ['--max-bandwidth', '1MiB']


def _cli(*args):
    return [sys.executable, '-m', 's3transfer', *args]


def _run(endpoint, *args, timeout=60):
    command = _cli(*args, '--endpoint-url', endpoint)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _read_tree(root):
    found = {}
    for path in Path(root).rglob('*'):
        if path.is_file():
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def _keys(client, bucket, prefix=''):
    paginator = client.get_paginator('list_objects_v2')
    pages = paginator.paginate(Bucket=bucket, Prefix=prefix)
    return {e['Key']: e['Size'] for page in pages for e in page.get('Contents', [])}


@pytest.fixture(scope='module')
def tree(tmp_path_factory):
    """200 files: nested folders, an empty file, a 20 MiB file, odd names."""
    rng = random.Random(1234)
    files = {'empty.txt': b'', 'big/twenty.bin': rng.randbytes(BIG)}
    names = ['plain', 'with space', 'naïve ü', '日本語', 'x-y_z']
    while len(files) < 200:
        index = len(files)
        folders = '/'.join(rng.choice(names) for _ in range(rng.randint(0, 3)))
        name = f'{rng.choice(names)} {index}.{rng.choice(["txt", "bin", "log"])}'
        files[f'{folders}/{name}'.lstrip('/')] = rng.randbytes(rng.randint(1, 3000))
    root = tmp_path_factory.mktemp('tree')
    write_tree(root, files)
    return root, files


def test_cp_recursive_round_trips_200_files(
    tree, s3_endpoint, s3_client, bucket, tmp_path
):
    root, files = tree
    up = _run(s3_endpoint, 'cp', '--recursive', str(root), f's3://{bucket}/up/')
    assert up.returncode == 0, up.stderr
    assert '200 transferred' in up.stdout
    assert _keys(s3_client, bucket) == {f'up/{n}': len(d) for n, d in files.items()}

    dest = tmp_path / 'down'
    down = _run(s3_endpoint, 'cp', '--recursive', f's3://{bucket}/up', str(dest))
    assert down.returncode == 0, down.stderr
    assert _read_tree(dest) == files


def test_cp_recursive_s3_to_s3_copies_every_key(s3_endpoint, s3_client, bucket):
    for index in range(5):
        s3_client.put_object(Bucket=bucket, Key=f'src/d{index}/f', Body=b'x' * index)
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/src', f's3://{bucket}/dst'
    )
    assert done.returncode == 0, done.stderr
    assert _keys(s3_client, bucket, 'dst/') == {f'dst/d{i}/f': i for i in range(5)}


def test_cp_single_file_in_all_three_directions(s3_endpoint, bucket, tmp_path):
    data = random.Random(7).randbytes(300_000)
    source = tmp_path / 'ü file.bin'
    source.write_bytes(data)
    steps = [
        (str(source), f's3://{bucket}/in/'),
        (f's3://{bucket}/in/ü file.bin', f's3://{bucket}/copied.bin'),
        (f's3://{bucket}/copied.bin', str(tmp_path / 'out') + os.sep),
    ]
    (tmp_path / 'out').mkdir()
    for src, dst in steps:
        done = _run(s3_endpoint, 'cp', src, dst, '--quiet')
        assert done.returncode == 0, done.stderr
        assert (done.stdout, done.stderr) == ('', '')
    assert (tmp_path / 'out' / 'copied.bin').read_bytes() == data


def test_include_exclude_select_exactly_the_expected_files(
    s3_endpoint, s3_client, bucket, tmp_path
):
    files = {
        'a.txt': b'1',
        'b.log': b'2',
        'keep/c.txt': b'3',
        'skip/d.txt': b'4',
        'skip/e.log': b'5',
    }
    write_tree(tmp_path / 'src', files)
    filters = ['--exclude', '*', '--include', '*.txt', '--exclude', 'skip/*']
    source = str(tmp_path / 'src')
    up = _run(s3_endpoint, 'cp', '--recursive', source, f's3://{bucket}/', *filters)
    assert up.returncode == 0, up.stderr
    assert set(_keys(s3_client, bucket)) == {'a.txt', 'keep/c.txt'}

    for name, data in files.items():
        s3_client.put_object(Bucket=bucket, Key=f'all/{name}', Body=data)
    dest = tmp_path / 'dest'
    down = _run(
        s3_endpoint,
        'cp',
        '--recursive',
        f's3://{bucket}/all/',
        str(dest),
        '--exclude',
        '*.log',
        '--exclude',
        'keep/*',
    )
    assert down.returncode == 0, down.stderr
    assert _read_tree(dest) == {'a.txt': b'1', 'skip/d.txt': b'4'}


def test_escaping_keys_are_refused_and_listed(s3_endpoint, s3_client, bucket, tmp_path):
    evil = ['p/a/../../x', 'p//etc/x', 'p/../x', 'p/..']
    for key in [*evil, 'p/ok.txt']:
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'payload')
    dest = tmp_path / 'dest'
    done = _run(s3_endpoint, 'cp', '--recursive', f's3://{bucket}/p', str(dest))
    assert done.returncode == 1
    for key in evil:
        assert f'refused: s3://{bucket}/{key}: ' in done.stderr
    assert '1 transferred' in done.stdout and '4 refused' in done.stdout
    assert os.listdir(tmp_path) == ['dest']
    assert _read_tree(dest) == {'ok.txt': b'payload'}


def test_one_failing_file_fails_the_run_but_not_the_others(
    s3_endpoint, s3_client, bucket, tmp_path
):
    for name in ('a.txt', 'b.txt', 'c.txt'):
        s3_client.put_object(Bucket=bucket, Key=f'p/{name}', Body=name.encode())
    dest = tmp_path / 'dest'
    (dest / 'b.txt').mkdir(parents=True)  # a folder where a file must go
    done = _run(s3_endpoint, 'cp', '--recursive', f's3://{bucket}/p', str(dest))
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if 'failed' in line]
    assert len(failures) == 1
    assert failures[0].startswith(
        f'download failed: s3://{bucket}/p/b.txt to {dest / "b.txt"}: '
    )
    assert re.search('folder|directory', failures[0])  # the cause, in words
    lines = sorted(x for x in done.stdout.splitlines() if x.startswith('download:'))
    assert lines == [
        f'download: s3://{bucket}/p/a.txt to {dest / "a.txt"}',
        f'download: s3://{bucket}/p/c.txt to {dest / "c.txt"}',
    ]
    assert (dest / 'a.txt').read_bytes() == b'a.txt'
    assert (dest / 'c.txt').read_bytes() == b'c.txt'


def test_non_terminal_progress_is_plain_lines(s3_endpoint, bucket, tmp_path):
    source = tmp_path / 'two.bin'
    source.write_bytes(os.urandom(2 * 1024**2))
    done = _run(s3_endpoint, 'cp', str(source), f's3://{bucket}/', *SLOW)
    assert done.returncode == 0, done.stderr
    assert not CONTROL.search(done.stdout + done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith('progress:')]
    assert len(lines) >= 2
    assert '(100%)' in lines[-1] and 'files 1/1' in lines[-1]
    assert '(100%)' not in lines[0]


def _start(endpoint, *args):
    command = _cli(*args, '--endpoint-url', endpoint)
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _interrupt(process):
    """Send SIGINT; return (seconds until exit, exit code)."""
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    returncode = process.wait(timeout=10)
    return time.monotonic() - sent, returncode


def _wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_during_upload_aborts_multipart_uploads(
    s3_endpoint, s3_client, bucket, tmp_path
):
    files = {f'd{i % 3}/f{i}.bin': os.urandom(6 * 1024**2) for i in range(6)}
    write_tree(tmp_path / 'src', files)
    process = _start(
        s3_endpoint,
        'cp',
        '--recursive',
        str(tmp_path / 'src'),
        f's3://{bucket}/up/',
        '--multipart-threshold',
        '5MiB',
        '--max-bandwidth',
        '4MiB',
        '--max-concurrency',
        '4',
        '--no-resume',  # journals on (the default) keep the uploads to resume
    )
    try:
        uploads = lambda: s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads')
        assert _wait_until(uploads), 'no multipart upload started'
        elapsed, returncode = _interrupt(process)
    finally:
        process.kill()
        stdout, stderr = process.communicate()
    assert returncode == 130, stderr
    assert elapsed < 2.0
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []
    assert _read_tree(tmp_path / 'src') == files


def test_ctrl_c_during_download_leaves_no_temp_files(
    s3_endpoint, s3_client, bucket, tmp_path
):
    objects = {f'p/d{i % 4}/f{i}.bin': os.urandom(256 * 1024) for i in range(40)}
    for key, data in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    dest = tmp_path / 'dest'
    # Few threads: a throttled stream sleeps out its whole scheduled wait first.
    process = _start(
        s3_endpoint,
        'cp',
        '--recursive',
        f's3://{bucket}/p',
        str(dest),
        *SLOW,
        '--max-concurrency',
        '2',
    )
    try:
        assert _wait_until(lambda: dest.exists() and any(dest.rglob('*.bin')))
        elapsed, returncode = _interrupt(process)
    finally:
        process.kill()
        stdout, stderr = process.communicate()
    assert returncode == 130, stderr
    assert elapsed < 2.0
    written = _read_tree(dest)
    assert 0 < len(written) < len(objects)
    for name, data in written.items():
        assert objects[f'p/{name}'] == data  # whole files only, no temp files


def _console_script():
    script = Path(sys.executable).with_name('s3transfer')
    assert script.exists(), 'install the package (pip install -e .) for the script'
    return str(script)


def test_readme_bench_local_runs_on_a_fresh_setup(tmp_path):
    """`s3transfer bench --local` needs no account, no config and no network."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith('AWS_')
    }
    env['HOME'] = str(tmp_path)
    env['AWS_PROFILE'] = 'no-such-profile'  # even a broken profile is ignored
    env['TMPDIR'] = str(tmp_path / 'tmp')
    (tmp_path / 'tmp').mkdir()
    command = [_console_script(), 'bench', '--local', '--size', '3MiB', '--files', '3']
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ['upload', 'download', 'copy']
    for line in lines:
        assert '3.0 MiB in 3 file(s)' in line
        assert re.search(r'[\d.]+ MiB/s +[\d.]+ CPU s/GiB$', line), line
    assert os.listdir(tmp_path / 'tmp') == []  # bench removed its temporary files


def test_bench_removes_only_its_own_objects(s3_endpoint, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key='s3transfer-bench/mine', Body=b'keep')
    done = _run(s3_endpoint, 'bench', '--bucket', bucket, '--size', '200KB', '--quiet')
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert _keys(s3_client, bucket) == {'s3transfer-bench/mine': 4}


def test_bench_without_a_bucket_is_a_usage_error(s3_endpoint):
    done = _run(s3_endpoint, 'bench', '--size', '1KB')
    assert done.returncode == 2
    assert 'bench needs --bucket' in done.stderr
