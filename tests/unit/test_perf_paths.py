"""Unit tests of the performance shortcuts: batched streaming writes, cheap helpers."""

import logging
import random
import string
import threading

import pytest

from s3transfer.download import DownloadNonSeekableOutputManager, IOStreamingWriteTask
from s3transfer.futures import BoundedExecutor, NonThreadedExecutor, TransferCoordinator
from s3transfer.utils import NoResourcesAvailable, OSUtils, random_file_extension
from tests.helpers import WriteOnly


class CountingExecutor(BoundedExecutor):
    """An inline bounded executor that records every submitted task."""

    def __init__(self):
        super().__init__(1000, 1, executor_cls=NonThreadedExecutor)
        self.tasks = []

    def submit(self, task, tag=None, block=True):
        self.tasks.append(task)
        return super().submit(task, tag=tag, block=block)


@pytest.fixture
def coordinator():
    return TransferCoordinator(transfer_id=1)


def make_manager(coordinator, executor):
    return DownloadNonSeekableOutputManager(OSUtils(), coordinator, executor)


def test_writes_released_together_go_out_as_one_io_task(coordinator):
    executor = CountingExecutor()
    target = WriteOnly()
    manager = make_manager(coordinator, executor)
    manager.queue_file_io_task(target, b'ef', 4)
    manager.queue_file_io_task(target, b'cd', 2)
    assert executor.tasks == []
    manager.queue_file_io_task(target, b'ab', 0)
    assert len(executor.tasks) == 1
    assert target.parts == [b'ab', b'cd', b'ef']
    manager.queue_file_io_task(target, b'gh', 6)
    assert len(executor.tasks) == 2
    assert isinstance(executor.tasks[1], IOStreamingWriteTask)
    assert target.parts == [b'ab', b'cd', b'ef', b'gh']
    assert coordinator.exception is None


def test_a_failed_write_in_a_batch_fails_the_transfer_and_stops_later_writes(
    coordinator,
):
    executor = CountingExecutor()
    target = WriteOnly(fail_on=b'cd')
    manager = make_manager(coordinator, executor)
    manager.queue_file_io_task(target, b'ef', 4)
    manager.queue_file_io_task(target, b'cd', 2)
    manager.queue_file_io_task(target, b'ab', 0)
    assert target.parts == [b'ab']
    assert isinstance(coordinator.exception, OSError)
    assert coordinator.status == 'failed'


def test_every_released_write_is_still_logged(coordinator, caplog):
    manager = make_manager(coordinator, CountingExecutor())
    target = WriteOnly()
    manager.queue_file_io_task(target, b'cd', 2)
    with caplog.at_level(logging.DEBUG, logger='s3transfer.download'):
        manager.queue_file_io_task(target, b'ab', 0)
    queued = [r for r in caplog.records if r.getMessage().startswith('Queueing IO')]
    assert len(queued) == 2


def test_random_file_extension_is_hex_of_the_requested_length():
    extensions = {random_file_extension() for _ in range(50)}
    assert len(extensions) == 50
    for extension in extensions:
        assert len(extension) == 8
        assert set(extension) <= set(string.hexdigits)
    assert len(random_file_extension(3)) == 3
    assert random_file_extension(0) == ''


def queue_all(manager, target, chunks):
    for offset, data in chunks:
        manager.queue_file_io_task(target, data, offset)


def test_threaded_out_of_order_chunks_come_out_in_order_exactly_once(coordinator):
    data = bytes(range(256)) * 64
    chunks = [(offset, data[offset : offset + 256]) for offset in range(0, 16384, 256)]
    random.Random(7).shuffle(chunks)
    io_executor = BoundedExecutor(1000, 1)
    target = WriteOnly()
    manager = make_manager(coordinator, io_executor)
    threads = [
        threading.Thread(target=queue_all, args=(manager, target, chunks[i::4]))
        for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    io_executor.shutdown()
    assert b''.join(target.parts) == data
    assert coordinator.exception is None


class Slots:
    """A task standing for ``queue_slots`` queued items; waits for ``gate``."""

    transfer_id = 1

    def __init__(self, queue_slots=1, gate=None):
        self.queue_slots = queue_slots
        self._gate = gate

    def __call__(self, ctx=None):
        if self._gate is not None:
            assert self._gate.wait(10)


def test_a_multi_slot_task_takes_one_slot_per_item_until_it_is_done():
    gate = threading.Event()
    executor = BoundedExecutor(3, 1)
    batch = executor.submit(Slots(2, gate))
    single = executor.submit(Slots(1, gate))
    with pytest.raises(NoResourcesAvailable):
        executor.submit(Slots(1), block=False)
    gate.set()
    batch.result()
    single.result()
    executor.submit(Slots(3)).result()  # all three slots are free again
    executor.shutdown()


def test_a_task_wanting_more_slots_than_exist_takes_them_all_and_runs():
    executor = BoundedExecutor(2, 1)
    future = executor.submit(Slots(50))
    future.result()
    executor.submit(Slots(2), block=False).result()
    executor.shutdown()


def test_a_failed_multi_slot_submit_gives_every_slot_back():
    gate = threading.Event()
    executor = BoundedExecutor(3, 1)
    blocker = executor.submit(Slots(1, gate))
    with pytest.raises(NoResourcesAvailable):
        executor.submit(Slots(3), block=False)
    gate.set()
    blocker.result()
    executor.submit(Slots(3), block=False).result()
    executor.shutdown()


def test_batched_streaming_writes_respect_the_io_queue_bound(coordinator):
    gate = threading.Event()
    io_executor = BoundedExecutor(4, 1)
    target = WriteOnly()
    manager = make_manager(coordinator, io_executor)
    io_executor.submit(Slots(1, gate))  # the io thread is busy: nothing drains
    for offset in (6, 4, 2):
        manager.queue_file_io_task(target, b'xx', offset)
    done = threading.Event()
    releaser = threading.Thread(
        target=lambda: (manager.queue_file_io_task(target, b'ab', 0), done.set())
    )
    releaser.start()
    # 4 writes need 4 slots but the busy task holds one: the producer must wait.
    assert not done.wait(0.2)
    gate.set()
    assert done.wait(10)
    releaser.join(10)
    io_executor.shutdown()
    assert target.parts == [b'ab', b'xx', b'xx', b'xx']
