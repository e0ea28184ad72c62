"""A light local S3 server (localbucket) and a real two-process Dask cluster.

moto costs milliseconds of CPU per request; these tests move tens of thousands of
small objects, so they use ``localbucket`` (objects are plain files under a folder,
which also lets the tests create sources and check results without requests).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from s3transfer.jobs import S3Options
from tests.conftest import free_port

_SERVER = """
import logging, sys
from http.server import ThreadingHTTPServer
from pathlib import Path
import localbucket
logging.getLogger('localbucket').setLevel(logging.WARNING)
localbucket.S3Handler.data_root = Path(sys.argv[1]).resolve()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
address = ('127.0.0.1', int(sys.argv[2]))
ThreadingHTTPServer(address, localbucket.S3Handler).serve_forever()
"""


class LocalBucket:
    """A running localbucket server and its data folder."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        self.endpoint = endpoint
        self.s3 = S3Options(
            endpoint_url=endpoint,
            region_name='us-east-1',
            addressing_style='path',
            max_attempts=3,
            aws_access_key_id='testing',
            aws_secret_access_key='testing',
        )

    def new_bucket(self) -> str:
        name = f'dask-{uuid.uuid4().hex[:16]}'
        (self.root / name).mkdir()
        return name

    def path(self, bucket: str, key: str = '') -> Path:
        return self.root / bucket / key if key else self.root / bucket

    def put_objects(self, bucket: str, prefix: str, count: int, size: int = 32) -> dict:
        """Write ``count`` distinct small objects straight into the bucket's folder."""
        digests = {}
        folder = self.path(bucket) / prefix
        for index in range(count):
            relative = f'd{index % 50:02d}/f{index:06d}'
            data = object_bytes(prefix + relative, size)
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            digests[relative] = hashlib.sha256(data).hexdigest()
        return digests


def object_bytes(name: str, size: int) -> bytes:
    """Deterministic, name-dependent content of ``size`` bytes."""
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def tree_digests(folder: Path) -> dict:
    """``relative path -> sha256`` of every file under ``folder``."""
    digests = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            relative = path.relative_to(folder).as_posix()
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


@pytest.fixture(scope='session')
def localbucket(tmp_path_factory):
    root = tmp_path_factory.mktemp('localbucket')
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, '-c', _SERVER, str(root), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError('localbucket did not start') from None
            time.sleep(0.05)
    try:
        yield LocalBucket(root, f'http://127.0.0.1:{port}')
    finally:
        process.kill()
        process.wait(10)


@pytest.fixture(scope='session')
def cluster():
    """A real ``LocalCluster`` of two single-threaded worker processes."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host='127.0.0.1',
        dashboard_address='127.0.0.1:0',  # loopback only, any free port
        silence_logs=40,
    ) as local:
        yield local


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster) as dask_client:
        dask_client.wait_for_workers(2, timeout=60)
        yield dask_client
