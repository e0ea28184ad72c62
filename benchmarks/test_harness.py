"""Self-tests of the benchmark harness: ``python -m pytest benchmarks/test_harness.py``.

Pure and fast: pattern maths, aws-chunked de-framing against botocore's encoder, the
null server's canned answers, the plain-botocore floors and the profile summary. No
venvs, no servers.
"""

from __future__ import annotations

import io
import random
import sys
import zlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / 'tests'))  # fakes3, as the benchmark children

import fakes3  # noqa: E402
import payload  # noqa: E402
import run  # noqa: E402
import workloads  # noqa: E402
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum  # noqa: E402


@pytest.mark.parametrize('pos', [0, 5, payload.PERIOD - 3, 3 * payload.PERIOD + 7])
@pytest.mark.parametrize('size', [0, 1, payload.PERIOD + 11, 3 * payload.PERIOD])
def test_pattern_slices_agree_with_blocks_and_crc(pos: int, size: int) -> None:
    data = payload.pattern_slice(pos, size)
    assert len(data) == size
    assert b''.join(payload.iter_pattern(pos, size, 4099)) == data
    assert payload.pattern_crc(pos, size) == zlib.crc32(data)


def test_pattern_is_periodic_but_parts_are_not_aligned() -> None:
    period = payload.PERIOD
    assert payload.pattern_slice(period + 10, 100) == payload.pattern_slice(10, 100)
    part = 8 << 20
    assert payload.pattern_slice(0, 64) != payload.pattern_slice(part, 64)


def test_reader_and_writer_are_non_seekable_and_exact() -> None:
    reader = payload.PatternReader(123, 10_000)
    writer = payload.CrcWriter()
    assert not reader.seekable() and reader.readable() and not writer.seekable()
    while chunk := reader.read(777):
        writer.write(chunk)
    assert (writer.size, writer.crc) == (10_000, payload.pattern_crc(123, 10_000))


_MIB = 1 << 20
_CHUNKED_CASES = [(0, 16384), (1, 1), (1000, 1), (1000, 7), (_MIB + 1, 16384)]
_CHUNKED_CASES += [(_MIB + 1, 4099), (3 * _MIB + 5, 16384)]


@pytest.mark.parametrize(('size', 'blocksize'), _CHUNKED_CASES)
def test_aws_chunked_bodies_are_deframed(
    size: int, blocksize: int, monkeypatch
) -> None:
    data = random.Random(size).randbytes(size)
    body = AwsChunkedWrapper(
        io.BytesIO(data), Crc32Checksum, checksum_name='x-amz-checksum-crc32'
    )
    monkeypatch.setattr(fakes3, 'SEND_BLOCKSIZE', blocksize)
    assert fakes3.consume_body(body, True) == (size, zlib.crc32(data))


def test_plain_bodies_are_consumed_whole() -> None:
    assert fakes3.consume_body(b'abc') == (3, zlib.crc32(b'abc'))
    assert fakes3.consume_body(io.BytesIO(b'x' * 40000)) == (
        40000,
        zlib.crc32(b'x' * 40000),
    )
    assert fakes3.consume_body(None) == (0, 0)


def _client():
    client = fakes3.offline_client(fakes3.NULL_ENDPOINT)
    server = fakes3.NullS3(content=payload.pattern_slice)
    server.attach(client)
    return client, server


