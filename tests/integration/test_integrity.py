"""Full-object checksums and conditional writes against the local S3 server."""

import io

import moto.s3.models
import pytest

import s3transfer.upload
from s3transfer import checksums
from s3transfer.checksums import CRC32, CRC64NVME
from s3transfer.directory import upload_directory
from s3transfer.exceptions import ConditionalWriteFailedError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.utils import ChunksizeAdjuster
from tests.helpers import payload

PART = 256 * 1024


class _SmallParts(ChunksizeAdjuster):
    def __init__(self) -> None:
        super().__init__(min_size=PART)


@pytest.fixture(autouse=True)
def small_parts(monkeypatch):
    """Parts of 256 KiB on both sides keep multipart cases fast on the local server."""
    monkeypatch.setattr(moto.s3.models, 'S3_UPLOAD_PART_MIN_SIZE', PART)
    monkeypatch.setattr(s3transfer.upload, 'ChunksizeAdjuster', _SmallParts)


def upload(client, bucket, data, extra_args=None, **config_kwargs):
    config = TransferConfig(
        multipart_threshold=PART, multipart_chunksize=PART, **config_kwargs
    )
    with TransferManager(client, config) as manager:
        future = manager.upload(io.BytesIO(data), bucket, 'obj', extra_args)
        future.result()


ALGORITHMS = [CRC32, CRC64NVME] if checksums.has_crt_checksums() else [CRC32]


@pytest.mark.parametrize('size', [1000, 3 * PART + 17], ids=['single', 'multipart'])
@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_full_object_checksum_is_stored_and_returned(
    s3_client, bucket, size, algorithm
):
    data = payload(size, seed=3)
    upload(s3_client, bucket, data, full_object_checksum=algorithm.name)
    response = s3_client.get_object(Bucket=bucket, Key='obj', ChecksumMode='ENABLED')
    assert response['Body'].read() == data
    assert response[algorithm.response_member] == algorithm.encode(
        algorithm.compute(data)
    )
    head = s3_client.head_object(Bucket=bucket, Key='obj', ChecksumMode='ENABLED')
    assert head.get('ChecksumType', 'FULL_OBJECT') == 'FULL_OBJECT'


@pytest.mark.parametrize('size', [1000, 3 * PART + 17], ids=['single', 'multipart'])
def test_if_none_match_keeps_the_first_object(s3_client, bucket, size):
    first = payload(size, seed=1)
    upload(s3_client, bucket, first, {'IfNoneMatch': '*'})
    with pytest.raises(ConditionalWriteFailedError, match="IfNoneMatch='\\*'"):
        upload(s3_client, bucket, payload(size, seed=2), {'IfNoneMatch': '*'})
    stored = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert stored == first
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []


def test_if_match_replaces_only_the_expected_version(s3_client, bucket):
    upload(s3_client, bucket, b'one')
    etag = s3_client.head_object(Bucket=bucket, Key='obj')['ETag']
    upload(s3_client, bucket, b'two', {'IfMatch': etag})
    with pytest.raises(ConditionalWriteFailedError, match='IfMatch'):
        upload(s3_client, bucket, b'three', {'IfMatch': etag})
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == b'two'


def test_directory_upload_without_overwrite(s3_client, bucket, tmp_path):
    (tmp_path / 'a.txt').write_bytes(b'new a')
    (tmp_path / 'b.txt').write_bytes(b'new b')
    s3_client.put_object(Bucket=bucket, Key='pre/a.txt', Body=b'old a')
    with TransferManager(s3_client) as manager:
        future = upload_directory(
            manager, str(tmp_path), bucket, 'pre', extra_args={'IfNoneMatch': '*'}
        )
        result = future.result()
    assert [item.source for item in result.succeeded] == [str(tmp_path / 'b.txt')]
    assert len(result.failed) == 1 and 'IfNoneMatch' in result.failed[0].message
    stored = s3_client.get_object(Bucket=bucket, Key='pre/a.txt')['Body'].read()
    assert stored == b'old a'
