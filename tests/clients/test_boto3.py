"""boto3 1.44.5's managed transfers, unchanged, running on this package."""

import io
import os

import pytest
from boto3.s3.transfer import S3Transfer, TransferConfig

import s3transfer.manager
from tests.clients.conftest import assert_is_ours
from tests.helpers import payload

MB = 1024 * 1024
SMALL = 64 * 1024
LARGE = 9 * MB + 7  # multipart with a 5 MiB threshold/chunk
MULTIPART = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)


def stored(client, bucket, key) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)['Body'].read()


class Tally:
    """A boto3 Callback that adds up the bytes it is told about."""

    def __init__(self):
        self.total = 0

    def __call__(self, amount):
        self.total += amount


@pytest.fixture(autouse=True)
def _exercises_our_package():
    import boto3.s3.transfer

    assert boto3.s3.transfer.TransferManager is s3transfer.manager.TransferManager
    assert_is_ours(boto3.s3.transfer.TransferManager)


@pytest.mark.parametrize('size', [SMALL, LARGE])
def test_client_upload_and_download_file(boto3_client, bucket, tmp_path, size):
    source = tmp_path / 'source.bin'
    source.write_bytes(payload(size))
    up, down = Tally(), Tally()
    boto3_client.upload_file(
        str(source),
        bucket,
        'obj',
        ExtraArgs={'ContentType': 'application/x-test', 'Metadata': {'a': '1'}},
        Callback=up,
        Config=MULTIPART,
    )
    head = boto3_client.head_object(Bucket=bucket, Key='obj')
    assert head['ContentType'] == 'application/x-test'
    assert head['Metadata'] == {'a': '1'}
    target = tmp_path / 'target.bin'
    boto3_client.download_file(
        bucket, 'obj', str(target), Callback=down, Config=MULTIPART
    )
    assert target.read_bytes() == source.read_bytes()
    assert up.total == down.total == size


@pytest.mark.parametrize('size', [SMALL, LARGE])
def test_client_upload_and_download_fileobj(boto3_client, bucket, size):
    data = payload(size, seed=1)
    boto3_client.upload_fileobj(io.BytesIO(data), bucket, 'obj', Config=MULTIPART)
    assert stored(boto3_client, bucket, 'obj') == data
    buffer = io.BytesIO()
    boto3_client.download_fileobj(bucket, 'obj', buffer, Config=MULTIPART)
    assert buffer.getvalue() == data


def test_upload_fileobj_from_a_non_seekable_stream(boto3_client, bucket):
    data = payload(LARGE, seed=2)

    class Stream:
        def __init__(self):
            self._inner = io.BytesIO(data)

        def read(self, amount=None):
            return self._inner.read(amount)

    boto3_client.upload_fileobj(Stream(), bucket, 'obj', Config=MULTIPART)
    assert stored(boto3_client, bucket, 'obj') == data


def test_download_fileobj_into_a_non_seekable_writer(boto3_client, bucket):
    data = payload(LARGE, seed=3)
    boto3_client.put_object(Bucket=bucket, Key='obj', Body=data)
    chunks = []

    class Writer:
        def write(self, chunk):
            chunks.append(bytes(chunk))

    boto3_client.download_fileobj(bucket, 'obj', Writer(), Config=MULTIPART)
    assert b''.join(chunks) == data


@pytest.mark.parametrize('size', [SMALL, LARGE])
def test_client_copy(boto3_client, bucket, size):
    data = payload(size, seed=4)
    boto3_client.put_object(Bucket=bucket, Key='src', Body=data, ContentType='x/y')
    tally = Tally()
    boto3_client.copy(
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dst',
        Callback=tally,
        Config=MULTIPART,
    )
    assert stored(boto3_client, bucket, 'dst') == data
    assert boto3_client.head_object(Bucket=bucket, Key='dst')['ContentType'] == 'x/y'
    assert tally.total == size


