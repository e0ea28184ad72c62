"""The command line's journals against the local server: SIGTERM, re-run, discard.

The bytes a re-run saves are counted at the fault proxy in
``tests/faults/test_resume_kill.py``; here the signals and commands are checked.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

MiB = 1024 * 1024
SIZE = 24 * MiB  # five parts of 5 MiB (the local server's minimum part size)
PART = 5 * MiB


def _cp(endpoint, state, source, url, *extra):
    command = [
        sys.executable,
        '-m',
        's3transfer',
        'cp',
        str(source),
        url,
        '--endpoint-url',
        endpoint,
        '--resume-dir',
        str(state),
        '--multipart-threshold',
        '5MiB',
        '--multipart-chunksize',
        '5MiB',
        '--max-concurrency',
        '1',
        '--quiet',
        *extra,
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _resume(endpoint, state, *args):
    command = [sys.executable, '-m', 's3transfer', 'resume', *args]
    command += ['--resume-dir', str(state), '--endpoint-url', endpoint]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _parts_recorded(state) -> int:
    for name in os.listdir(state) if state.exists() else ():
        if name.endswith('.json'):
            try:
                return len(json.loads((state / name).read_text())['parts'])
            except ValueError:
                return 0
    return 0


def _wait_for_parts(process, state, wanted=1, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if _parts_recorded(state) >= wanted:
            return
        time.sleep(0.05)
    raise AssertionError(f'no part recorded (exit {process.poll()})')


@pytest.fixture
def source(tmp_path):
    path = tmp_path / 'src.bin'
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.mark.timeout(120)
def test_sigterm_keeps_the_journal_and_the_same_command_continues(
    s3_endpoint, s3_client, bucket, source, tmp_path
):
    state = tmp_path / 'state'
    url = f's3://{bucket}/obj'
    process = _cp(s3_endpoint, state, source, url, '--max-bandwidth', '4MiB')
    try:
        _wait_for_parts(process, state)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 143, stderr  # 128 + SIGTERM, like the shell
    assert 'run the same command again' in stderr
    kept = _parts_recorded(state)
    assert 1 <= kept < SIZE // PART + 1
    assert len(s3_client.list_multipart_uploads(Bucket=bucket)['Uploads']) == 1

    listed = _resume(s3_endpoint, state, 'list')
    assert listed.returncode == 0, listed.stderr
    assert f'upload {source} -> {url} ({kept}/5 parts)' in listed.stdout

    process = _cp(s3_endpoint, state, source, url)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []
    body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(source.read_bytes()).digest()
    head = s3_client.head_object(Bucket=bucket, Key='obj')
    assert head['ETag'].endswith('-5"')
    assert os.listdir(state) == []


@pytest.mark.timeout(120)
def test_resume_discard_aborts_the_kept_upload(
    s3_endpoint, s3_client, bucket, source, tmp_path
):
    state = tmp_path / 'state'
    url = f's3://{bucket}/obj'
    process = _cp(s3_endpoint, state, source, url, '--max-bandwidth', '4MiB')
    try:
        _wait_for_parts(process, state)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130
    assert len(s3_client.list_multipart_uploads(Bucket=bucket)['Uploads']) == 1

    discarded = _resume(s3_endpoint, state, 'discard', '--all')

    assert discarded.returncode == 0, discarded.stderr
    assert 'discarded' in discarded.stdout
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []
    assert os.listdir(state) == []


@pytest.mark.timeout(120)
def test_no_resume_cleans_up_on_sigterm_as_before(
    s3_endpoint, s3_client, bucket, source, tmp_path
):
    state = tmp_path / 'state'
    url = f's3://{bucket}/obj'
    process = _cp(
        s3_endpoint, state, source, url, '--max-bandwidth', '4MiB', '--no-resume'
    )
    try:
        deadline = time.monotonic() + 30
        while not s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads'):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 143, stderr  # 128 + SIGTERM, like the shell
    assert 'transfers cancelled' in stderr
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []
    assert not state.exists() or os.listdir(state) == []
