"""Objects per second of ``s3transfer.distributed`` at 1 and 2 Dask workers.

    python benchmarks/scale_out.py                  # 2,000 objects of 64 KiB each way
    python benchmarks/scale_out.py --objects 500 --workers 1 2 4 --size 1MiB

Needs this checkout importable, the ``dask`` extra and ``localbucket`` (the local S3
server, run as a subprocess on 127.0.0.1 with a throw-away data folder). For each
worker count it starts a ``LocalCluster`` of single-threaded worker processes, warms
the per-worker transfer managers with a small job, then times a copy (S3 to S3), an
upload (folder to S3) and a download (S3 to folder) of ``--objects`` objects, checks
every byte, and prints one Markdown table row per run. Wall-clock numbers on a shared
machine vary with its load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil  # a dependency of dask.distributed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from s3transfer import distributed  # noqa: E402
from s3transfer.jobs import S3Options  # noqa: E402
from s3transfer.sizes import parse_size  # noqa: E402

_SERVER = """
import logging, sys
from http.server import ThreadingHTTPServer
from pathlib import Path
import localbucket
logging.getLogger('localbucket').setLevel(logging.WARNING)
localbucket.S3Handler.data_root = Path(sys.argv[1]).resolve()
ThreadingHTTPServer.daemon_threads = True
address = ('127.0.0.1', int(sys.argv[2]))
ThreadingHTTPServer(address, localbucket.S3Handler).serve_forever()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, default=2000)
    parser.add_argument('--size', type=parse_size, default=64 * 1024)
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument(
        '--directions', nargs='+', default=['copy', 'upload', 'download']
    )
    parser.add_argument('--batch-files', type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix='s3transfer-scale-'))
    server, endpoint = _start_server(work / 'data')
    try:
        _run(args, work, endpoint, server.pid)
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, work: Path, endpoint: str, server_pid: int) -> None:
    from distributed import Client, LocalCluster

    s3 = S3Options(
        endpoint_url=endpoint,
        region_name='us-east-1',
        addressing_style='path',
        aws_access_key_id='bench',
        aws_secret_access_key='bench',
    )
    data = work / 'data'
    source = work / 'source'
    for bucket in ('src', 'dst', 'warm'):
        (data / bucket).mkdir(parents=True)
    expected = _make_objects(source, args.objects, args.size)
    shutil.copytree(source, data / 'src' / 'objects')
    _make_objects(data / 'warm' / 'w', 20, 1024)
    print(
        f'{args.objects} objects of {args.size} bytes, batches of {args.batch_files};'
    )
    print(f'load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n')
    print(
        '| direction | workers | objects | seconds | objects/s | MB/s '
        '| CPU ms/object: workers | server | client |'
    )
    print('|---|---|---|---|---|---|---|---|---|')
    server = psutil.Process(server_pid)
    me = psutil.Process()
    options = {'s3': s3, 'batch_files': args.batch_files}
    for workers in args.workers:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host='127.0.0.1',
                dashboard_address='127.0.0.1:0',  # loopback only, any free port
                silence_logs=40,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(workers)
            pids = client.run(os.getpid).values()
            processes = {'workers': [psutil.Process(pid) for pid in pids]}
            processes.update(server=[server], client=[me])
            # Start every worker's manager (client, threads) before timing.
            distributed.copy(client, 'warm', 'w/', 'warm', 'w2/', **options)
            for direction in args.directions:
                target = work / f'out-{workers}'
                before = _cpu(processes)
                started = time.monotonic()
                if direction == 'copy':
                    result = distributed.copy(
                        client, 'src', 'objects/', 'dst', f'w{workers}/', **options
                    )
                    check = data / 'dst' / f'w{workers}'
                elif direction == 'upload':
                    result = distributed.upload(
                        client, str(source), 'dst', f'up{workers}/', **options
                    )
                    check = data / 'dst' / f'up{workers}'
                else:
                    result = distributed.download(
                        client, 'src', 'objects/', str(target), **options
                    )
                    check = target
                elapsed = time.monotonic() - started
                cpu = {k: v - before[k] for k, v in _cpu(processes).items()}
                if result.done != args.objects or _digests(check) != expected:
                    raise SystemExit(f'{direction}: wrong result {result}')
                rate = args.objects / elapsed
                print(
                    f'| {direction} | {workers} | {args.objects} | {elapsed:.1f} | '
                    f'{rate:.0f} | {rate * args.size / 1e6:.1f} | '
                    + ' | '.join(
                        f'{cpu[name] * 1000 / args.objects:.1f}'
                        for name in ('workers', 'server', 'client')
                    )
                    + ' |',
                    flush=True,
                )
    print(f'\nload average after: {os.getloadavg()[0]:.2f}')


def _cpu(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    """User+system CPU seconds of each group of processes (children excluded)."""
    return {
        name: sum(sum(p.cpu_times()[:2]) for p in group)
        for name, group in processes.items()
    }


def _make_objects(folder: Path, count: int, size: int) -> dict[str, str]:
    digests = {}
    for index in range(count):
        relative = f'd{index % 20:02d}/o{index:06d}'
        seed = hashlib.sha256(relative.encode()).digest()
        body = (seed * (size // len(seed) + 1))[:size]
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        digests[relative] = hashlib.sha256(body).hexdigest()
    return digests


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in folder.rglob('*')
        if path.is_file()
    }


def _start_server(data: Path) -> tuple[subprocess.Popen, str]:
    data.mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, '-c', _SERVER, str(data), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return server, f'http://127.0.0.1:{port}'
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit('localbucket did not start')


if __name__ == '__main__':
    main()
