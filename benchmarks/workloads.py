"""Benchmark child: run one workload with whichever s3transfer this interpreter has.

Started by run.py as ``<venv>/bin/python workloads.py '<json job>'``; writes timings
and what the (null) server received, as JSON, to the job's ``result`` file.
Stdlib, botocore and s3transfer only, so it runs in both benchmark virtualenvs.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from payload import CrcWriter, PatternReader, key_pos, pattern_slice

# The one fake S3 of tests and benchmarks, imported as a top-level module: putting the
# checkout root on sys.path would shadow the s3transfer installed in this venv.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / 'tests'))
from fakes3 import NULL_ENDPOINT, NullS3, offline_client  # noqa: E402

import s3transfer
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber

WORKLOADS: dict[str, Callable[..., list]] = {}


class Progress(BaseSubscriber):
    """Sums on_progress bytes over all transfers, as a CLI progress bar would."""

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        with self._lock:
            self.total += bytes_transferred

    def __call__(self, bytes_transferred: int) -> None:
        """boto3's ``Callback=``: the same sum."""
        with self._lock:
            self.total += bytes_transferred


def workload(func: Callable[..., list]) -> Callable[..., list]:
    """Register a workload under its function name."""
    WORKLOADS[func.__name__] = func
    return func


@workload
def up_big(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    return [tm.upload(job['src'], job['bucket'], 'up_big', subscribers=[progress])]


@workload
def down_big(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    _serve(server, 'down_big', job['size'])
    return [tm.download(job['bucket'], 'down_big', job['dst'], subscribers=[progress])]


@workload
def copy_big(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    _serve(server, 'copy_src', job['size'])
    source = {'Bucket': job['bucket'], 'Key': 'copy_src'}
    return [tm.copy(source, job['bucket'], 'copy_big', subscribers=[progress])]


@workload
def up_small(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    return [
        tm.upload(
            os.path.join(job['src'], f'{i}'),
            job['bucket'],
            f'up_small/{i}',
            subscribers=[progress],
        )
        for i in range(job['count'])
    ]


@workload
def down_small(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    for i in range(job['count']):
        _serve(server, f'small/{i}', job['size'])
    return [
        tm.download(
            job['bucket'],
            f'small/{i}',
            os.path.join(job['dst'], f'{i}'),
            subscribers=[progress],
        )
        for i in range(job['count'])
    ]


@workload
def up_stream(tm: TransferManager, job: dict, progress: Progress, server: Any) -> list:
    reader = PatternReader(key_pos('up_stream'), job['size'])
    return [tm.upload(reader, job['bucket'], 'up_stream', subscribers=[progress])]


@workload
def down_stream(
    tm: TransferManager, job: dict, progress: Progress, server: Any
) -> list:
    _serve(server, 'down_stream', job['size'])
    writer = job['writer'] = CrcWriter()
    return [tm.download(job['bucket'], 'down_stream', writer, subscribers=[progress])]


# -- boto3 loops: one ``upload_file``/``download_file`` call per file --------------
#
# The most common use of the library: each call builds and shuts down its own
# ``TransferManager`` (boto3's ``S3Transfer`` context). Called as boto3 injects them
# into clients, on the harness's botocore client. Registered in ``LOOPS``: they run
# without the harness's own manager.

LOOPS: dict[str, Callable[..., None]] = {}


def loop(func: Callable[..., None]) -> Callable[..., None]:
    """Register a boto3-loop workload under its function name."""
    LOOPS[func.__name__] = func
    return func


@loop
def up_loop(client: Any, job: dict, progress: Progress, server: Any) -> None:
    from boto3.s3.inject import upload_file  # imported before the clock starts

    for i in range(job['count']):
        path = os.path.join(job['src'], f'{i}')
        upload_file(client, path, job['bucket'], f'up_loop/{i}', Callback=progress)


@loop
def down_loop(client: Any, job: dict, progress: Progress, server: Any) -> None:
    from boto3.s3.inject import download_file  # imported before the clock starts

    for i in range(job['count']):
        _serve(server, f'small/{i}', job['size'])
    for i in range(job['count']):
        path = os.path.join(job['dst'], f'{i}')
        download_file(client, job['bucket'], f'small/{i}', path, Callback=progress)


# -- floors: the same requests from plain botocore calls, one file at a time ----------
#
# No transfer manager, no threads: what each small file costs in botocore (and the null
# server) alone. No s3transfer can spend less per file than this while sending the same
# requests, so ``floor / original`` is the lowest reachable ratio.

FLOORS: dict[str, Callable[..., None]] = {}


def floor(name: str) -> Callable:
    """Register the floor of workload ``name``."""

    def register(func: Callable[..., None]) -> Callable[..., None]:
        FLOORS[name] = func
        return func

    return register


@floor('up_small')
@floor('up_loop')
def _floor_up_small(client: Any, job: dict, progress: Progress, server: Any) -> None:
    prefix = job['workload']
    for i in range(job['count']):
        with open(os.path.join(job['src'], f'{i}'), 'rb') as body:
            client.put_object(Bucket=job['bucket'], Key=f'{prefix}/{i}', Body=body)
        progress.total += job['size']


@floor('down_small')
@floor('down_loop')
def _floor_down_small(client: Any, job: dict, progress: Progress, server: Any) -> None:
    for i in range(job['count']):
        _serve(server, f'small/{i}', job['size'])
    for i in range(job['count']):
        key, path = f'small/{i}', os.path.join(job['dst'], f'{i}')
        client.head_object(Bucket=job['bucket'], Key=key)
        body = client.get_object(Bucket=job['bucket'], Key=key)['Body']
        with open(path + '.floor', 'wb') as f:
            while chunk := body.read(256 * 1024):
                f.write(chunk)
                progress.total += len(chunk)
        os.replace(path + '.floor', path)


def _serve(server: NullS3 | None, key: str, size: int) -> None:
    """Null server only: serve ``key`` (real servers were filled by the parent)."""
    if server is not None:
        server.add_object(key, key_pos(key), size)


def _make_client(job: dict) -> tuple[Any, NullS3 | None]:
    endpoint = job['endpoint'] or NULL_ENDPOINT
    client = offline_client(endpoint, s3={'addressing_style': 'path'})
    server = None
    if not job['endpoint']:
        server = NullS3(content=pattern_slice)
        server.attach(client)
    return client, server


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def run(job: dict) -> dict:
    """Run the job's workload to completion and describe what happened."""
    client, server = _make_client(job)
    if job['workload'] in LOOPS:
        import boto3.s3.inject  # noqa: F401  (boto3's import is not the loop's cost)
    progress = Progress()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0, wall0 = _cpu(), time.perf_counter()
    if job.get('floor'):
        FLOORS[job['workload']](client, job, progress, server)
    elif job['workload'] in LOOPS:
        LOOPS[job['workload']](client, job, progress, server)
    else:
        with TransferManager(client, TransferConfig()) as tm:
            futures = WORKLOADS[job['workload']](tm, job, progress, server)
            for future in futures:
                future.result()
    wall, cpu1 = time.perf_counter() - wall0, _cpu()
    user, system = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    out = {
        's3transfer_file': s3transfer.__file__,
        'wall': wall,
        'cpu': user + system,
        'user': user,
        'sys': system,
        'rss_before_kib': rss_before,
        'progress': progress.total,
    }
    if server is not None:
        out['results'] = server.results
        out['copies'] = server.copies
    if 'writer' in job:
        out['stream'] = [job['writer'].size, job['writer'].crc]
    return out


if __name__ == '__main__':
    job = json.loads(sys.argv[1])
    with open(job['result'], 'w') as f:
        json.dump(run(job), f)
