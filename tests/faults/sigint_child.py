"""Child for test_sigint: a transfer inside ``with TransferManager``, then Ctrl-C.

Usage: ``python sigint_child.py MODE ENDPOINT_URL BUCKET KEY SIZE_OR_PATH``. MODE:

* ``upload``: stream SIZE bytes, waiting in ``result()``;
* ``upload-exit``: the same, waiting in the ``with`` block's exit;
* ``upload-worker-signal``: like ``upload``, but once bytes flow the child sends
  SIGINT to one of its *worker* threads (the OS may route a real Ctrl-C there too)
  and prints ``signalled``;
* ``download``: into the file PATH, waiting in ``result()``.

Prints ``started`` once the transfer is submitted.
"""

import signal
import sys
import threading

from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.fakes3 import offline_client
from tests.faults.scenarios import PatternStream

MiB = 1024 * 1024


class FirstProgress(BaseSubscriber):
    """Sets ``seen`` on the first progress report."""

    def __init__(self) -> None:
        self.seen = threading.Event()

    def on_progress(self, future, bytes_transferred, **kwargs) -> None:
        self.seen.set()


def signal_a_worker_thread(progress: FirstProgress) -> None:
    """From a non-main thread, once bytes flow, SIGINT that same thread."""

    def send() -> None:
        if progress.seen.wait(30):
            print('signalled', flush=True)
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    threading.Thread(target=send, daemon=True).start()


def main() -> None:
    mode, endpoint_url, bucket, key, target = sys.argv[1:6]
    client = offline_client(
        endpoint_url, s3={'addressing_style': 'path'}, retries={'max_attempts': 2}
    )
    config = TransferConfig()
    if mode == 'download':
        # Few threads: the delayed GETs keep the download running for seconds.
        config = TransferConfig(
            multipart_threshold=MiB, multipart_chunksize=MiB, max_request_concurrency=2
        )
    progress = FirstProgress()
    with TransferManager(client, config) as manager:
        if mode == 'download':
            future = manager.download(bucket, key, target)
        else:
            stream = PatternStream(int(target))
            future = manager.upload(stream, bucket, key, subscribers=[progress])
        print('started', flush=True)
        if mode == 'upload-worker-signal':
            signal_a_worker_thread(progress)
        if mode != 'upload-exit':
            future.result()
    print('finished', flush=True)


if __name__ == '__main__':
    main()
