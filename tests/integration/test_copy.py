"""Managed copies against a local S3 server (moto), including boto3 on top."""

import random

import boto3
import boto3.s3.transfer
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from s3transfer.manager import TransferConfig, TransferManager

MiB = 1024 * 1024
# Threshold 1 byte: even a tiny object is copied as a single-part multipart copy.
MULTIPART_ALWAYS = TransferConfig(multipart_threshold=1)


def payload(size, seed=0):
    return random.Random(seed).randbytes(size)


def put(s3_client, bucket, key, data, **kwargs):
    return s3_client.put_object(Bucket=bucket, Key=key, Body=data, **kwargs)


def read(s3_client, bucket, key, **kwargs):
    return s3_client.get_object(Bucket=bucket, Key=key, **kwargs)['Body'].read()


def copy(s3_client, copy_source, bucket, key, config=None, **kwargs):
    """Run one managed copy to completion and return its future."""
    with TransferManager(s3_client, config) as manager:
        future = manager.copy(copy_source, bucket, key, **kwargs)
    return future


def open_uploads(s3_client, bucket):
    return s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', [])


@pytest.mark.parametrize(
    'size, parts',
    [(0, None), (1, None), (8 * MiB, 1), (40 * MiB + 3, 6)],
    ids=['0B', '1B', '8MiB', '40MiB+3'],
)
def test_copy_is_byte_identical(s3_client, bucket, size, parts):
    data = payload(size, seed=size)
    put(s3_client, bucket, 'src', data)

    future = copy(s3_client, {'Bucket': bucket, 'Key': 'src'}, bucket, 'dest')

    assert future.result() is None
    assert read(s3_client, bucket, 'dest') == data
    etag = s3_client.head_object(Bucket=bucket, Key='dest')['ETag']
    # Default threshold and chunk size are 8 MiB: a multipart ETag ends in -<parts>.
    if parts is None:
        assert '-' not in etag
    else:
        assert etag.strip('"').endswith(f'-{parts}')
    assert open_uploads(s3_client, bucket) == []


def test_multipart_copy_keeps_source_content_type_and_metadata(s3_client, bucket):
    put(
        s3_client,
        bucket,
        'src',
        b'typed body',
        ContentType='text/x-source',
        Metadata={'origin': 'source'},
    )

    copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dest',
        config=MULTIPART_ALWAYS,
        extra_args={'Metadata': {'ignored': 'yes'}},
    ).result()

    head = s3_client.head_object(Bucket=bucket, Key='dest')
    assert head['ETag'].strip('"').endswith('-1')
    assert head['ContentType'] == 'text/x-source'
    assert head['Metadata'] == {'origin': 'source'}
    assert read(s3_client, bucket, 'dest') == b'typed body'


@pytest.mark.parametrize('config', [None, MULTIPART_ALWAYS], ids=['single', 'multi'])
def test_metadata_replace_applies_new_values(s3_client, bucket, config):
    put(
        s3_client,
        bucket,
        'src',
        b'body',
        ContentType='text/x-source',
        Metadata={'origin': 'source'},
    )

    copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dest',
        config=config,
        extra_args={
            'MetadataDirective': 'REPLACE',
            'ContentType': 'application/x-new',
            'Metadata': {'fresh': 'value'},
        },
    ).result()

    head = s3_client.head_object(Bucket=bucket, Key='dest')
    assert head['ContentType'] == 'application/x-new'
    assert head['Metadata'] == {'fresh': 'value'}


@pytest.mark.parametrize('config', [None, MULTIPART_ALWAYS], ids=['single', 'multi'])
def test_version_id_copies_that_version(s3_client, bucket, config):
    s3_client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'}
    )
    old_version = put(s3_client, bucket, 'src', b'old contents')['VersionId']
    put(s3_client, bucket, 'src', b'new contents, longer')

    copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'src', 'VersionId': old_version},
        bucket,
        'dest',
        config=config,
    ).result()

    assert read(s3_client, bucket, 'dest') == b'old contents'


def test_tagging_replace_on_multipart_copy(s3_client, bucket):
    put(s3_client, bucket, 'src', b'tagged', Tagging='old=1')

    copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dest',
        config=MULTIPART_ALWAYS,
        extra_args={'TaggingDirective': 'REPLACE', 'Tagging': 'a=1&b='},
    ).result()

    tags = s3_client.get_object_tagging(Bucket=bucket, Key='dest')['TagSet']
    assert sorted(tags, key=lambda t: t['Key']) == [
        {'Key': 'a', 'Value': '1'},
        {'Key': 'b', 'Value': ''},
    ]


