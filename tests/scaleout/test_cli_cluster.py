"""``s3transfer cp --recursive ... --cluster ADDRESS`` / ``--workers N``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import free_port
from tests.scaleout.conftest import tree_digests

pytest.importorskip(
    's3transfer.distributed', reason='needs the dask extra', exc_type=ImportError
)


def _cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, '-m', 's3transfer', *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)},
    )


def test_cp_recursive_on_a_cluster_round_trips_a_folder(localbucket, cluster, tmp_path):
    source = tmp_path / 'source'
    for index in range(60):
        path = source / f'sub{index % 3}' / f'file{index}.txt'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(100 + index))
    bucket = localbucket.new_bucket()
    address = cluster.scheduler_address
    endpoint = ('--endpoint-url', localbucket.endpoint)
    log = tmp_path / 'up.jsonl'

    up = _cli(
        'cp',
        '--recursive',
        str(source),
        f's3://{bucket}/data',
        *endpoint,
        '--cluster',
        address,
        '--results-log',
        str(log),
        '--batch-files',
        '7',
    )
    assert up.returncode == 0, up.stderr
    assert '60 transferred' in up.stdout
    assert tree_digests(localbucket.path(bucket, 'data')) == tree_digests(source)

    again = _cli(
        'cp',
        '--recursive',
        str(source),
        f's3://{bucket}/data',
        *endpoint,
        '--cluster',
        address,
        '--results-log',
        str(log),
        '--quiet',
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == ''

    down = _cli(
        'cp',
        '--recursive',
        f's3://{bucket}/data',
        str(tmp_path / 'out'),
        *endpoint,
        '--workers',
        '1',
        timeout=600,
    )
    assert down.returncode == 0, down.stderr
    assert tree_digests(tmp_path / 'out') == tree_digests(source)


def test_cp_cluster_errors_are_clear(localbucket, tmp_path):
    bucket = localbucket.new_bucket()
    endpoint = ('--endpoint-url', localbucket.endpoint)
    nobody = f'tcp://127.0.0.1:{free_port()}'
    (tmp_path / 'a.txt').write_text('a')

    no_scheduler = _cli(
        'cp',
        '--recursive',
        str(tmp_path),
        f's3://{bucket}/',
        *endpoint,
        '--cluster',
        nobody,
    )
    assert no_scheduler.returncode == 1
    assert f'no Dask scheduler answers at {nobody}' in no_scheduler.stderr

    not_recursive = _cli(
        'cp', str(tmp_path / 'a.txt'), f's3://{bucket}/', *endpoint, '--cluster', nobody
    )
    assert not_recursive.returncode == 2
    assert '--cluster/--workers need --recursive' in not_recursive.stderr

    both = _cli(
        'cp',
        '--recursive',
        str(tmp_path),
        f's3://{bucket}/',
        *endpoint,
        '--cluster',
        nobody,
        '--workers',
        '2',
    )
    assert both.returncode == 2
    assert 'not allowed with argument' in both.stderr
