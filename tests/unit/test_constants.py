"""Unit tests for s3transfer.constants."""

import botocore.session
import pytest

import s3transfer
from s3transfer import constants


def test_sizes():
    assert constants.KB == 1024
    assert constants.MB == 1048576
    assert constants.GB == 1073741824


def test_allowed_download_args_exact_order():
    assert type(constants.ALLOWED_DOWNLOAD_ARGS) is list
    assert constants.ALLOWED_DOWNLOAD_ARGS == [
        'ChecksumMode',
        'VersionId',
        'SSECustomerAlgorithm',
        'SSECustomerKey',
        'SSECustomerKeyMD5',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]


def test_full_object_checksum_args_exact_order():
    assert type(constants.FULL_OBJECT_CHECKSUM_ARGS) is list
    assert constants.FULL_OBJECT_CHECKSUM_ARGS == [
        'ChecksumCRC32',
        'ChecksumCRC32C',
        'ChecksumCRC64NVME',
        'ChecksumMD5',
        'ChecksumSHA1',
        'ChecksumSHA256',
        'ChecksumSHA512',
        'ChecksumXXHASH3',
        'ChecksumXXHASH64',
        'ChecksumXXHASH128',
    ]


def test_user_agents():
    assert s3transfer.__version__ == '0.19.3'
    assert constants.USER_AGENT == 's3transfer/0.19.3'
    assert constants.PROCESS_USER_AGENT == 's3transfer/0.19.3 processpool'


@pytest.mark.parametrize('operation', ['GetObject', 'HeadObject'])
def test_allowed_download_args_are_operation_members(operation):
    model = botocore.session.get_session().get_service_model('s3')
    members = model.operation_model(operation).input_shape.members
    assert set(constants.ALLOWED_DOWNLOAD_ARGS) <= set(members)
