"""Building blocks for the fault suite: bounded waits, proxy actions, null endpoint.

Every helper here bounds its waits, so a transfer that hangs fails its test instead
of stalling the suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes3 import error_response, null_client  # noqa: F401  (re-exported)
from tests.faults.proxy import Action, RequestInfo, Rule, internal_error, slow_down
from tests.helpers import PatternStream  # noqa: F401  (re-exported)

MiB = 1024 * 1024
HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


class Hung(AssertionError):
    """A wait that should have ended did not end in time."""


def run_within(function: Callable[[], Any], seconds: float = 30) -> Any:
    """``function()`` in a helper thread, failing if it takes over ``seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome['result'] = function()
        except BaseException as e:  # noqa: B036 - handed back to the caller
            outcome['error'] = e

    thread = threading.Thread(target=run, name='run-within', daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise Hung(f'{function!r} still running after {seconds} s')
    if 'error' in outcome:
        raise outcome['error']
    return outcome['result']


def result_within(future: Any, seconds: float = 30) -> Any:
    """``future.result()``, failing if the transfer is not done within ``seconds``."""
    return run_within(future.result, seconds)


def call_within(function: Callable[[], Any], seconds: float = 30) -> float:
    """Run ``function()`` like ``run_within``; return how long it took."""
    started = time.monotonic()
    run_within(function, seconds)
    return time.monotonic() - started


def wait_until(
    condition: Callable[[], bool], seconds: float = 10, interval: float = 0.02
) -> None:
    """Poll ``condition`` until true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise Hung(f'{condition!r} still false after {seconds} s')


def open_uploads(client: Any, bucket: str) -> list[dict]:
    """The multipart uploads still open in ``bucket``."""
    return client.list_multipart_uploads(Bucket=bucket).get('Uploads', [])


@dataclass
class AcceptPart(Action):
    """Answer an UploadPart as S3 would, after ``seconds``, without storing it.

    Keeps a large upload going for a while without the local server spending CPU
    on parts nobody will read.
    """

    seconds: float = 0.3

    def handle(self, handler: Any, request: RequestInfo) -> None:
        time.sleep(min(self.seconds, 30))
        etag = f'"{hashlib.md5(request.body).hexdigest()}"'
        handler.send_raw_response(200, [('ETag', etag)], b'')


def aborted_upload_ids(proxy: Any) -> set[str]:
    """The upload ids the proxy saw aborted (a retried abort counts once)."""
    return {
        event.query['uploadId'][0] for event in proxy.events_for('AbortMultipartUpload')
    }


def part_number(request: RequestInfo) -> int | None:
    """The ``partNumber`` of an UploadPart/UploadPartCopy request."""
    values = request.query.get('partNumber')
    return int(values[0]) if values else None


class Gate:
    """A ``Hook`` function that holds requests in the proxy until ``open()``.

    Held requests cannot complete before the test acts, whatever the machine's load;
    the hold is capped at ``limit`` seconds.
    """

    def __init__(self, limit: float = 15) -> None:
        self._event = threading.Event()
        self._limit = limit

    def __call__(self, request: RequestInfo) -> None:
        self._event.wait(self._limit)

    def open(self) -> None:
        """Let held and future requests through."""
        self._event.set()


def range_start(request: RequestInfo) -> int | None:
    """The first byte of a ranged GetObject's ``Range`` (``bytes=N-...``)."""
    value = request.headers.get('Range')
    if not value or not value.startswith('bytes='):
        return None
    return int(value[len('bytes=') :].split('-', 1)[0])


class FirstAttempts:
    """A ``Rule.match``: true for the first ``attempts`` requests of chosen parts.

    Picking parts by number (not by chance) keeps the fault pattern exact under any
    thread interleaving. ``key`` says what identifies a part: its ``partNumber`` by
    default, or e.g. ``range_start`` for ranged GETs.
    """

    def __init__(
        self,
        part_numbers: Iterable[int],
        attempts: int = 1,
        key: Callable[[RequestInfo], int | None] = part_number,
    ) -> None:
        self.part_numbers = frozenset(part_numbers)
        self._attempts = attempts
        self._key = key
        self._seen: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: RequestInfo) -> bool:
        number = self._key(request)
        if number not in self.part_numbers:
            return False
        with self._lock:
            self._seen[number] = self._seen.get(number, 0) + 1
            return self._seen[number] <= self._attempts


class ReadOnly:
    """Hides ``seek``/``tell`` of a file object so it uploads as a stream."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj

    def read(self, amount: int | None = None) -> bytes:
        return self._fileobj.read(amount)


def put_random(s3_client: Any, bucket: str, size: int, key: str = 'obj') -> bytes:
    """Store ``size`` random bytes as ``key``; return them."""
    data = os.urandom(size)
    s3_client.put_object(Bucket=bucket, Key=key, Body=data)
    return data


def add_transient_part_faults(
    proxy: Any,
    operation: str,
    slow_down_parts: set[int],
    internal_error_parts: set[int],
) -> list[Rule]:
    """503 on the first attempt of some parts, 500 on others, and on one complete."""
    return [
        proxy.add_rule(
            Rule(slow_down(), operation=operation, match=FirstAttempts(slow_down_parts))
        ),
        proxy.add_rule(
            Rule(
                internal_error(),
                operation=operation,
                match=FirstAttempts(internal_error_parts),
            )
        ),
        proxy.add_rule(
            Rule(internal_error(), operation='CompleteMultipartUpload', times=1)
        ),
    ]


def start_child(script: str, *args: Any) -> subprocess.Popen:
    """Start ``tests/faults/<script>`` in a fresh interpreter, its output piped."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, str(HERE / script), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_if_running(child: subprocess.Popen) -> None:
    """Kill ``child`` unless it has already ended, and reap it."""
    if child.poll() is None:
        child.kill()
        child.wait(timeout=10)


def run_child(script: str, *args: Any, timeout: float = 120) -> dict:
    """Run ``tests/faults/<script>`` in a fresh interpreter; its last line is JSON."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    completed = subprocess.run(
        [sys.executable, str(HERE / script), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
