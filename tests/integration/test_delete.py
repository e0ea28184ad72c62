"""Deletes against the local S3 server."""

import pytest

from s3transfer.manager import TransferManager


def test_delete_removes_a_real_object(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key='doomed', Body=b'bye')
    with TransferManager(s3_client) as manager:
        assert manager.delete(bucket, 'doomed').result() is None
    listing = s3_client.list_objects_v2(Bucket=bucket)
    assert listing.get('KeyCount', 0) == 0


def test_delete_of_a_version_keeps_the_others(s3_client, bucket):
    s3_client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'}
    )
    first = s3_client.put_object(Bucket=bucket, Key='k', Body=b'1')['VersionId']
    s3_client.put_object(Bucket=bucket, Key='k', Body=b'2')
    with TransferManager(s3_client) as manager:
        manager.delete(bucket, 'k', extra_args={'VersionId': first}).result()
    versions = s3_client.list_object_versions(Bucket=bucket)['Versions']
    assert [v['VersionId'] for v in versions if v['VersionId'] == first] == []
    assert s3_client.get_object(Bucket=bucket, Key='k')['Body'].read() == b'2'


def test_many_deletes_at_once(s3_client, bucket):
    keys = [f'k{i}' for i in range(40)]
    for key in keys:
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'x')
    with TransferManager(s3_client) as manager:
        futures = [manager.delete(bucket, key) for key in keys]
    assert [f.result() for f in futures] == [None] * len(keys)
    assert s3_client.list_objects_v2(Bucket=bucket).get('KeyCount', 0) == 0


def test_unknown_extra_arg_sends_nothing(s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key='kept', Body=b'x')
    with TransferManager(s3_client) as manager:
        with pytest.raises(ValueError, match="'Bogus'"):
            manager.delete(bucket, 'kept', extra_args={'Bogus': True})
    assert s3_client.get_object(Bucket=bucket, Key='kept')['Body'].read() == b'x'
