"""Ctrl-C in the middle of a transfer: the process ends fast, nothing left behind."""

import os
import signal
import time

import pytest

from tests.faults.proxy import Delay, Rule
from tests.faults.scenarios import (
    AcceptPart,
    MiB,
    aborted_upload_ids,
    kill_if_running,
    open_uploads,
    start_child,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)

UPLOAD_SIZE = 512 * MiB


def interrupt_child(proxy, operation, *args):
    """Start the child, SIGINT it once ``operation`` is in flight; return its end.

    In ``upload-worker-signal`` mode the child signals itself and says so.
    """
    child = start_child('sigint_child.py', *args)
    try:
        assert child.stdout.readline() == 'started\n'
        if args[0] == 'upload-worker-signal':
            assert child.stdout.readline() == 'signalled\n'
        else:
            wait_until(lambda: len(proxy.events_for(operation)) >= 3, seconds=30)
            assert child.poll() is None
            child.send_signal(signal.SIGINT)
        started = time.monotonic()
        child.wait(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        kill_if_running(child)
    stdout, stderr = child.communicate(timeout=10)
    return elapsed, stdout, stderr, child.returncode


@pytest.mark.parametrize('mode', ['upload', 'upload-exit', 'upload-worker-signal'])
def test_sigint_mid_upload_exits_quickly_and_aborts(s3_client, bucket, proxy, mode):
    # Slow parts keep the 512 MiB upload far from done when the signal arrives;
    # the server stores none of them (the test process would starve otherwise).
    proxy.add_rule(Rule(AcceptPart(0.3), operation='UploadPart'))

    elapsed, stdout, stderr, returncode = interrupt_child(
        proxy, 'UploadPart', mode, proxy.url, bucket, 'big', UPLOAD_SIZE
    )

    assert elapsed < 2, f'exited {elapsed:.2f} s after SIGINT'
    assert 'finished' not in stdout
    assert 'KeyboardInterrupt' in stderr
    assert returncode != 0
    assert len(proxy.events_for('UploadPart')) < UPLOAD_SIZE // (8 * MiB)
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []


def test_sigint_mid_download_exits_quickly_and_removes_temp_file(
    s3_client, bucket, proxy, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='obj', Body=os.urandom(16 * MiB))
    proxy.add_rule(Rule(Delay(0.3), operation='GetObject'))
    target = tmp_path / 'out.bin'

    elapsed, stdout, stderr, returncode = interrupt_child(
        proxy, 'GetObject', 'download', proxy.url, bucket, 'obj', target
    )

    assert elapsed < 2, f'exited {elapsed:.2f} s after SIGINT'
    assert 'finished' not in stdout
    assert 'KeyboardInterrupt' in stderr
    assert returncode != 0
    assert len(proxy.events_for('GetObject')) < 16
    assert os.listdir(tmp_path) == []
