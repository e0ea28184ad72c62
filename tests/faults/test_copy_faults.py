"""Multipart copies via the fault proxy: transient faults absorbed, hard ones clean."""

import hashlib

import pytest
from botocore.exceptions import ClientError

from s3transfer.exceptions import S3CopyFailedError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import ErrorResponse, Hook, Rule, slow_down
from tests.faults.scenarios import (
    aborted_upload_ids,
    add_transient_part_faults,
    open_uploads,
    put_random,
    result_within,
)

pytestmark = pytest.mark.timeout(60)

PARTS = 10
SLOW_DOWN_PARTS = {3, 9}
INTERNAL_ERROR_PARTS = {6}  # with SLOW_DOWN_PARTS: 30% of the parts


def copy(client, bucket, source_key, key, part_size):
    config = TransferConfig(
        multipart_threshold=part_size, multipart_chunksize=part_size
    )
    source = {'Bucket': bucket, 'Key': source_key}
    with TransferManager(client, config) as manager:
        return result_within(manager.copy(source, bucket, key), 45)


def test_transient_part_copy_errors_leave_a_byte_identical_object(
    small_parts, s3_client, bucket, proxy, proxied_client
):
    data = put_random(s3_client, bucket, PARTS * small_parts - 77, key='source')
    rules = add_transient_part_faults(
        proxy, 'UploadPartCopy', SLOW_DOWN_PARTS, INTERNAL_ERROR_PARTS
    )

    copy(proxied_client, bucket, 'source', 'copy', small_parts)

    assert [rule.applied for rule in rules] == [2, 1, 1]
    body = s3_client.get_object(Bucket=bucket, Key='copy')['Body'].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert len(proxy.events_for('UploadPartCopy')) == PARTS + 3
    assert len(proxy.events_for('CompleteMultipartUpload')) == 2
    assert open_uploads(s3_client, bucket) == []


def test_every_part_copy_failing_raises_and_aborts(
    small_parts, s3_client, bucket, proxy, make_s3_client
):
    client = make_s3_client(endpoint_url=proxy.url)  # 2 attempts per request
    put_random(s3_client, bucket, 4 * small_parts, key='source')
    proxy.add_rule(Rule(slow_down(), operation='UploadPartCopy'))

    with pytest.raises(ClientError) as error:
        copy(client, bucket, 'source', 'copy', small_parts)

    assert error.value.response['Error']['Code'] == 'SlowDown'
    assert error.value.operation_name == 'UploadPartCopy'
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []
    keys = [
        item['Key'] for item in s3_client.list_objects_v2(Bucket=bucket)['Contents']
    ]
    assert keys == ['source']


def test_source_overwritten_mid_copy_fails_and_aborts(
    small_parts, s3_client, bucket, proxy, make_s3_client
):
    client = make_s3_client(endpoint_url=proxy.url)
    put_random(s3_client, bucket, 4 * small_parts, key='source')
    source_etags = []

    def overwrite(request):
        response = s3_client.put_object(Bucket=bucket, Key='source', Body=b'new' * 99)
        source_etags.append(response['ETag'])

    def stale_if_match(request):
        # The local server ignores CopySourceIfMatch on UploadPartCopy; answer
        # as S3 does once the source has changed.
        expected = request.headers.get('x-amz-copy-source-if-match')
        return expected != source_etags[-1]

    # After the HeadObject that recorded the ETag, before any part is copied.
    hook = proxy.add_rule(Rule(Hook(overwrite), operation='CreateMultipartUpload'))
    proxy.add_rule(
        Rule(
            ErrorResponse(
                412, 'PreconditionFailed', 'At least one precondition failed'
            ),
            operation='UploadPartCopy',
            match=stale_if_match,
        )
    )

    with pytest.raises(S3CopyFailedError, match='did not match expected ETag'):
        copy(client, bucket, 'source', 'copy', small_parts)

    assert hook.applied == 1
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []
