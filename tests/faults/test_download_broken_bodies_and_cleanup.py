"""Multipart downloads where a fifth of the GET bodies break midway."""

import hashlib
import io
import os

import pytest
from botocore.exceptions import ClientError

from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Reset, Rule, Truncate
from tests.faults.scenarios import result_within
from tests.helpers import Progress, WriteOnly

pytestmark = pytest.mark.timeout(60)

CHUNK = 256 * 1024
CHUNKS = 12


def download(client, bucket, target):
    progress = Progress()
    config = TransferConfig(multipart_threshold=CHUNK, multipart_chunksize=CHUNK)
    with TransferManager(client, config) as manager:
        future = manager.download(bucket, 'obj', target, subscribers=[progress])
        result_within(future, 45)
    return progress.amounts


def written(target, tmp_path):
    if isinstance(target, io.BytesIO):
        return target.getvalue()
    if isinstance(target, WriteOnly):
        return b''.join(target.parts)
    return (tmp_path / 'out.bin').read_bytes()


@pytest.mark.parametrize(
    'action', [Reset(after_bytes=100_000), Truncate(after_bytes=100_000)]
)
@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
def test_a_fifth_of_get_bodies_broken_midway(
    s3_client, bucket, proxy, proxied_client, tmp_path, action, target_kind
):
    data = os.urandom(CHUNKS * CHUNK - 123)
    s3_client.put_object(Bucket=bucket, Key='obj', Body=data)
    rule = proxy.add_rule(
        Rule(action, operation='GetObject', ranged=True, fraction=0.2, seed=7)
    )
    target = {
        'filename': lambda: str(tmp_path / 'out.bin'),
        'seekable': io.BytesIO,
        'non-seekable': WriteOnly,
    }[target_kind]()

    progress = download(proxied_client, bucket, target)

    assert rule.applied >= 2
    assert len(proxy.events_for('GetObject')) == CHUNKS + rule.applied
    body = written(target, tmp_path)
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert sum(progress) == len(data)
    assert os.listdir(tmp_path) == (['out.bin'] if target_kind == 'filename' else [])


# --- bad input -----------------------------------------------------------------------


def test_download_into_missing_directory_fails_without_files(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='obj', Body=b'data')
    target = tmp_path / 'no-such-dir' / 'out.bin'

    with pytest.raises(OSError):
        download(proxied_client, bucket, str(target))

    assert os.listdir(tmp_path) == []


def test_download_of_missing_key_leaves_no_file(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    with pytest.raises(ClientError) as error:
        download(proxied_client, bucket, str(tmp_path / 'out.bin'))

    assert error.value.response['Error']['Code'] in ('404', 'NoSuchKey')
    assert proxy.events_for('GetObject') == []
    assert os.listdir(tmp_path) == []
