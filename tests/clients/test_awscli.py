"""The AWS CLI v1 (1.45.x, which imports the installed s3transfer) on this package."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import payload

MB = 1024 * 1024
CLI_TIMEOUT = 240


@pytest.fixture(scope='module')
def cli_env(tmp_path_factory, s3_endpoint):
    config = tmp_path_factory.mktemp('aws') / 'config'
    config.write_text(
        '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n'
    )
    return dict(os.environ, AWS_CONFIG_FILE=str(config), PYTHONUNBUFFERED='1')


@pytest.fixture
def aws(cli_env, s3_endpoint):
    """Run ``python -m awscli ARGS --endpoint-url ...`` and return the result."""

    def run(*args, input=None, check=True):
        result = subprocess.run(
            [sys.executable, '-m', 'awscli', *args, '--endpoint-url', s3_endpoint],
            input=input,
            capture_output=True,
            env=cli_env,
            timeout=CLI_TIMEOUT,
        )
        if check:
            assert result.returncode == 0, result.stderr.decode()
        return result

    return run


def tree_hashes(root: Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*'))
        if p.is_file()
    }


def make_tree(root: Path, count: int) -> None:
    for i in range(count):
        path = root / f'd{i % 7}' / f'sub{i % 3}' / f'file-{i}.txt'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload(100 + i * 13, seed=i))


def _awscli_s3transfer_files(cli_env):
    probe = subprocess.run(
        [
            sys.executable,
            '-c',
            'import inspect, awscli.customizations.s3.s3handler as h, '
            'awscli.customizations.s3.results as r; '
            'print(inspect.getfile(h.TransferManager)); '
            'print(inspect.getfile(r.BaseSubscriber))',
        ],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
        check=True,
    )
    return probe.stdout.split()


@pytest.fixture(scope='module')
def awscli_loads_our_package(cli_env):
    """The CLI run by these tests (same interpreter and environment) loads ours."""
    files = _awscli_s3transfer_files(cli_env)
    assert len(files) == 2
    for path in files:
        assert Path(path).resolve().is_relative_to(REPO_ROOT), path
    return files


@pytest.fixture(autouse=True)
def _every_test_exercises_our_package(awscli_loads_our_package):
    assert awscli_loads_our_package


def test_awscli_imports_this_package(awscli_loads_our_package):
    assert all(
        p.endswith(('manager.py', 'subscribers.py')) for p in awscli_loads_our_package
    )


def test_cp_of_a_40_mib_file_up_and_down(aws, bucket, tmp_path):
    source = tmp_path / 'big.bin'
    source.write_bytes(payload(40 * MB + 3))
    aws('s3', 'cp', str(source), f's3://{bucket}/big.bin')
    target = tmp_path / 'back.bin'
    aws('s3', 'cp', f's3://{bucket}/big.bin', str(target))
    assert (
        hashlib.sha256(target.read_bytes()).digest()
        == hashlib.sha256(source.read_bytes()).digest()
    )


def test_sync_of_300_files_up_and_down(aws, bucket, tmp_path):
    source = tmp_path / 'src'
    make_tree(source, 300)
    aws('s3', 'sync', str(source), f's3://{bucket}/tree')
    target = tmp_path / 'dst'
    target.mkdir()
    aws('s3', 'sync', f's3://{bucket}/tree', str(target))
    assert tree_hashes(target) == tree_hashes(source)
    assert len(tree_hashes(target)) == 300


def test_cp_recursive_mv_and_rm_recursive(aws, bucket, s3_client, tmp_path):
    source = tmp_path / 'src'
    make_tree(source, 25)
    aws('s3', 'cp', '--recursive', str(source), f's3://{bucket}/a')
    aws('s3', 'cp', '--recursive', f's3://{bucket}/a', f's3://{bucket}/b')
    down = tmp_path / 'down'
    aws('s3', 'cp', '--recursive', f's3://{bucket}/b', str(down))
    assert tree_hashes(down) == tree_hashes(source)

    aws('s3', 'mv', f's3://{bucket}/a/d0/sub0/file-0.txt', f's3://{bucket}/moved.txt')
    moved = s3_client.get_object(Bucket=bucket, Key='moved.txt')['Body'].read()
    assert moved == (source / 'd0' / 'sub0' / 'file-0.txt').read_bytes()
    local = tmp_path / 'local.txt'
    aws('s3', 'mv', f's3://{bucket}/moved.txt', str(local))
    assert local.read_bytes() == moved

    aws('s3', 'rm', '--recursive', f's3://{bucket}/')
    assert s3_client.list_objects_v2(Bucket=bucket).get('KeyCount', 0) == 0


def test_cp_from_stdin_and_to_stdout(aws, bucket, s3_client):
    data = payload(9 * MB + 5, seed=9)
    aws('s3', 'cp', '-', f's3://{bucket}/stream.bin', input=data)
    assert s3_client.get_object(Bucket=bucket, Key='stream.bin')['Body'].read() == data
    result = aws('s3', 'cp', f's3://{bucket}/stream.bin', '-')
    assert result.stdout == data


def test_sigint_during_cp_ends_quickly_and_aborts_the_upload(
    cli_env, s3_endpoint, s3_client, bucket, tmp_path
):
    source = tmp_path / 'huge.bin'
    with open(source, 'wb') as f:
        for i in range(200):
            f.write(payload(MB, seed=i))
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'awscli',
            's3',
            'cp',
            str(source),
            f's3://{bucket}/huge.bin',
            '--endpoint-url',
            s3_endpoint,
        ],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            uploads = s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads')
            if uploads:
                break
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.05)
        else:
            pytest.fail('the CLI never started a multipart upload')
        time.sleep(0.3)  # let some parts go out
        assert process.poll() is None, 'the upload finished before the signal'
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        process.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert elapsed < 2, f'the CLI took {elapsed:.2f}s to stop'
    assert process.returncode != 0
    uploads = s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', [])
    assert uploads == []
