"""The shared worker pool and the executors that borrow its threads."""

import threading
import time

import pytest

from s3transfer import threads
from s3transfer.threads import BorrowingExecutor, WorkerPool

pytestmark = pytest.mark.timeout(30)


def wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'condition still false'
        time.sleep(0.005)


@pytest.fixture
def pool():
    pool = WorkerPool(idle_timeout=5)
    yield pool
    pool.close()


def test_at_most_max_workers_tasks_run_at_once(pool):
    executor = BorrowingExecutor(3, pool)
    lock, running, peak = threading.Lock(), [0], [0]
    release = threading.Event()

    def task():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    futures = [executor.submit(task) for _ in range(10)]
    wait_until(lambda: running[0] == 3)
    time.sleep(0.05)
    assert running[0] == 3
    release.set()
    executor.shutdown()
    assert all(f.done() for f in futures)
    assert peak[0] == 3


def test_one_worker_runs_tasks_in_submission_order(pool):
    executor = BorrowingExecutor(1, pool)
    order = []
    for i in range(200):
        executor.submit(order.append, i)
    executor.shutdown()
    assert order == list(range(200))


def test_results_and_errors_land_in_the_futures(pool):
    executor = BorrowingExecutor(2, pool)
    ok = executor.submit(lambda a, b=0: a + b, 1, b=2)
    bad = executor.submit(lambda: 1 / 0)
    interrupted = executor.submit(_raise_keyboard_interrupt)
    assert ok.result(10) == 3
    with pytest.raises(ZeroDivisionError):
        bad.result(10)
    with pytest.raises(KeyboardInterrupt):
        interrupted.result(10)
    executor.shutdown()
    # The pool lost no worker to the errors.
    wait_until(lambda: pool.idle_count == len(pool.threads))


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


def test_shutdown_waits_only_for_its_own_tasks(pool):
    slow, fast = BorrowingExecutor(2, pool), BorrowingExecutor(2, pool)
    release, ran = threading.Event(), []
    blocked = slow.submit(release.wait, 10)
    fast.submit(ran.append, 'fast')
    fast.shutdown()
    assert ran == ['fast']
    assert not blocked.done()
    release.set()
    slow.shutdown()
    assert blocked.result() is True


def test_shutdown_waits_for_queued_and_running_tasks(pool):
    executor = BorrowingExecutor(1, pool)
    done = []
    for i in range(5):
        executor.submit(lambda i=i: (time.sleep(0.01), done.append(i)))
    executor.shutdown(wait=True)
    assert done == [0, 1, 2, 3, 4]


def test_submit_after_shutdown_is_refused(pool):
    executor = BorrowingExecutor(1, pool)
    executor.shutdown()
    with pytest.raises(RuntimeError, match='after shutdown'):
        executor.submit(print)


def test_shutdown_can_cancel_queued_tasks(pool):
    executor = BorrowingExecutor(1, pool)
    release = threading.Event()
    running = executor.submit(release.wait, 10)
    queued = [executor.submit(print) for _ in range(3)]
    wait_until(running.running)
    release.set()
    executor.shutdown(cancel_futures=True)
    assert running.result() is True
    assert all(f.cancelled() or f.done() for f in queued)


def test_workers_are_reused_across_executors(pool):
    first = BorrowingExecutor(1, pool)
    thread = first.submit(threading.current_thread).result(10)
    first.shutdown()
    wait_until(lambda: pool.idle_count == 1)
    second = BorrowingExecutor(1, pool)
    assert second.submit(threading.current_thread).result(10) is thread
    second.shutdown()
    assert pool.threads == [thread]
    assert thread.name.startswith(threads.THREAD_NAME_PREFIX)


def test_a_task_waiting_on_another_executor_does_not_starve_it(pool):
    outer, inner = BorrowingExecutor(1, pool), BorrowingExecutor(1, pool)

    def nested():
        return inner.submit(lambda: 'inner').result(10)

    assert outer.submit(nested).result(10) == 'inner'
    outer.shutdown()
    inner.shutdown()


def test_idle_workers_exit_after_the_idle_timeout():
    pool = WorkerPool(idle_timeout=0.05)
    executor = BorrowingExecutor(4, pool)
    release = threading.Event()
    for _ in range(4):
        executor.submit(release.wait, 10)
    wait_until(lambda: len(pool.threads) == 4)
    started = pool.threads
    release.set()
    executor.shutdown()
    wait_until(lambda: not pool.threads)
    for thread in started:
        thread.join(5)
        assert not thread.is_alive()


def test_closed_pool_lets_busy_work_finish_and_refuses_more():
    pool = WorkerPool()
    executor = BorrowingExecutor(1, pool)
    release, done = threading.Event(), []
    executor.submit(release.wait, 10)
    executor.submit(done.append, 'queued')
    idle = BorrowingExecutor(1, pool)
    idle.submit(print).result(10)
    wait_until(lambda: pool.idle_count == 1)
    pool.close()
    wait_until(lambda: pool.idle_count == 0)
    release.set()
    executor.shutdown()
    assert done == ['queued']
    wait_until(lambda: not pool.threads)
    with pytest.raises(RuntimeError):
        BorrowingExecutor(1, pool).submit(print)