def test_tagging_copy_on_multipart_copy(s3_client, bucket):
    put(s3_client, bucket, 'src', b'tagged', Tagging='team=blue')

    copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dest',
        config=MULTIPART_ALWAYS,
        extra_args={'TaggingDirective': 'COPY'},
    ).result()

    tags = s3_client.get_object_tagging(Bucket=bucket, Key='dest')['TagSet']
    assert tags == [{'Key': 'team', 'Value': 'blue'}]


def test_failed_part_aborts_the_multipart_upload(make_s3_client, s3_client, bucket):
    put(s3_client, bucket, 'src', payload(6 * MiB))
    client = make_s3_client()
    deleted = []

    def delete_source(**kwargs):
        # The source vanishes after CreateMultipartUpload, so the part copy fails.
        if not deleted:
            deleted.append(True)
            s3_client.delete_object(Bucket=bucket, Key='src')

    client.meta.events.register('before-call.s3.UploadPartCopy', delete_source)

    future = copy(
        client, {'Bucket': bucket, 'Key': 'src'}, bucket, 'dest', MULTIPART_ALWAYS
    )

    with pytest.raises(ClientError) as excinfo:
        future.result()
    assert excinfo.value.operation_name == 'UploadPartCopy'
    assert deleted == [True]
    assert open_uploads(s3_client, bucket) == []
    assert 'Contents' not in s3_client.list_objects_v2(Bucket=bucket)


def test_missing_source_fails_with_404_and_creates_no_upload(s3_client, bucket):
    future = copy(
        s3_client,
        {'Bucket': bucket, 'Key': 'does-not-exist'},
        bucket,
        'dest',
        MULTIPART_ALWAYS,
    )

    with pytest.raises(ClientError) as excinfo:
        future.result()
    assert excinfo.value.response['Error']['Code'] == '404'
    assert open_uploads(s3_client, bucket) == []
    assert 'Contents' not in s3_client.list_objects_v2(Bucket=bucket)


def test_non_dict_copy_source_fails_in_the_future(s3_client, bucket):
    put(s3_client, bucket, 'src', b'x')

    future = copy(s3_client, f'{bucket}/src', bucket, 'dest')

    with pytest.raises(TypeError, match='Expecting dictionary formatted'):
        future.result()
    with pytest.raises(ClientError):
        s3_client.head_object(Bucket=bucket, Key='dest')


# --- boto3 on top ----------------------------------------------------------------


BOTO3_CONFIG = Config(s3={'addressing_style': 'path'})


def test_boto3_client_copy_with_extra_args_and_callback(
    boto3_session, s3_endpoint, bucket
):
    client = boto3_session.client('s3', endpoint_url=s3_endpoint, config=BOTO3_CONFIG)
    data = payload(6 * MiB, seed=7)
    client.put_object(Bucket=bucket, Key='src', Body=data)
    seen = []

    client.copy(
        {'Bucket': bucket, 'Key': 'src'},
        bucket,
        'dest',
        ExtraArgs={
            'MetadataDirective': 'REPLACE',
            'ContentType': 'text/x-boto3',
            'Metadata': {'via': 'client'},
        },
        Callback=seen.append,
        Config=boto3.s3.transfer.TransferConfig(
            multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
        ),
    )

    head = client.head_object(Bucket=bucket, Key='dest')
    assert head['ETag'].strip('"').endswith('-2')
    assert head['ContentType'] == 'text/x-boto3'
    assert head['Metadata'] == {'via': 'client'}
    assert sorted(seen) == [1 * MiB, 5 * MiB]
    assert client.get_object(Bucket=bucket, Key='dest')['Body'].read() == data


def test_boto3_object_copy_with_extra_args_and_callback(
    boto3_session, s3_endpoint, bucket
):
    s3 = boto3_session.resource('s3', endpoint_url=s3_endpoint, config=BOTO3_CONFIG)
    s3.Object(bucket, 'src').put(Body=b'resource body', ContentType='text/x-src')
    seen = []

    s3.Object(bucket, 'dest').copy(
        {'Bucket': bucket, 'Key': 'src'},
        ExtraArgs={'StorageClass': 'STANDARD_IA'},
        Callback=seen.append,
    )

    dest = s3.Object(bucket, 'dest')
    assert dest.get()['Body'].read() == b'resource body'
    assert dest.storage_class == 'STANDARD_IA'
    assert dest.content_type == 'text/x-src'
    assert seen == [len(b'resource body')]
