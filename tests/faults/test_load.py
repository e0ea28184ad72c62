"""Load: many transfers at once, one huge stream, the tightest limits; nothing stuck."""

import collections
import io
import os

import pytest

from s3transfer.exceptions import CancelledError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.scenarios import (
    MiB,
    ReadOnly,
    call_within,
    null_client,
    open_uploads,
    result_within,
    run_child,
)
from tests.helpers import WriteOnly

pytestmark = pytest.mark.timeout(180)

GiB = 1024 * MiB


def growth(report):
    # The baseline is genuine: no peak inherited from the (large) test process.
    assert report['start_maxrss'] - report['start_rss'] < 8 * MiB
    return report['peak_rss'] - report['start_rss']


def test_two_thousand_small_uploads_at_once():
    report = run_child('load_child.py', 'many', 2000, timeout=150)

    assert report['operations'] == {'PutObject': 2000}
    assert report['bytes_received'] == {'PutObject': 2000 * 600}
    assert growth(report) < 100 * MiB, f'grew {growth(report) / MiB:.1f} MiB'


def test_one_gib_non_seekable_upload_stays_within_its_memory_bound():
    report = run_child('load_child.py', 'stream', GiB, timeout=150)
    chunksize = report['chunksize']
    parts = GiB // chunksize

    assert report['bytes_received']['UploadPart'] == GiB
    assert report['operations'] == {
        'CreateMultipartUpload': 1,
        'UploadPart': parts,
        'CompleteMultipartUpload': 1,
    }
    bound = (report['max_in_memory_upload_chunks'] + 4) * chunksize
    assert growth(report) < bound, f'grew {growth(report) / MiB:.1f} MiB'


def test_shutdown_cancel_with_two_thousand_queued_uploads():
    client, endpoint = null_client({'PutObject': 0.01})
    manager = TransferManager(client)
    futures = [
        manager.upload(io.BytesIO(b'x'), 'bucket', f'key-{n}') for n in range(2000)
    ]

    elapsed = call_within(lambda: manager.shutdown(cancel=True), 30)

    assert all(future.done() for future in futures)
    outcomes = collections.Counter(outcome(future) for future in futures)
    assert outcomes['cancelled'] > 1000
    assert outcomes['ok'] + outcomes['cancelled'] == 2000
    assert endpoint.operations['PutObject'] == outcomes['ok']
    assert elapsed < 10


def outcome(future):
    try:
        future.result()
    except CancelledError:
        return 'cancelled'
    return 'ok'


# The smallest legal limits everywhere: one thread, one queued task, one buffer.
TIGHT = {
    'max_request_concurrency': 1,
    'max_submission_concurrency': 1,
    'max_request_queue_size': 1,
    'max_submission_queue_size': 1,
    'max_io_queue_size': 1,
    'max_in_memory_upload_chunks': 1,
    'max_in_memory_download_chunks': 1,
}


def download_target(kind, path):
    return {
        'download-filename': lambda: str(path),
        'download-seekable': io.BytesIO,
        'download-stream': WriteOnly,
    }[kind]()


def written(target):
    if isinstance(target, str):
        with open(target, 'rb') as f:
            return f.read()
    if isinstance(target, WriteOnly):
        return b''.join(target.parts)
    return target.getvalue()


def start_transfer(manager, kind, bucket, data, path, n):
    """Start transfer ``n`` of ``kind``; return its future and what it writes to."""
    if kind.startswith('download'):
        target = download_target(kind, path.with_name(f'out{n}'))
        return manager.download(bucket, 'source', target), target
    if kind == 'copy':
        source = {'Bucket': bucket, 'Key': 'source'}
        return manager.copy(source, bucket, f'k{n}'), f'k{n}'
    source = {
        'upload-filename': lambda: str(path),
        'upload-seekable': lambda: io.BytesIO(data),
        'upload-stream': lambda: ReadOnly(io.BytesIO(data)),
    }[kind]()
    return manager.upload(source, bucket, f'k{n}'), f'k{n}'


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    'kind',
    [
        'upload-filename',
        'upload-seekable',
        'upload-stream',
        'download-filename',
        'download-seekable',
        'download-stream',
        'copy',
    ],
)
def test_three_transfers_at_once_under_the_tightest_limits(
    small_parts, s3_client, bucket, tmp_path, kind
):
    data = os.urandom(5 * small_parts + 3)
    s3_client.put_object(Bucket=bucket, Key='source', Body=data)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    config = TransferConfig(
        multipart_threshold=small_parts, multipart_chunksize=small_parts, **TIGHT
    )
    with TransferManager(s3_client, config) as manager:
        started = [
            start_transfer(manager, kind, bucket, data, path, n) for n in range(3)
        ]
        for future, _ in started:
            result_within(future, 20)

    for _, target in started:
        if kind.startswith('download'):
            assert written(target) == data
        else:
            body = s3_client.get_object(Bucket=bucket, Key=target)['Body'].read()
            assert body == data
    assert open_uploads(s3_client, bucket) == []