def test_null_server_serves_ranges_heads_and_multipart() -> None:
    client, server = _client()
    server.add_object('k', 99, 1000)
    head = client.head_object(Bucket='b', Key='k')
    assert head['ContentLength'] == 1000
    got = client.get_object(Bucket='b', Key='k', Range='bytes=10-19')
    assert got['ContentRange'] == 'bytes 10-19/1000'
    assert got['Body'].read() == payload.pattern_slice(109, 10)
    tail = client.get_object(Bucket='b', Key='k', Range='bytes=990-')
    assert tail['Body'].read() == payload.pattern_slice(1089, 10)
    upload_id = client.create_multipart_upload(Bucket='b', Key='m')['UploadId']
    etags = [
        client.upload_part(
            Bucket='b', Key='m', UploadId=upload_id, PartNumber=n, Body=body
        )['ETag']
        for n, body in ((1, b'hello '), (2, b'world'))
    ]
    parts = [{'ETag': e, 'PartNumber': n} for n, e in enumerate(etags, 1)]
    client.complete_multipart_upload(
        Bucket='b', Key='m', UploadId=upload_id, MultipartUpload={'Parts': parts}
    )
    assert server.results['m'] == [
        [1, 6, zlib.crc32(b'hello ')],
        [2, 5, zlib.crc32(b'world')],
    ]


def test_floors_send_the_workloads_requests_one_file_at_a_time(tmp_path) -> None:
    assert set(workloads.FLOORS) == set(run.FLOOR_WORKLOADS)
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    src.mkdir()
    dst.mkdir()
    for i in range(3):
        (src / f'{i}').write_bytes(payload.pattern_slice(i, 100))
    job = {'bucket': 'b', 'count': 3, 'size': 100, 'src': str(src), 'dst': str(dst)}
    client, server = _client()
    progress = workloads.Progress()
    workloads.FLOORS['up_small'](
        client, {**job, 'workload': 'up_small'}, progress, server
    )
    for i in range(3):
        data = payload.pattern_slice(i, 100)
        assert server.results[f'up_small/{i}'] == [[1, 100, zlib.crc32(data)]]
    workloads.FLOORS['down_small'](
        client, {**job, 'workload': 'down_small'}, progress, server
    )
    for i in range(3):
        key_pos = payload.key_pos(f'small/{i}')
        assert (dst / f'{i}').read_bytes() == payload.pattern_slice(key_pos, 100)
    assert progress.total == 600
    assert sorted(p.name for p in dst.iterdir()) == ['0', '1', '2']


def test_boto3_loops_send_one_transfer_per_call(tmp_path) -> None:
    pytest.importorskip('boto3')
    assert set(run.LOOP_WORKLOADS) == set(workloads.LOOPS)
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    src.mkdir()
    dst.mkdir()
    for i in range(3):
        (src / f'{i}').write_bytes(payload.pattern_slice(i, 100))
    job = {'bucket': 'b', 'count': 3, 'size': 100, 'src': str(src), 'dst': str(dst)}
    client, server = _client()
    progress = workloads.Progress()
    workloads.LOOPS['up_loop'](client, {**job, 'workload': 'up_loop'}, progress, server)
    for i in range(3):
        data = payload.pattern_slice(i, 100)
        assert server.results[f'up_loop/{i}'] == [[1, 100, zlib.crc32(data)]]
    workloads.LOOPS['down_loop'](
        client, {**job, 'workload': 'down_loop'}, progress, server
    )
    for i in range(3):
        key_pos = payload.key_pos(f'small/{i}')
        assert (dst / f'{i}').read_bytes() == payload.pattern_slice(key_pos, 100)
    assert progress.total == 600


def test_profile_summary_attributes_samples_to_owners() -> None:
    stacks = '\n'.join(
        [
            'thread (1);run (/v/lib/python3.11/site-packages/s3transfer/tasks.py:3);'
            'wait (/p/lib/python3.11/threading.py:9) 3',
            'thread (1);x (/v/lib/python3.11/site-packages/s3transfer/a.py:1);'
            'emit (/v/lib/python3.11/site-packages/botocore/hooks.py:2) 1',
        ]
    )
    text = run.summarise_stacks(stacks, 5)
    assert '4 samples' in text
    assert ' 75.0%  s3transfer' in text and ' 25.0%  botocore' in text


def test_sizes_parse_with_units() -> None:
    assert run.parse_size('64K') == 65536
    assert run.parse_size('1G') == 1 << 30
    assert run.parse_size('256MiB') == 256 << 20
    assert run.parse_size('1000') == 1000
