"""Unit tests of BoundedExecutor's queue slots: one task may stand for several items."""

import threading

import pytest

from s3transfer.futures import BoundedExecutor
from s3transfer.utils import NoResourcesAvailable


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
