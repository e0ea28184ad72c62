"""Acceptance: 200 MiB transfers killed mid-way continue in a new process.

The first run is slowed (``max_bandwidth``) so the test can stop it once its journal
shows at least 40% of the parts confirmed: with SIGKILL (library) or SIGINT (the
command line). The second run must send or fetch at most 60% of the bytes plus one
part, counted at the proxy, and produce exactly the original bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.scenarios import (
    REPO_ROOT,
    MiB,
    kill_if_running,
    open_uploads,
    start_child,
    wait_until,
)

pytestmark = pytest.mark.timeout(240)

SIZE = 200 * MiB
PART = 8 * MiB
NUM_PARTS = SIZE // PART
BANDWIDTH = 40 * MiB
# At most 60% of the bytes plus one part on the resumed run.
RESUMED_LIMIT = int(0.6 * SIZE) + PART


def _journal(state: Path) -> dict | None:
    """The one journal in ``state`` (``None`` until it exists)."""
    for name in sorted(os.listdir(state)) if state.exists() else ():
        if name.endswith('.json') and not name.startswith('.'):
            return json.loads((state / name).read_text())
    return None


def _confirmed(state: Path) -> int:
    journal = _journal(state)
    return len(journal['parts']) if journal else 0


def _stop_at_40_percent(child: subprocess.Popen, state: Path, sig: int) -> int:
    """Signal ``child`` once >= 40% of the parts are confirmed; parts it saw."""
    wanted = -(-NUM_PARTS * 4 // 10)
    wait_until(lambda: _confirmed(state) >= wanted or child.poll(), seconds=90)
    assert child.poll() is None, 'the transfer ended before it could be stopped'
    seen = _confirmed(state)
    child.send_signal(sig)
    child.wait(timeout=30)
    assert seen < NUM_PARTS
    return seen


def _multipart_etag(path: Path) -> str:
    digests = b''
    with open(path, 'rb') as f:
        while chunk := f.read(PART):
            digests += hashlib.md5(chunk).digest()
    return f'"{hashlib.md5(digests).hexdigest()}-{len(digests) // 16}"'


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(PART):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def big_file(tmp_path) -> Path:
    path = tmp_path / 'big.bin'
    with open(path, 'wb') as f:
        for _ in range(SIZE // (8 * MiB)):
            f.write(os.urandom(8 * MiB))
    return path


def _check_uploaded(s3_client, bucket: str, key: str, path: Path) -> None:
    """Size and per-part MD5s (the multipart ETag), plus two sampled windows."""
    head = s3_client.head_object(Bucket=bucket, Key=key)
    assert head['ContentLength'] == SIZE
    assert head['ETag'] == _multipart_etag(path)
    with open(path, 'rb') as f:
        for offset in (SIZE // 2 - 1000, SIZE - 5000):
            f.seek(offset)
            expected = f.read(4096)
            window = f'bytes={offset}-{offset + 4095}'
            got = s3_client.get_object(Bucket=bucket, Key=key, Range=window)
            assert got['Body'].read() == expected


def test_upload_killed_after_40_percent_resumes_in_a_new_process(
    s3_client, bucket, proxy, big_file, tmp_path
):
    state = tmp_path / 'state'
    args = ('upload', proxy.url, bucket, 'big', big_file, state)
    child = start_child('resume_child.py', *args, BANDWIDTH)
    try:
        assert child.stdout.readline() == 'started\n'
        confirmed = _stop_at_40_percent(child, state, signal.SIGKILL)
    finally:
        kill_if_running(child)
    assert len(open_uploads(s3_client, bucket)) == 1
    proxy.events.clear()

    child = start_child('resume_child.py', *args, 0)
    try:
        stdout, stderr = child.communicate(timeout=180)
    finally:
        kill_if_running(child)
    assert 'finished' in stdout, stderr

    sent, _ = proxy.bytes_for('UploadPart')
    print(f'upload: {confirmed} parts confirmed at the kill, resumed run sent {sent}')
    assert sent <= RESUMED_LIMIT
    assert sent <= (NUM_PARTS - confirmed) * PART * 1.01
    assert proxy.events_for('CreateMultipartUpload') == []
    _check_uploaded(s3_client, bucket, 'big', big_file)
    assert open_uploads(s3_client, bucket) == []
    assert _journal(state) is None


def test_cli_ctrl_c_then_the_same_command_resumes_the_upload(
    s3_client, bucket, proxy, big_file, tmp_path
):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), XDG_STATE_HOME=str(tmp_path))
    state = tmp_path / 's3transfer' / 'resume'
    command = [
        sys.executable,
        '-m',
        's3transfer',
        'cp',
        str(big_file),
        f's3://{bucket}/big',
        '--endpoint-url',
        proxy.url,
        '--quiet',
        '--max-concurrency',
        '4',
    ]

    def run(*extra: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*command, *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    child = run('--max-bandwidth', str(BANDWIDTH))
    try:
        confirmed = _stop_at_40_percent(child, state, signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        kill_if_running(child)
    assert child.returncode == 130
    assert 'run the same command again' in stderr
    assert 's3transfer resume discard' in stderr
    assert len(open_uploads(s3_client, bucket)) == 1
    proxy.events.clear()

    child = run()
    try:
        _, stderr = child.communicate(timeout=180)
    finally:
        kill_if_running(child)
    assert child.returncode == 0, stderr

    sent, _ = proxy.bytes_for('UploadPart')
    print(f'cli: {confirmed} parts confirmed at Ctrl-C, resumed run sent {sent}')
    assert sent <= RESUMED_LIMIT
    _check_uploaded(s3_client, bucket, 'big', big_file)
    assert open_uploads(s3_client, bucket) == []
    assert _journal(state) is None


def test_download_killed_after_40_percent_resumes_in_a_new_process(
    s3_client, bucket, proxy, big_file, tmp_path
):
    with open(big_file, 'rb') as f:
        s3_client.put_object(Bucket=bucket, Key='big', Body=f)
    state = tmp_path / 'state'
    target = tmp_path / 'out' / 'big.bin'
    target.parent.mkdir()
    args = ('download', proxy.url, bucket, 'big', target, state)
    child = start_child('resume_child.py', *args, BANDWIDTH)
    try:
        assert child.stdout.readline() == 'started\n'
        confirmed = _stop_at_40_percent(child, state, signal.SIGKILL)
    finally:
        kill_if_running(child)
    assert not target.exists()  # only complete files appear
    assert os.listdir(target.parent) == [
        os.path.basename(_journal(state)['temp_filename'])
    ]
    proxy.events.clear()

    child = start_child('resume_child.py', *args, 0)
    try:
        stdout, stderr = child.communicate(timeout=180)
    finally:
        kill_if_running(child)
    assert 'finished' in stdout, stderr

    _, fetched = proxy.bytes_for('GetObject')
    print(
        f'download: {confirmed} parts confirmed at the kill, resumed run got {fetched}'
    )
    assert fetched <= RESUMED_LIMIT
    assert all(event.ranged for event in proxy.events_for('GetObject'))
    assert _sha256(target) == _sha256(big_file)
    assert os.listdir(target.parent) == ['big.bin']
    assert _journal(state) is None
