"""Managers borrowing the process-wide worker pool (fast path "shared threads").

Each manager keeps its own bounds, its shutdown waits only for its own transfers, a
cancel reaches only its own transfers, and explicit executor classes are honoured.
"""

import concurrent.futures
import io
import os
import threading
import time

import pytest

from s3transfer import threads
from s3transfer.exceptions import CancelledError, FatalError
from s3transfer.futures import BoundedExecutor, NonThreadedExecutor
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from s3transfer.threads import BorrowingExecutor
from tests.fakes3 import null_client

pytestmark = pytest.mark.timeout(60)


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'condition still false'
        time.sleep(0.005)


class Gate(BaseSubscriber):
    """Holds a transfer in its first on_progress until released."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.entered.set()
        self.release.wait(20)


def nothing_borrowed(manager):
    """Whether the manager's executors hold no pool worker any more."""
    return all(e._borrowed == 0 for e in executors(manager))


def executors(manager):
    return [
        manager._submission_executor._executor,
        manager._request_executor._executor,
        manager._io_executor._executor,
    ]


def test_default_managers_borrow_pool_threads(fast_paths_on):
    client, _ = null_client()
    manager = TransferManager(client)
    assert all(type(e) is BorrowingExecutor for e in executors(manager))
    manager.shutdown()


def test_fast_paths_off_gives_thread_pool_executors(monkeypatch):
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    client, _ = null_client()
    manager = TransferManager(client)
    kinds = {type(e) for e in executors(manager)}
    assert kinds == {concurrent.futures.ThreadPoolExecutor}
    manager.shutdown()


@pytest.mark.parametrize(
    'executor_cls', [NonThreadedExecutor, concurrent.futures.ThreadPoolExecutor]
)
def test_an_explicit_executor_class_is_used_as_given(fast_paths_on, executor_cls):
    client, server = null_client()
    with TransferManager(client, executor_cls=executor_cls) as manager:
        assert {type(e) for e in executors(manager)} == {executor_cls}
        manager.upload(io.BytesIO(b'abc'), 'bucket', 'key').result()
    assert server.operations['PutObject'] == 1


def test_a_patched_executor_class_is_used_as_given(fast_paths_on, monkeypatch):
    monkeypatch.setattr(BoundedExecutor, 'EXECUTOR_CLS', NonThreadedExecutor)
    client, _ = null_client()
    manager = TransferManager(client)
    assert {type(e) for e in executors(manager)} == {NonThreadedExecutor}


def test_many_managers_at_once(fast_paths_on, tmp_path):
    client, server = null_client()
    for i in range(8):
        server.add_object(f'down/{i}', i, 3000 + i)
    errors, managers = [], []

    def one_manager(i):
        try:
            config = TransferConfig(max_request_concurrency=2)
            with TransferManager(client, config) as manager:
                managers.append(manager)
                up = [
                    manager.upload(io.BytesIO(b'x' * (100 + j)), 'b', f'up/{i}/{j}')
                    for j in range(10)
                ]
                down = manager.download('b', f'down/{i}', str(tmp_path / f'{i}'))
                for future in [*up, down]:
                    future.result()
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    workers = [threading.Thread(target=one_manager, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert errors == []
    assert server.operations['PutObject'] == 80
    for i in range(8):
        assert (tmp_path / f'{i}').stat().st_size == 3000 + i
    # Every manager gave back the workers it borrowed.
    assert len(managers) == 8
    assert all(nothing_borrowed(manager) for manager in managers)


def test_each_manager_keeps_its_own_request_bound(fast_paths_on):
    client, server = null_client({'PutObject': 0.05})
    lock, running, peak = threading.Lock(), [0], [0]

    def count(**kwargs):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])

    def uncount(**kwargs):
        with lock:
            running[0] -= 1

    client.meta.events.register('before-send.s3.PutObject', count, 'count-in')
    client.meta.events.register('after-call.s3.PutObject', uncount, 'count-out')
    config = TransferConfig(max_request_concurrency=2)
    with TransferManager(client, config) as manager:
        for i in range(8):
            manager.upload(io.BytesIO(b'x'), 'b', f'k{i}')
    assert server.operations['PutObject'] == 8
    assert 1 <= peak[0] <= 2


def test_shutdown_does_not_wait_for_another_managers_work(fast_paths_on):
    client, server = null_client()
    gate = Gate()
    slow = TransferManager(client)
    held = slow.upload(io.BytesIO(b'held'), 'b', 'held', subscribers=[gate])
    assert gate.entered.wait(10)
    with TransferManager(client) as fast:
        fast.upload(io.BytesIO(b'quick'), 'b', 'quick').result()
    # ``fast`` shut down while ``slow``'s transfer still runs on a pool thread.
    assert not held.done()
    gate.release.set()
    slow.shutdown()
    assert held.result() is None
    assert server.operations['PutObject'] == 2


def test_cancelling_one_manager_leaves_the_others_transfers_alone(fast_paths_on):
    client, server = null_client()
    gate, other_gate = Gate(), Gate()
    doomed = TransferManager(client)
    other = TransferManager(client)
    cancelled = doomed.upload(io.BytesIO(b'a' * 10), 'b', 'a', subscribers=[gate])
    kept = other.upload(io.BytesIO(b'b' * 10), 'b', 'b', subscribers=[other_gate])
    queued = [doomed.upload(io.BytesIO(b'c'), 'b', f'c{i}') for i in range(20)]
    assert gate.entered.wait(10) and other_gate.entered.wait(10)
    stop = RuntimeError('stop')
    exiting = threading.Thread(target=doomed.__exit__, args=(RuntimeError, stop, None))
    exiting.start()
    wait_until(lambda: cancelled._coordinator.status == 'cancelled')
    gate.release.set()
    exiting.join(20)
    assert not exiting.is_alive()
    # The held request completes (the final task wins); whatever had not finished
    # was cancelled with the exception's message.
    assert cancelled.done() and _error(cancelled) is None
    errors = [_error(f) for f in queued]
    assert all(f.done() for f in queued)
    assert all(e is None or isinstance(e, FatalError) for e in errors)
    assert not kept.done()
    other_gate.release.set()
    other.shutdown()
    assert kept.result() is None


