"""Multipart uploads via the fault proxy: transient faults absorbed, hard ones clean."""

import io
import os
import time

import pytest
from botocore.exceptions import ClientError

from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Hook, Rule, internal_error, slow_down
from tests.faults.scenarios import (
    ReadOnly,
    aborted_upload_ids,
    add_transient_part_faults,
    open_uploads,
    result_within,
)
from tests.helpers import sha256

pytestmark = pytest.mark.timeout(60)

PARTS = 10
SLOW_DOWN_PARTS = {2, 8}
INTERNAL_ERROR_PARTS = {5}  # with SLOW_DOWN_PARTS: 30% of the parts


def upload(client, source, bucket, key, part_size, **config):
    config = TransferConfig(
        multipart_threshold=part_size, multipart_chunksize=part_size, **config
    )
    with TransferManager(client, config) as manager:
        return result_within(manager.upload(source, bucket, key), 45)


@pytest.mark.parametrize('source_kind', ['filename', 'seekable', 'non-seekable'])
def test_transient_part_errors_leave_a_byte_identical_object(
    small_parts, s3_client, bucket, proxy, proxied_client, tmp_path, source_kind
):
    data = os.urandom(PARTS * small_parts - 1000)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    source = {
        'filename': lambda: str(path),
        'seekable': lambda: io.BytesIO(data),
        'non-seekable': lambda: ReadOnly(io.BytesIO(data)),
    }[source_kind]()
    rules = add_transient_part_faults(
        proxy, 'UploadPart', SLOW_DOWN_PARTS, INTERNAL_ERROR_PARTS
    )

    upload(proxied_client, source, bucket, 'obj', small_parts)

    assert [rule.applied for rule in rules] == [2, 1, 1]
    body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert sha256(body) == sha256(data)
    part_numbers = sorted(
        int(event.query['partNumber'][0]) for event in proxy.events_for('UploadPart')
    )
    assert part_numbers == sorted([*range(1, PARTS + 1), 2, 5, 8])
    assert len(proxy.events_for('CompleteMultipartUpload')) == 2
    assert open_uploads(s3_client, bucket) == []


def test_every_upload_part_failing_raises_and_aborts(
    small_parts, s3_client, bucket, proxy, make_s3_client, tmp_path
):
    client = make_s3_client(endpoint_url=proxy.url)  # 2 attempts per request
    path = tmp_path / 'source.bin'
    path.write_bytes(os.urandom(4 * small_parts))
    proxy.add_rule(Rule(internal_error(), operation='UploadPart'))

    with pytest.raises(ClientError) as error:
        upload(client, str(path), bucket, 'obj', small_parts)

    assert error.value.response['Error']['Code'] == 'InternalError'
    assert error.value.operation_name == 'UploadPart'
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []
    missing = s3_client.list_objects_v2(Bucket=bucket).get('Contents', [])
    assert missing == []


def test_failing_create_multipart_upload_raises_without_parts(
    small_parts, s3_client, bucket, proxy, make_s3_client, tmp_path
):
    client = make_s3_client(endpoint_url=proxy.url)
    path = tmp_path / 'source.bin'
    path.write_bytes(os.urandom(3 * small_parts))
    proxy.add_rule(Rule(slow_down(), operation='CreateMultipartUpload'))

    with pytest.raises(ClientError) as error:
        upload(client, str(path), bucket, 'obj', small_parts)

    assert error.value.response['Error']['Code'] == 'SlowDown'
    assert proxy.events_for('UploadPart') == []
    assert open_uploads(s3_client, bucket) == []


def test_failing_complete_aborts_the_upload(
    small_parts, s3_client, bucket, proxy, make_s3_client
):
    client = make_s3_client(endpoint_url=proxy.url)
    data = os.urandom(3 * small_parts)
    proxy.add_rule(Rule(internal_error(), operation='CompleteMultipartUpload'))

    with pytest.raises(ClientError) as error:
        upload(client, ReadOnly(io.BytesIO(data)), bucket, 'obj', small_parts)

    assert error.value.operation_name == 'CompleteMultipartUpload'
    assert len(proxy.events_for('UploadPart')) == 3
    assert len(aborted_upload_ids(proxy)) == 1
    assert open_uploads(s3_client, bucket) == []


# --- bad input -----------------------------------------------------------------------


class FailingStream:
    """A stream whose fourth read fails, like a disk or pipe going away."""

    def __init__(self):
        self.reads = 0

    def read(self, amount=None):
        self.reads += 1
        if self.reads > 3:
            raise OSError('input/output error')
        return os.urandom(amount)


def test_source_file_truncated_mid_upload_fails_fast_and_aborts(
    small_parts, s3_client, bucket, proxy, make_s3_client, tmp_path
):
    client = make_s3_client(endpoint_url=proxy.url)
    path = tmp_path / 'source.bin'
    path.write_bytes(os.urandom(6 * small_parts))

    def truncate(request):
        os.truncate(path, 2 * small_parts + 10)

    proxy.add_rule(Rule(Hook(truncate), operation='CreateMultipartUpload'))
    started = time.monotonic()

    with pytest.raises(OSError, match='truncated while uploading'):
        upload(client, str(path), bucket, 'obj', small_parts)

    # Not a wait for the server to give up on a body shorter than announced.
    assert time.monotonic() - started < 5
    assert len(aborted_upload_ids(proxy)) == 1
    assert open_uploads(s3_client, bucket) == []


def test_stream_read_error_fails_and_aborts(
    small_parts, s3_client, bucket, proxy, make_s3_client
):
    client = make_s3_client(endpoint_url=proxy.url)
    stream = FailingStream()

    with pytest.raises(OSError, match='input/output error'):
        upload(client, stream, bucket, 'obj', small_parts)

    assert stream.reads == 4
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []


def test_missing_source_file_fails_without_requests(
    s3_client, bucket, proxy, make_s3_client, tmp_path
):
    client = make_s3_client(endpoint_url=proxy.url)

    with pytest.raises(FileNotFoundError):
        upload(client, str(tmp_path / 'missing'), bucket, 'obj', 5 * 1024 * 1024)

    assert proxy.events == []
