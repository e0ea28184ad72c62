"""The legacy S3Transfer API against a local moto S3 server."""

import os
import threading

import pytest
from botocore.exceptions import ClientError

from s3transfer import MB, S3Transfer, TransferConfig
from tests.helpers import sha256_of


class ProgressTotal:
    def __init__(self):
        self.total = 0
        self._lock = threading.Lock()

    def __call__(self, amount):
        with self._lock:
            self.total += amount


@pytest.mark.parametrize(
    'size, expected_parts',
    [(1024, None), (9 * MB, 2)],
    ids=['small', 'multipart'],
)
def test_round_trip(s3_client, bucket, tmp_path, size, expected_parts):
    source = tmp_path / 'source.bin'
    source.write_bytes(os.urandom(size))
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    transfer = S3Transfer(s3_client, config)

    uploaded = ProgressTotal()
    transfer.upload_file(
        str(source),
        bucket,
        'key',
        callback=uploaded,
        extra_args={'ContentType': 'application/x-test', 'Metadata': {'a': 'b'}},
    )
    head = s3_client.head_object(Bucket=bucket, Key='key')
    assert head['ContentLength'] == size
    assert head['ContentType'] == 'application/x-test'
    assert head['Metadata'] == {'a': 'b'}
    # Multipart ETags end in "-<parts>"; single PUT ETags have no suffix.
    etag = head['ETag'].strip('"')
    if expected_parts is None:
        assert '-' not in etag
    else:
        assert etag.endswith(f'-{expected_parts}')
    assert uploaded.total == size

    target = tmp_path / 'target.bin'
    downloaded = ProgressTotal()
    transfer.download_file(bucket, 'key', str(target), callback=downloaded)
    assert sha256_of(target) == sha256_of(source)
    assert downloaded.total == size
    assert sorted(p.name for p in tmp_path.iterdir()) == ['source.bin', 'target.bin']


def test_download_overwrites_existing_file(s3_client, bucket, tmp_path):
    s3_client.put_object(Bucket=bucket, Key='key', Body=b'new contents')
    target = tmp_path / 'target.bin'
    target.write_bytes(b'old contents that are longer')
    S3Transfer(s3_client).download_file(bucket, 'key', str(target))
    assert target.read_bytes() == b'new contents'


def test_download_missing_key_leaves_no_files(s3_client, bucket, tmp_path):
    with pytest.raises(ClientError):
        S3Transfer(s3_client).download_file(
            bucket, 'missing', str(tmp_path / 'target.bin')
        )
    assert list(tmp_path.iterdir()) == []
