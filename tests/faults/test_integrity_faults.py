"""Download verification against the local server, with one ranged GET corrupted."""

import os

import pytest

from s3transfer.checksums import ChecksumMismatchError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Corrupt, Rule
from tests.faults.scenarios import result_within
from tests.helpers import payload

pytestmark = pytest.mark.timeout(60)

RANGE = 256 * 1024
SIZE = 4 * RANGE + 1234
# Parts of the composite object: not aligned with the download's ranges.
UPLOAD_PART = 300 * 1024


def put_full_object(client, bucket, data):
    client.put_object(Bucket=bucket, Key='obj', Body=data, ChecksumAlgorithm='CRC32')


def put_composite(client, bucket, data):
    upload_id = client.create_multipart_upload(
        Bucket=bucket, Key='obj', ChecksumAlgorithm='CRC32'
    )['UploadId']
    parts = []
    for number, offset in enumerate(range(0, len(data), UPLOAD_PART), 1):
        response = client.upload_part(
            Bucket=bucket,
            Key='obj',
            UploadId=upload_id,
            PartNumber=number,
            Body=data[offset : offset + UPLOAD_PART],
            ChecksumAlgorithm='CRC32',
        )
        parts.append(
            {
                'PartNumber': number,
                'ETag': response['ETag'],
                'ChecksumCRC32': response['ChecksumCRC32'],
            }
        )
    client.complete_multipart_upload(
        Bucket=bucket, Key='obj', UploadId=upload_id, MultipartUpload={'Parts': parts}
    )


UPLOADS = {'full-object': put_full_object, 'composite': put_composite}


def verified_download(client, bucket, target):
    config = TransferConfig(
        multipart_threshold=RANGE,
        multipart_chunksize=RANGE,
        verify_download_checksums=True,
    )
    with TransferManager(client, config) as manager:
        future = manager.download(bucket, 'obj', target)
        try:
            result_within(future, 45)
        finally:
            manager.shutdown()
    return future


@pytest.mark.parametrize('kind', sorted(UPLOADS))
def test_one_corrupted_byte_in_one_ranged_get_is_caught(
    s3_client, bucket, proxy, proxied_client, small_parts, tmp_path, kind
):
    data = payload(SIZE, seed=16)
    UPLOADS[kind](s3_client, bucket, data)
    rule = proxy.add_rule(
        Rule(Corrupt(offset=1000), operation='GetObject', ranged=True, skip=2, times=1)
    )
    target = tmp_path / 'out.bin'

    with pytest.raises(ChecksumMismatchError, match='Checksum mismatch'):
        verified_download(proxied_client, bucket, str(target))

    assert rule.applied == 1
    assert os.listdir(tmp_path) == []  # no destination, no temp file


@pytest.mark.parametrize('kind', sorted(UPLOADS))
def test_clean_download_is_verified(
    s3_client, bucket, proxy, proxied_client, small_parts, tmp_path, kind
):
    data = payload(SIZE, seed=17)
    UPLOADS[kind](s3_client, bucket, data)
    target = tmp_path / 'out.bin'

    future = verified_download(proxied_client, bucket, str(target))

    assert target.read_bytes() == data
    result = future.meta.checksum_verification
    assert result.verified
    assert result.kind == ('COMPOSITE' if kind == 'composite' else 'FULL_OBJECT')
