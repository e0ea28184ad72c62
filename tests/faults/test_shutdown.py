"""Shutting a manager down: clear errors afterwards, nothing hangs, nothing is lost."""

import io
import os
import signal
import threading
import time

import pytest

from s3transfer.exceptions import FatalError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Delay, Rule
from tests.faults.scenarios import (
    aborted_upload_ids,
    call_within,
    kill_if_running,
    null_client,
    open_uploads,
    start_child,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

PART = 256 * 1024


def calls(manager, bucket, tmp_path):
    """One call of every transfer type."""
    return {
        'upload': lambda: manager.upload(io.BytesIO(b'data'), bucket, 'k'),
        'download': lambda: manager.download(bucket, 'k', str(tmp_path / 'out')),
        'copy': lambda: manager.copy({'Bucket': bucket, 'Key': 'k'}, bucket, 'k2'),
        'delete': lambda: manager.delete(bucket, 'k'),
    }


@pytest.mark.parametrize('kind', ['upload', 'download', 'copy', 'delete'])
def test_use_after_shutdown_raises_a_clear_runtime_error(
    s3_client, bucket, tmp_path, kind
):
    manager = TransferManager(s3_client)
    manager.shutdown()

    with pytest.raises(RuntimeError, match='TransferManager has been shut down'):
        calls(manager, bucket, tmp_path)[kind]()

    assert os.listdir(tmp_path) == []
    assert s3_client.list_objects_v2(Bucket=bucket).get('Contents', []) == []


def test_use_after_with_block_raises(s3_client, bucket, tmp_path):
    with TransferManager(s3_client) as manager:
        manager.upload(io.BytesIO(b'data'), bucket, 'k').result()

    with pytest.raises(RuntimeError, match='Create a new TransferManager'):
        calls(manager, bucket, tmp_path)['download']()


def test_later_shutdowns_return_at_once(s3_client, bucket):
    manager = TransferManager(s3_client)
    manager.upload(io.BytesIO(b'data'), bucket, 'k').result()
    manager.shutdown()

    assert call_within(manager.shutdown, 5) < 0.5
    assert call_within(lambda: manager.shutdown(cancel=True), 5) < 0.5
    assert call_within(lambda: manager.__exit__(None, None, None), 5) < 0.5


def test_shutdown_waits_for_transfers_in_flight(
    s3_client, bucket, proxy, proxied_client
):
    proxy.add_rule(Rule(Delay(0.3), operation='PutObject'))
    manager = TransferManager(proxied_client)
    futures = [manager.upload(io.BytesIO(b'%d' % n), bucket, f'k{n}') for n in range(5)]
    wait_until(lambda: proxy.events_for('PutObject'))

    call_within(manager.shutdown, 20)

    assert all(future.done() for future in futures)
    assert [future.result() for future in futures] == [None] * 5
    keys = [
        item['Key'] for item in s3_client.list_objects_v2(Bucket=bucket)['Contents']
    ]
    assert sorted(keys) == [f'k{n}' for n in range(5)]


def test_error_in_with_block_cancels_in_flight_transfers(
    small_parts, s3_client, bucket, proxy, proxied_client
):
    proxy.add_rule(Rule(Delay(0.5), operation='UploadPart'))
    config = TransferConfig(
        multipart_threshold=PART, multipart_chunksize=PART, max_request_concurrency=2
    )
    data = os.urandom(12 * small_parts)
    futures = []

    def leave_with_error():
        with TransferManager(proxied_client, config) as manager:
            futures.append(manager.upload(io.BytesIO(data), bucket, 'obj'))
            wait_until(lambda: proxy.events_for('UploadPart'))
            raise ValueError('caller gave up')

    with pytest.raises(ValueError, match='caller gave up'):
        call_within(leave_with_error, 20)

    assert futures[0].done()
    with pytest.raises(FatalError, match='caller gave up'):
        futures[0].result()
    assert len(aborted_upload_ids(proxy)) == 1
    assert open_uploads(s3_client, bucket) == []


# --- a transfer that never got submitted ---------------------------------------------


def test_bad_subscribers_value_does_not_hang_shutdown():
    client, endpoint = null_client()
    manager = TransferManager(client)

    with pytest.raises(TypeError):
        manager.upload(io.BytesIO(b'data'), 'bucket', 'key', subscribers=5)

    assert call_within(manager.shutdown, 5) < 1
    assert endpoint.operations == {}


def test_ctrl_c_while_waiting_to_submit_does_not_hang_shutdown():
    child = start_child('submit_interrupt_child.py')
    try:
        assert child.stdout.readline() == 'blocking\n'
        time.sleep(0.5)  # the child is now inside the blocked upload() call
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=20)
    finally:
        kill_if_running(child)

    assert stdout.splitlines() == ['interrupted', 'shut down'], stderr
    assert child.returncode == 0


def test_shutdown_racing_with_submitting_threads():
    client, endpoint = null_client({'PutObject': 0.002})
    manager = TransferManager(client)
    futures, refusals = [], []
    lock = threading.Lock()

    def submit_many(thread_number):
        for n in range(500):
            time.sleep(0.001)  # keeps every thread submitting when shutdown starts
            try:
                future = manager.upload(io.BytesIO(b'x'), 'b', f'{thread_number}-{n}')
            except RuntimeError as e:
                with lock:
                    refusals.append(e)
                return
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=submit_many, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(futures) >= 40)

    call_within(manager.shutdown, 20)
    for thread in threads:
        thread.join(10)

    assert not any(thread.is_alive() for thread in threads)
    assert all(future.done() for future in futures)
    assert [future.result() for future in futures] == [None] * len(futures)
    assert endpoint.operations['PutObject'] == len(futures)
    assert len(refusals) == len(threads)
    assert all('shut down' in str(e) for e in refusals)


def pool_threads():
    return {
        thread
        for thread in threading.enumerate()
        if thread.name.startswith('ThreadPoolExecutor')
    }


def borrowed_workers(manager):
    """Pool workers the manager's executors still hold (0 for its own threads)."""
    executors = (
        manager._submission_executor._executor,
        manager._request_executor._executor,
        manager._io_executor._executor,
    )
    return sum(getattr(e, '_borrowed', 0) for e in executors)


@pytest.mark.parametrize('cancel', [False, True])
def test_shutdown_leaves_no_worker_threads_behind(cancel):
    """Own threads (fast paths off) are joined; borrowed ones go back idle."""
    before = pool_threads()
    client, endpoint = null_client({'PutObject': 0.05, 'UploadPart': 0.05})
    manager = TransferManager(client, TransferConfig(multipart_threshold=8 * 1024))
    futures = [
        manager.upload(io.BytesIO(b'x' * 100), 'bucket', 'small'),
        manager.upload(io.BytesIO(b'x' * 6 * 1024 * 1024), 'bucket', 'multipart'),
    ]
    wait_until(lambda: endpoint.operations)

    call_within(lambda: manager.shutdown(cancel), 20)

    assert all(future.done() for future in futures)
    assert pool_threads() == before
    assert borrowed_workers(manager) == 0
