"""Unit tests of s3transfer.download's streaming writes: in-order release, batching."""

import logging
import random
import threading

import pytest

from s3transfer.download import DownloadNonSeekableOutputManager, IOStreamingWriteTask
from s3transfer.futures import BoundedExecutor, NonThreadedExecutor, TransferCoordinator
from s3transfer.utils import OSUtils
from tests.helpers import WriteOnly
from tests.unit.test_futures_queue_slots import Slots

# Batched streaming writes are a fast path: run them even when CI turns those off.
pytestmark = pytest.mark.usefixtures('fast_paths_on')


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