def test_future_cancel_under_the_pool(fast_paths_on):
    client, server = null_client()
    gate = Gate()
    config = TransferConfig(max_request_concurrency=1)
    with TransferManager(client, config) as manager:
        held = manager.upload(io.BytesIO(b'x'), 'b', 'held', subscribers=[gate])
        assert gate.entered.wait(10)
        waiting = manager.upload(io.BytesIO(b'y'), 'b', 'waiting')
        waiting.cancel()
        gate.release.set()
        with pytest.raises(CancelledError):
            waiting.result()
        assert held.result() is None
    assert server.operations['PutObject'] == 1


def _error(future):
    try:
        future.result()
    except Exception as e:  # noqa: BLE001
        return e
    return None


def test_a_loop_of_managers_reuses_the_same_threads(fast_paths_on):
    client, server = null_client()
    server.add_object('obj', 0, 1000)
    seen = set()

    class Where(BaseSubscriber):
        def on_progress(self, future, bytes_transferred, **kwargs):
            seen.add(threading.current_thread())

    for i in range(30):
        with TransferManager(client) as manager:
            manager.upload(io.BytesIO(b'x'), 'b', f'k{i}', subscribers=[Where()])
            manager.download('b', 'obj', io.BytesIO(), subscribers=[Where()]).result()
        assert nothing_borrowed(manager)
    # Own executors would have started at least 120 threads (four per manager); a
    # worker still parking when the next call comes makes the pool start another.
    assert len(seen) < 60
    assert all(t.name.startswith(threads.THREAD_NAME_PREFIX) for t in seen)


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_child_gets_a_working_pool(fast_paths_on, tmp_path):
    client, server = null_client()
    manager = TransferManager(client)
    manager.upload(io.BytesIO(b'x'), 'b', 'parent').result()  # threads exist now
    pid = os.fork()
    if pid == 0:  # the child: a new pool, and the parent's manager still works
        code = 1
        try:
            manager.upload(io.BytesIO(b'y'), 'b', 'child').result()
            with TransferManager(client) as again:
                again.upload(io.BytesIO(b'z'), 'b', 'child2').result()
            ok = server.operations['PutObject'] == 3
            pool = threads.shared_pool()
            ok = ok and all(
                t.name.startswith('s3transfer-worker') for t in pool.threads
            )
            code = 0 if ok else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < deadline, 'the forked child hung'
        time.sleep(0.01)
    manager.shutdown()
    assert os.waitstatus_to_exitcode(status) == 0


class Recorder(BaseSubscriber):
    """Records each subscriber call with the thread it ran on."""

    def __init__(self):
        self.calls = []

    def on_queued(self, future, **kwargs):
        self.calls.append(('queued', threading.current_thread()))

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.calls.append(('progress', threading.current_thread()))

    def on_done(self, future, **kwargs):
        self.calls.append(('done', threading.current_thread()))


@pytest.fixture
def request_on_submitting_thread(fast_paths_on):
    threads.SUBMITTING_THREAD_RUNS_REQUEST.reset()
    yield
    threads.SUBMITTING_THREAD_RUNS_REQUEST.reset()


def test_a_single_put_runs_on_the_submitting_thread_in_the_same_order(
    request_on_submitting_thread, tmp_path
):
    source = tmp_path / 'source'
    source.write_bytes(b'x' * 1000)
    client, server = null_client()
    recorder = Recorder()
    with TransferManager(client) as manager:
        future = manager.upload(str(source), 'b', 'k', subscribers=[recorder])
        assert future.result() is None
    names = [name for name, _ in recorder.calls]
    assert names[0] == 'queued' and names[-1] == 'done'
    assert set(names[1:-1]) == {'progress'}
    assert len({thread for _, thread in recorder.calls}) == 1
    assert server.operations == {'PutObject': 1}


def test_a_single_get_runs_on_the_submitting_thread_in_the_same_order(
    request_on_submitting_thread, tmp_path
):
    client, server = null_client()
    server.add_object('k', 3, 5000)
    recorder = Recorder()
    with TransferManager(client) as manager:
        target = str(tmp_path / 'out')
        assert (
            manager.download('b', 'k', target, subscribers=[recorder]).result() is None
        )
    names = [name for name, _ in recorder.calls]
    assert names[0] == 'queued' and names[-1] == 'done'
    assert set(names[1:-1]) == {'progress'}
    assert len({thread for _, thread in recorder.calls}) == 1
    assert (tmp_path / 'out').stat().st_size == 5000
    assert server.operations == {'HeadObject': 1, 'GetObject': 1}


def test_multipart_uploads_keep_their_request_threads(request_on_submitting_thread):
    client, server = null_client({'UploadPart': 0.02})
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024)
    recorder = Recorder()
    with TransferManager(client, config) as manager:
        body = io.BytesIO(b'x' * (11 * 1024 * 1024))
        manager.upload(body, 'b', 'k', subscribers=[recorder]).result()
    assert server.operations['UploadPart'] == 2
    queued_thread = recorder.calls[0][1]
    progress_threads = {t for name, t in recorder.calls if name == 'progress'}
    assert progress_threads - {queued_thread}
