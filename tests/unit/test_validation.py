"""Tests of s3transfer.validation, and that every engine uses it."""

import pytest

from s3transfer.validation import (
    UNSUPPORTED_BUCKET_PATTERNS,
    validate_bucket_supported,
    validate_extra_args,
)

LAMBDA_ARN = 'arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/my-ap'


def test_known_keys_pass():
    validate_extra_args({'ACL': 'private'}, ['ACL', 'Metadata'])
    validate_extra_args({}, [])


def test_unknown_key_message_lists_allowed():
    with pytest.raises(ValueError) as info:
        validate_extra_args({'Bogus': 1}, ['ACL', 'Metadata'])
    assert str(info.value) == (
        "Invalid extra_args key 'Bogus', must be one of: ACL, Metadata"
    )


def test_object_lambda_bucket_refused():
    with pytest.raises(ValueError, match='do not support S3 Object Lambda resource'):
        validate_bucket_supported(LAMBDA_ARN)


@pytest.mark.parametrize('bucket', ['mybucket', None, ''])
def test_other_buckets_pass(bucket):
    validate_bucket_supported(bucket)


def test_custom_patterns():
    validate_bucket_supported(LAMBDA_ARN, {})


def test_manager_shares_the_patterns():
    from s3transfer.manager import TransferManager

    assert TransferManager._UNSUPPORTED_BUCKET_PATTERNS is UNSUPPORTED_BUCKET_PATTERNS


@pytest.mark.parametrize(
    'make_call',
    [
        pytest.param('manager', id='manager'),
        pytest.param('legacy', id='legacy'),
        pytest.param('processpool', id='processpool'),
    ],
)
def test_every_engine_gives_the_same_message(make_call):
    expected = "Invalid extra_args key 'Bogus', must be one of: "
    if make_call == 'manager':
        from s3transfer.manager import TransferManager

        manager = TransferManager.__new__(TransferManager)
        with pytest.raises(ValueError) as info:
            manager._validate_all_known_args({'Bogus': 1}, ['A', 'B'])
    elif make_call == 'legacy':
        from s3transfer import S3Transfer

        transfer = S3Transfer.__new__(S3Transfer)
        with pytest.raises(ValueError) as info:
            transfer._validate_all_known_args({'Bogus': 1}, ['A', 'B'])
    else:
        from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS
        from s3transfer.processpool import ProcessPoolDownloader

        downloader = ProcessPoolDownloader.__new__(ProcessPoolDownloader)
        with pytest.raises(ValueError) as info:
            downloader._validate_all_known_args({'Bogus': 1})
        assert str(info.value) == expected + ', '.join(ALLOWED_DOWNLOAD_ARGS)
        return
    assert str(info.value) == expected + 'A, B'
