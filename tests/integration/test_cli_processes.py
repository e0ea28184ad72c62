"""``--processes N``: a many-file job split across forked workers (local S3 server)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import write_tree

pytestmark = pytest.mark.skipif(not hasattr(os, 'fork'), reason='workers are forked')


def _command(endpoint, *args):
    return [sys.executable, '-m', 's3transfer', *args, '--endpoint-url', endpoint]


def _run(endpoint, *args):
    command = _command(endpoint, *args)
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _read_tree(root):
    found = {}
    for path in Path(root).rglob('*'):
        if path.is_file():
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def _files(count, size=100):
    return {f'd{i % 3}/f{i:02d}.bin': os.urandom(size + i) for i in range(count)}


def test_upload_and_download_split_across_workers(
    s3_endpoint, s3_client, bucket, tmp_path
):
    files = _files(30)
    write_tree(tmp_path / 'src', files)
    up = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'src'), f's3://{bucket}/up/',
        '--processes', '3', '--no-progress',
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    lines = [line for line in up.stdout.splitlines() if line.startswith('upload: ')]
    assert sorted(lines) == sorted(
        f'upload: {tmp_path / "src" / name} to s3://{bucket}/up/{name}'
        for name in files
    )
    assert up.stdout.splitlines()[-1].startswith('30 transferred (')
    assert up.stdout.splitlines()[-1].endswith(', 0 failed, 0 refused')

    down = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/up', str(tmp_path / 'down'),
        '--processes', '3', '--no-progress',
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert _read_tree(tmp_path / 'down') == files
    assert (
        len([x for x in down.stdout.splitlines() if x.startswith('download: ')]) == 30
    )


def test_json_events_and_summary_add_up(s3_endpoint, s3_client, bucket, tmp_path):
    files = _files(12)
    write_tree(tmp_path / 'src', files)
    done = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'src'), f's3://{bucket}/j/',
        '--processes', '2', '--output', 'json',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(e['destination'] for e in events if e['event'] == 'done') == sorted(
        f's3://{bucket}/j/{name}' for name in files
    )
    summary = events[-1]
    assert summary['event'] == 'summary'
    assert summary['succeeded'] == 12 and summary['failed'] == 0
    assert summary['bytes'] == sum(len(data) for data in files.values())


def test_a_failed_file_fails_the_run_and_the_others_arrive(
    s3_endpoint, s3_client, bucket, tmp_path
):
    for index in range(8):
        s3_client.put_object(Bucket=bucket, Key=f'p/f{index}', Body=b'%d' % index)
    dest = tmp_path / 'dest'
    (dest / 'f3').mkdir(parents=True)  # a folder where a file must go
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/p', str(dest),
        '--processes', '2', '--no-progress',
    )  # fmt: skip
    assert done.returncode == 1
    failures = [line for line in done.stderr.splitlines() if 'failed' in line]
    assert len(failures) == 1
    assert failures[0].startswith(f'download failed: s3://{bucket}/p/f3 to ')
    assert done.stdout.splitlines()[-1].endswith(', 1 failed, 0 refused')
    assert done.stdout.splitlines()[-1].startswith('7 transferred')
    for index in (0, 1, 2, 4, 5, 6, 7):
        assert (dest / f'f{index}').read_bytes() == b'%d' % index


def test_fail_fast_stops_every_worker(s3_endpoint, s3_client, bucket, tmp_path):
    s3_client.put_object(Bucket=bucket, Key='f/0/first.txt', Body=b'x')
    for index in range(1, 40):
        s3_client.put_object(Bucket=bucket, Key=f'f/{index:02d}.txt', Body=b'x' * 1000)
    dest = tmp_path / 'dest'
    dest.mkdir()
    (dest / '0').write_bytes(b'')  # a file where the first key's folder must go
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/f', str(dest),
        '--fail-fast', '--max-concurrency', '1', '--max-bandwidth', '20KiB',
        '--processes', '2', '--no-progress',
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count('download failed') == 1
    assert 'cancelled' in done.stdout.splitlines()[-1]
    # The other worker (odd positions) stopped too, long before its 20 files.
    print(sorted(path.name for path in dest.iterdir()))
    assert len(list(dest.iterdir())) < 12


def test_ctrl_c_stops_the_workers_and_leaves_no_partial_files(
    s3_endpoint, s3_client, bucket, tmp_path
):
    objects = {f'p/d{i % 4}/f{i}.bin': os.urandom(256 * 1024) for i in range(40)}
    for key, data in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    dest = tmp_path / 'dest'
    command = _command(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/p', str(dest),
        '--max-bandwidth', '1MiB', '--max-concurrency', '2', '--processes', '2',
    )  # fmt: skip
    # Its own process group, as a shell gives a job: Ctrl-C reaches every worker.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (dest.exists() and any(dest.rglob('*.bin'))):
            assert time.monotonic() < deadline, 'nothing was downloaded'
            time.sleep(0.05)
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        returncode = process.wait(timeout=15)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
        stdout, stderr = process.communicate()
    assert returncode == 130, stderr
    assert elapsed < 5.0
    assert 'Traceback' not in stderr
    written = _read_tree(dest)
    assert 0 < len(written) < len(objects)
    for name, data in written.items():
        assert objects[f'p/{name}'] == data  # whole files only, no temp files


def test_sigterm_to_the_parent_alone_reaches_the_workers(
    s3_endpoint, s3_client, bucket, tmp_path
):
    objects = {f't/f{i}.bin': os.urandom(256 * 1024) for i in range(20)}
    for key, data in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    dest = tmp_path / 'dest'
    command = _command(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/t', str(dest),
        '--max-bandwidth', '1MiB', '--max-concurrency', '2', '--processes', '2',
    )  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while not (dest.exists() and any(dest.rglob('*.bin'))):
            assert time.monotonic() < deadline, 'nothing was downloaded'
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=15)
    finally:
        process.kill()
        stdout, stderr = process.communicate()
    assert returncode == 128 + signal.SIGTERM, stderr
    time.sleep(0.5)  # the workers have been joined: nothing writes any more
    written = _read_tree(dest)
    assert len(written) < len(objects)
    for name, data in written.items():
        assert objects[f't/{name}'] == data


def test_sync_with_workers_then_nothing_to_do(s3_endpoint, s3_client, bucket, tmp_path):
    files = _files(10)
    write_tree(tmp_path / 'src', files)
    first = _run(
        s3_endpoint, 'sync', str(tmp_path / 'src'), f's3://{bucket}/s',
        '--processes', '2', '--no-progress',
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.count('upload: ') == 10
    second = _run(
        s3_endpoint, 'sync', str(tmp_path / 'src'), f's3://{bucket}/s',
        '--processes', '2', '--no-progress',
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert 'upload: ' not in second.stdout


@pytest.mark.parametrize('processes', ['1', '2'])
def test_mv_deletes_exactly_the_sources_the_workers_moved(
    s3_endpoint, s3_client, bucket, tmp_path, processes
):
    for index in range(6):
        s3_client.put_object(Bucket=bucket, Key=f'm/f{index}', Body=b'%d' % index)
    dest = tmp_path / 'dest'
    (dest / 'f2').mkdir(parents=True)  # this one cannot be written: its source stays
    done = _run(
        s3_endpoint, 'mv', '--recursive', f's3://{bucket}/m', str(dest),
        '--processes', processes, '--no-progress',
    )  # fmt: skip
    assert done.returncode == 1
    left = s3_client.list_objects_v2(Bucket=bucket, Prefix='m/').get('Contents', [])
    assert [entry['Key'] for entry in left] == ['m/f2']
    assert sorted(p.name for p in dest.iterdir() if p.is_file()) == [
        'f0', 'f1', 'f3', 'f4', 'f5',
    ]  # fmt: skip


def _children(pid):
    path = Path(f'/proc/{pid}/task/{pid}/children')
    return [int(child) for child in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not Path('/proc/self/task').exists(), reason='needs /proc')
def test_a_killed_worker_fails_its_files_and_the_run_ends(
    s3_endpoint, s3_client, bucket, tmp_path
):
    objects = {f'k/f{i}.bin': os.urandom(64 * 1024) for i in range(6)}
    for key, data in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    dest = tmp_path / 'dest'
    command = _command(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/k', str(dest),
        '--max-bandwidth', '1MiB', '--max-concurrency', '1', '--processes', '2',
        '--no-progress',
    )  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while len(_children(process.pid)) < 2:
            assert time.monotonic() < deadline, 'the workers never started'
            time.sleep(0.02)
        os.kill(_children(process.pid)[0], signal.SIGKILL)
        returncode = process.wait(timeout=30)
    finally:
        process.kill()
        stdout, stderr = process.communicate()
    assert returncode == 1, stderr
    assert 'the worker process ended unexpectedly' in stderr
    assert ' failed' in stdout.splitlines()[-1]
    assert not stdout.splitlines()[-1].startswith('6 transferred')


def _gone(pid):
    try:
        status = Path(f'/proc/{pid}/status').read_text()
    except OSError:
        return True
    return '\nState:\tZ' in status  # exited, not yet reaped by its new parent


@pytest.mark.skipif(not Path('/proc/self/task').exists(), reason='needs /proc')
def test_workers_of_a_killed_parent_stop(s3_endpoint, s3_client, bucket, tmp_path):
    objects = {f'o/f{i}.bin': os.urandom(1024 * 1024) for i in range(12)}
    for key, data in objects.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    command = _command(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/o', str(tmp_path / 'dest'),
        '--max-bandwidth', '512KiB', '--max-concurrency', '1', '--processes', '2',
        '--no-progress',
    )  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers = []
    try:
        deadline = time.monotonic() + 20
        while len(workers) < 2:
            assert time.monotonic() < deadline, 'the workers never started'
            workers = _children(process.pid)
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait(timeout=10)
    deadline = time.monotonic() + 10  # their share alone would take 24 s
    while not all(_gone(pid) for pid in workers):
        assert time.monotonic() < deadline, 'a worker outlived its parent'
        time.sleep(0.1)