def test_bucket_and_object_methods(boto3_resource, boto3_client, bucket, tmp_path):
    data = payload(LARGE, seed=5)
    source = tmp_path / 'source.bin'
    source.write_bytes(data)
    s3_bucket = boto3_resource.Bucket(bucket)
    s3_bucket.upload_file(str(source), 'a', Config=MULTIPART)
    s3_bucket.download_file('a', str(tmp_path / 'a.bin'), Config=MULTIPART)
    assert (tmp_path / 'a.bin').read_bytes() == data

    obj = boto3_resource.Object(bucket, 'b')
    tally = Tally()
    obj.upload_fileobj(
        io.BytesIO(data),
        ExtraArgs={'ChecksumAlgorithm': 'SHA256', 'Metadata': {'k': 'v'}},
        Callback=tally,
        Config=MULTIPART,
    )
    assert tally.total == len(data)
    assert stored(boto3_client, bucket, 'b') == data
    assert boto3_client.head_object(Bucket=bucket, Key='b')['Metadata'] == {'k': 'v'}
    buffer = io.BytesIO()
    obj.download_fileobj(buffer, Config=MULTIPART)
    assert buffer.getvalue() == data
    obj.download_file(str(tmp_path / 'b.bin'))
    assert (tmp_path / 'b.bin').read_bytes() == data

    copy = boto3_resource.Object(bucket, 'c')
    copy.copy({'Bucket': bucket, 'Key': 'b'}, Config=MULTIPART)
    assert stored(boto3_client, bucket, 'c') == data
    s3_bucket.copy({'Bucket': bucket, 'Key': 'b'}, 'd')
    assert stored(boto3_client, bucket, 'd') == data


def test_s3transfer_directly(boto3_client, bucket, tmp_path):
    data = payload(LARGE, seed=6)
    source = tmp_path / 'source.bin'
    source.write_bytes(data)
    with S3Transfer(boto3_client, MULTIPART) as transfer:
        transfer.upload_file(str(source), bucket, 'obj', extra_args={'ACL': 'private'})
        transfer.download_file(bucket, 'obj', str(tmp_path / 'out.bin'))
    assert (tmp_path / 'out.bin').read_bytes() == data
    assert (
        S3Transfer.ALLOWED_UPLOAD_ARGS
        == s3transfer.manager.TransferManager.ALLOWED_UPLOAD_ARGS
    )


@pytest.mark.parametrize(
    'config',
    [
        TransferConfig(use_threads=False, multipart_threshold=5 * MB),
        TransferConfig(max_bandwidth=50 * MB, multipart_threshold=5 * MB),
        TransferConfig(preferred_transfer_client='classic', multipart_threshold=5 * MB),
    ],
    ids=['no-threads', 'max-bandwidth', 'classic'],
)
def test_transfer_configs(boto3_client, bucket, tmp_path, config):
    data = payload(LARGE, seed=7)
    source = tmp_path / 'source.bin'
    source.write_bytes(data)
    boto3_client.upload_file(str(source), bucket, 'obj', Config=config)
    boto3_client.download_file(bucket, 'obj', str(tmp_path / 'out.bin'), Config=config)
    assert (tmp_path / 'out.bin').read_bytes() == data
    buffer = io.BytesIO()
    boto3_client.download_fileobj(bucket, 'obj', buffer, Config=config)
    assert buffer.getvalue() == data


def test_upload_failure_surfaces_as_boto3_s3_upload_failed_error(
    boto3_client, tmp_path
):
    from boto3.exceptions import S3UploadFailedError

    source = tmp_path / 'source.bin'
    source.write_bytes(b'x')
    with pytest.raises(S3UploadFailedError, match='NoSuchBucket'):
        boto3_client.upload_file(str(source), 'no-such-bucket-here', 'obj')


def test_download_of_missing_key_leaves_nothing(boto3_client, bucket, tmp_path):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        boto3_client.download_file(bucket, 'missing', str(tmp_path / 'out.bin'))
    assert os.listdir(tmp_path) == []
