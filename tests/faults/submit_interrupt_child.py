"""Child for test_shutdown: Ctrl-C while ``upload()`` waits for a submission slot.

The first upload's ``on_queued`` holds the only submission slot, so the second
``upload()`` call blocks; the parent's SIGINT interrupts it. The child then lets the
first upload finish and shuts down, printing each step; a hung shutdown prints
``hung`` and exits with status 3.
"""

import io
import os
import threading

from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.faults.scenarios import null_client

WAIT = 10


class HoldQueued(BaseSubscriber):
    """Blocks the submission thread in ``on_queued`` until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def on_queued(self, future, **kwargs) -> None:
        self.release.wait(WAIT)


def shut_down_within(manager: TransferManager, seconds: float) -> bool:
    thread = threading.Thread(target=manager.shutdown, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def main() -> None:
    client, _ = null_client()
    config = TransferConfig(max_submission_concurrency=1, max_submission_queue_size=1)
    manager = TransferManager(client, config)
    hold = HoldQueued()
    first = manager.upload(io.BytesIO(b'first'), 'bucket', 'k1', subscribers=[hold])
    print('blocking', flush=True)
    try:
        manager.upload(io.BytesIO(b'second'), 'bucket', 'k2')
        print('not blocked', flush=True)
    except KeyboardInterrupt:
        print('interrupted', flush=True)
    hold.release.set()
    first.result()
    if shut_down_within(manager, 5):
        print('shut down', flush=True)
        return
    print('hung', flush=True)
    os._exit(3)


if __name__ == '__main__':
    main()
