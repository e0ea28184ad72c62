"""Integration tests for s3transfer.processpool against the local moto server."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from botocore.client import ClientError
from botocore.config import Config

from s3transfer import processpool
from s3transfer.constants import MB
from s3transfer.processpool import (
    ClientFactory,
    ProcessPoolDownloader,
    ProcessTransferConfig,
)
from tests.functional.test_processpool import child_pids
from tests.helpers import sha256_of

MIXED_SIZES = [
    0,
    1,
    2,
    100,
    1023,
    1024,
    1025,
    4096,
    65535,
    65536,
    65537,
    100_000,
    256 * 1024 + 7,
    512 * 1024,
    MB - 1,
    MB,
    MB + 1,
    3 * MB + 5,
    8 * MB,
    40 * MB + 3,
]


@pytest.fixture
def client_kwargs(s3_endpoint):
    """What the child processes need to reach the local server."""
    return {
        'region_name': 'us-east-1',
        'endpoint_url': s3_endpoint,
        'aws_access_key_id': 'testing',
        'aws_secret_access_key': 'testing',
        'config': Config(
            s3={'addressing_style': 'path'},
            retries={'max_attempts': 2, 'mode': 'standard'},
        ),
    }


def put_objects(s3_client, bucket, sizes):
    """Upload one random object per size; return ``{key: sha256 hex}``."""
    digests = {}
    for i, size in enumerate(sizes):
        key, data = f'obj-{i}', os.urandom(size)
        s3_client.put_object(Bucket=bucket, Key=key, Body=data)
        digests[key] = hashlib.sha256(data).hexdigest()
    return digests


def test_mixed_sizes_are_byte_identical(s3_client, bucket, client_kwargs, tmp_path):
    digests = put_objects(s3_client, bucket, MIXED_SIZES)
    config = ProcessTransferConfig(
        multipart_threshold=4 * MB, multipart_chunksize=4 * MB, max_request_processes=4
    )
    before = child_pids()
    with ProcessPoolDownloader(client_kwargs=client_kwargs, config=config) as pool:
        futures = {
            key: pool.download_file(
                bucket,
                key,
                str(tmp_path / key),
                # Half of the transfers skip HeadObject.
                expected_size=size if i % 2 else None,
            )
            for i, (key, size) in enumerate(zip(digests, MIXED_SIZES, strict=True))
        }
        for future in futures.values():
            assert future.result() is None
    assert sorted(os.listdir(tmp_path)) == sorted(digests)  # no temp files left
    for key, digest in digests.items():
        assert sha256_of(tmp_path / key) == digest, key
    assert child_pids() - before == set()


class HeadObjectCalled(Exception):
    """Raised by clients of NoHeadObjectClientFactory on any HeadObject."""


def _forbid_head_object(**kwargs):
    raise HeadObjectCalled('HeadObject was called')


class NoHeadObjectClientFactory(ClientFactory):
    """A ClientFactory whose clients refuse to send HeadObject."""

    def create_client(self):
        client = super().create_client()
        client.meta.events.register('before-call.s3.HeadObject', _forbid_head_object)
        return client


def test_expected_size_skips_head_object(
    s3_client, bucket, client_kwargs, tmp_path, monkeypatch
):
    # The replacement is late-bound and reaches the children by fork.
    monkeypatch.setattr(processpool, 'ClientFactory', NoHeadObjectClientFactory)
    put_objects(s3_client, bucket, [10, 10])
    config = ProcessTransferConfig(max_request_processes=1)
    with ProcessPoolDownloader(client_kwargs=client_kwargs, config=config) as pool:
        sized = pool.download_file(
            bucket, 'obj-0', str(tmp_path / 'a'), expected_size=10
        )
        unsized = pool.download_file(bucket, 'obj-1', str(tmp_path / 'b'))
        assert sized.result() is None
        with pytest.raises(HeadObjectCalled):
            unsized.result()
    assert os.listdir(tmp_path) == ['a']


@pytest.mark.parametrize('expected_size', [None, 5])
def test_missing_key_fails_alone(
    s3_client, bucket, client_kwargs, tmp_path, expected_size
):
    digests = put_objects(s3_client, bucket, [3 * MB])
    config = ProcessTransferConfig(
        multipart_threshold=MB, multipart_chunksize=MB, max_request_processes=2
    )
    with ProcessPoolDownloader(client_kwargs=client_kwargs, config=config) as pool:
        missing = pool.download_file(
            bucket,
            'no-such-key',
            str(tmp_path / 'missing'),
            expected_size=expected_size,
        )
        good = pool.download_file(bucket, 'obj-0', str(tmp_path / 'obj-0'))
        with pytest.raises(ClientError) as exc_info:
            missing.result()
        assert good.result() is None
        assert missing.done()
    assert exc_info.value.response['Error']['Code'] in ('404', 'NoSuchKey')
    assert os.listdir(tmp_path) == ['obj-0']  # neither final nor temp file
    assert sha256_of(tmp_path / 'obj-0') == digests['obj-0']


def test_no_child_outlives_shutdown_and_restart_works(
    s3_client, bucket, client_kwargs, tmp_path
):
    put_objects(s3_client, bucket, [4])
    before = child_pids()
    pool = ProcessPoolDownloader(
        client_kwargs=client_kwargs,
        config=ProcessTransferConfig(max_request_processes=3),
    )
    assert child_pids() == before  # nothing started by the constructor
    for attempt in range(2):
        target = str(tmp_path / f'copy-{attempt}')
        assert pool.download_file(bucket, 'obj-0', target).result() is None
        started = child_pids() - before
        expected = {pool._submitter.pid, pool._manager._process.pid}
        expected |= {worker.pid for worker in pool._workers}
        assert started == expected and len(started) == 5
        pool.shutdown()
        assert child_pids() - before == set()
        assert not any(os.path.exists(f'/proc/{pid}') for pid in started)
    assert sorted(os.listdir(tmp_path)) == ['copy-0', 'copy-1']


def test_ctrl_c_after_explicit_shutdown_is_not_masked(
    s3_client, bucket, client_kwargs, tmp_path
):
    put_objects(s3_client, bucket, [4])
    config = ProcessTransferConfig(max_request_processes=1)
    with pytest.raises(KeyboardInterrupt):
        with ProcessPoolDownloader(client_kwargs=client_kwargs, config=config) as pool:
            pool.download_file(bucket, 'obj-0', str(tmp_path / 'f')).result()
            pool.shutdown()
            raise KeyboardInterrupt()  # __exit__ must not talk to the stopped manager
    assert os.listdir(tmp_path) == ['f']


# --- other start methods and Ctrl-C, each in a separate python process --------------

DOWNLOAD_SCRIPT = textwrap.dedent(
    """
    import json, multiprocessing, os, sys
    from botocore.config import Config
    from s3transfer.processpool import ProcessPoolDownloader, ProcessTransferConfig

    def main():
        start_method, endpoint, bucket, outdir, keys, chunk = sys.argv[1:7]
        multiprocessing.set_start_method(start_method)
        client_kwargs = {
            'region_name': 'us-east-1',
            'endpoint_url': endpoint,
            'config': Config(s3={'addressing_style': 'path'}),
        }
        config = ProcessTransferConfig(
            multipart_threshold=int(chunk),
            multipart_chunksize=int(chunk),
            max_request_processes=2,
        )
        with ProcessPoolDownloader(client_kwargs=client_kwargs, config=config) as pool:
            futures = [
                pool.download_file(bucket, key, os.path.join(outdir, key))
                for key in keys.split(',')
            ]
            print('submitted', flush=True)
            for future in futures:
                future.result()
        print(json.dumps(sorted(os.listdir(outdir))), flush=True)

    if __name__ == '__main__':
        main()
    """
)


def download_command(tmp_path, start_method, endpoint, bucket, keys, chunk):
    script = tmp_path / 'download.py'
    script.write_text(DOWNLOAD_SCRIPT)
    outdir = tmp_path / 'out'
    outdir.mkdir()
    args = [start_method, endpoint, bucket, str(outdir), ','.join(keys), str(chunk)]
    return [sys.executable, str(script), *args], outdir


@pytest.mark.parametrize('start_method', ['spawn', 'forkserver'])
def test_other_start_methods(s3_client, bucket, s3_endpoint, tmp_path, start_method):
    digests = put_objects(s3_client, bucket, [0, 1, 300 * 1024 + 1])
    command, outdir = download_command(
        tmp_path, start_method, s3_endpoint, bucket, digests, 100 * 1024
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == sorted(digests)
    for key, digest in digests.items():
        assert sha256_of(outdir / key) == digest


def descendant_pids(root_pid):
    """PIDs of every live descendant of ``root_pid``, read from /proc."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    parents[int(entry)] = int(f.read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = set(), {root_pid}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def wait_until(predicate, timeout):
    """Poll ``predicate`` every 10 ms until it is true or ``timeout`` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def interrupt_download(command, ready):
    """Run ``command``, Ctrl-C its process group once ``ready()``; return stderr.

    Asserts that the python process and every process below it end within 5 s.
    """
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        assert child.stdout.readline() == b'submitted\n'
        assert wait_until(ready, 60)
        descendants = descendant_pids(child.pid)
        os.killpg(child.pid, signal.SIGINT)  # as Ctrl-C in a terminal would
        sent = time.monotonic()
        child.wait(timeout=5)
        assert wait_until(
            lambda: not any(os.path.exists(f'/proc/{p}') for p in descendants),
            max(0.0, 5 - (time.monotonic() - sent)),
        )
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    stderr = child.stderr.read().decode()
    assert child.returncode == -signal.SIGINT, stderr  # KeyboardInterrupt propagated
    # Only the parent reports the interrupt: the children ignore it.
    assert stderr.count('Traceback') == 1 and 'KeyboardInterrupt' in stderr, stderr
    return descendants


def test_ctrl_c_stops_every_process_and_leaves_no_temp_files(
    s3_client, bucket, s3_endpoint, tmp_path
):
    digests = put_objects(s3_client, bucket, [2 * MB] * 12)
    command, outdir = download_command(
        tmp_path, 'fork', s3_endpoint, bucket, digests, 256 * 1024
    )
    # Interrupt while a download is in flight (a temp file exists).
    descendants = interrupt_download(
        command, lambda: set(os.listdir(outdir)) - set(digests)
    )
    assert len(descendants) == 4  # manager, submitter, two workers
    left = os.listdir(outdir)
    assert set(left) <= set(digests)  # no temp files
    assert len(left) < len(digests)  # the interrupt cancelled pending downloads
    for key in left:
        assert sha256_of(outdir / key) == digests[key]


@pytest.mark.parametrize('start_method', ['fork', 'spawn', 'forkserver'])
def test_ctrl_c_right_after_start_does_not_kill_children(
    s3_client, bucket, s3_endpoint, tmp_path, start_method
):
    # Children that have not yet installed their SIGINT handler must survive too.
    digests = put_objects(s3_client, bucket, [MB] * 2)
    command, outdir = download_command(
        tmp_path, start_method, s3_endpoint, bucket, digests, 256 * 1024
    )
    interrupt_download(command, lambda: True)
    assert set(os.listdir(outdir)) <= set(digests)