def test_max_workers_must_be_positive():
    with pytest.raises(ValueError):
        BorrowingExecutor(0)
    assert BorrowingExecutor()._max_workers >= 1


def test_after_fork_an_executor_borrows_afresh(pool):
    executor = BorrowingExecutor(1, pool)
    executor._borrowed = 1  # as if its drainer had been running in the parent
    executor._after_fork()
    assert executor.submit(lambda: 'ok').result(10) == 'ok'
    executor.shutdown()


def test_many_threads_submitting_to_one_executor(pool):
    executor = BorrowingExecutor(4, pool)
    results, lock = [], threading.Lock()

    def submit_many(base):
        for i in range(100):
            executor.submit(lambda i=i: _append(lock, results, base + i))

    submitters = [
        threading.Thread(target=submit_many, args=(k * 1000,)) for k in range(8)
    ]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join(10)
    executor.shutdown()
    assert sorted(results) == sorted(k * 1000 + i for k in range(8) for i in range(100))


def _append(lock, results, value):
    with lock:
        results.append(value)


@pytest.fixture
def fresh_fast_path(fast_paths_on):
    threads.SUBMITTING_THREAD_RUNS_REQUEST.reset()
    yield
    threads.SUBMITTING_THREAD_RUNS_REQUEST.reset()


def chain(pool, submissions, requests, record, release=None, go=None):
    """A submission task whose last act submits a request task."""

    def request():
        record.append(('request', threading.current_thread()))

    def submission():
        record.append(('submission', threading.current_thread()))
        if go is not None:
            go.wait(10)
        with threads.last_submission():
            future = requests.submit(request)
        record.append(('submitted', future.done()))
        if release is not None:
            release.wait(10)
        return future

    return submissions.submit(submission)


def test_the_last_submission_runs_next_on_the_submitting_thread(pool, fresh_fast_path):
    submissions, requests = BorrowingExecutor(5, pool), BorrowingExecutor(10, pool)
    record = []
    request_future = chain(pool, submissions, requests, record).result(10)
    request_future.result(10)
    assert [r[0] for r in record] == ['submission', 'submitted', 'request']
    assert record[1] == ('submitted', False)  # queued, not run inside the submit
    assert record[0][1] is record[2][1]
    submissions.shutdown()
    requests.shutdown()
    assert requests._borrowed == 0 and submissions._borrowed == 0


def test_without_fast_paths_the_request_goes_to_another_worker(pool, monkeypatch):
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    submissions, requests = BorrowingExecutor(5, pool), BorrowingExecutor(10, pool)
    record = []
    release = threading.Event()
    request_future = chain(pool, submissions, requests, record, release).result
    # The request runs while the submission task still waits: another thread.
    wait_until(lambda: len(record) == 3)
    release.set()
    request_future(10).result(10)
    assert record[0][1] is not record[2][1]
    submissions.shutdown()
    requests.shutdown()


def test_a_busy_submission_executor_hands_the_request_to_another_worker(
    pool, fresh_fast_path
):
    submissions, requests = BorrowingExecutor(1, pool), BorrowingExecutor(10, pool)
    record = []
    release, go = threading.Event(), threading.Event()
    first = chain(pool, submissions, requests, record, release, go)
    queued = submissions.submit(record.append, ('queued', None))
    go.set()
    # The submission executor has queued work: the request does not wait behind it.
    wait_until(lambda: any(r[0] == 'request' for r in record))
    release.set()
    first.result(10).result(10)
    queued.result(10)
    submission_thread = record[0][1]
    request_thread = next(r[1] for r in record if r[0] == 'request')
    assert request_thread is not submission_thread
    submissions.shutdown()
    requests.shutdown()


def test_a_full_request_executor_queues_the_last_submission(pool, fresh_fast_path):
    submissions, requests = BorrowingExecutor(5, pool), BorrowingExecutor(1, pool)
    release, record = threading.Event(), []
    blocker = requests.submit(release.wait, 10)
    wait_until(blocker.running)
    request_future = chain(pool, submissions, requests, record).result(10)
    assert not request_future.done()  # waits for the request executor's one slot
    release.set()
    request_future.result(10)
    submissions.shutdown()
    requests.shutdown()
    assert requests._borrowed == 0


def test_work_arriving_meanwhile_is_handed_on_with_the_slot(pool, fresh_fast_path):
    submissions, requests = BorrowingExecutor(5, pool), BorrowingExecutor(1, pool)
    release, more = threading.Event(), []

    def request():
        more.append(requests.submit(more.append, 'later'))
        release.wait(10)

    def submission():
        with threads.last_submission():
            return requests.submit(request)

    submissions.submit(submission).result(10)
    wait_until(lambda: len(more) == 1)
    release.set()
    more[0].result(10)
    assert more[1] == 'later'
    requests.shutdown()
    submissions.shutdown()
