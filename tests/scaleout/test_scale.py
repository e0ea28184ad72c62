"""Acceptance at scale: 20,000 copies and 5,000 uploads/downloads on two workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scaleout.conftest import tree_digests

# The dask extra is installed in CI's first virtualenv (.ci/run); elsewhere, skip.
distributed = pytest.importorskip(
    's3transfer.distributed', reason='needs the dask extra', exc_type=ImportError
)

CHILD = Path(__file__).with_name('client_child.py')
# Peak RSS growth allowed between a 5,000- and a 20,000-object job (measured: about
# 0.3 MiB; keeping every listed entry and result would add several MiB).
MAX_RSS_GROWTH_MIB = 6


def _copy_in_child(cluster, localbucket, source, dest, count):
    output = subprocess.run(
        [
            sys.executable,
            str(CHILD),
            cluster.scheduler_address,
            localbucket.endpoint,
            source,
            f'n{count}/',
            dest,
            f'n{count}/',
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, 'PYTHONPATH': os.pathsep.join(sys.path)},
    )
    assert output.returncode == 0, output.stderr[-3000:]
    return json.loads(output.stdout.strip().splitlines()[-1])


# Minutes of CPU across the client, two workers and the server: on a loaded 2-core
# machine this takes longer than the suite's default 300 s per test.
@pytest.mark.timeout(900)
def test_copy_20000_objects_with_client_memory_independent_of_count(
    localbucket, cluster, client
):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    small = localbucket.put_objects(source, 'n5000/', 5000)
    large = localbucket.put_objects(source, 'n20000/', 20000)

    at_5000 = _copy_in_child(cluster, localbucket, source, dest, 5000)
    at_20000 = _copy_in_child(cluster, localbucket, source, dest, 20000)

    assert (at_5000['done'], at_5000['failed']) == (5000, 0)
    assert (at_20000['done'], at_20000['failed']) == (20000, 0)
    assert tree_digests(localbucket.path(dest, 'n5000')) == small
    assert tree_digests(localbucket.path(dest, 'n20000')) == large
    growth_mib = (at_20000['peak_kib'] - at_5000['peak_kib']) / 1024
    print(
        f'client peak RSS: {at_5000["peak_kib"] / 1024:.1f} MiB at 5,000 objects, '
        f'{at_20000["peak_kib"] / 1024:.1f} MiB at 20,000'
    )
    assert growth_mib < MAX_RSS_GROWTH_MIB


@pytest.mark.timeout(600)
def test_upload_then_download_5000_files(localbucket, client, tmp_path):
    source = tmp_path / 'source'
    bucket = localbucket.new_bucket()
    for index in range(5000):
        path = source / f'd{index % 40:02d}' / f'file{index:05d}.bin'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(64 + index % 512))
    expected = tree_digests(source)

    up = distributed.upload(client, str(source), bucket, 'up', s3=localbucket.s3)
    assert (up.done, up.failed, up.refused) == (5000, 0, 0)
    assert tree_digests(localbucket.path(bucket, 'up')) == expected

    target = tmp_path / 'target'
    down = distributed.download(client, bucket, 'up/', str(target), s3=localbucket.s3)
    assert (down.done, down.failed, down.refused) == (5000, 0, 0)
    assert tree_digests(target) == expected
