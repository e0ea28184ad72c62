"""Full-object checksums and conditional writes on upload, pinned by Stubber."""

import io
import zlib

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY

from s3transfer import checksums
from s3transfer.checksums import CRC32, CRC64NVME
from s3transfer.exceptions import ConditionalWriteFailedError
from s3transfer.manager import TransferConfig
from tests.functional.test_upload import (
    BUCKET,
    KEY,
    PART,
    UPLOAD_ID,
    expect_complete,
    expect_create,
    expect_part,
    expect_put,
    part_entries,
    upload,
)
from tests.helpers import payload

DATA = payload(2 * PART + 1000)
PIECES = [DATA[:PART], DATA[PART : 2 * PART], DATA[2 * PART :]]


def b64crc(algorithm, data):
    return algorithm.encode(algorithm.compute(data))


def expect_abort(stubber):
    stubber.add_response(
        'abort_multipart_upload',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )


# --- the default configuration sends none of the new parameters -------------------


def test_default_multipart_upload_sends_no_full_object_checksum(client, stubber):
    expect_create(stubber, ChecksumAlgorithm='CRC32')
    for number in (1, 2, 3):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32')
    expect_complete(stubber, part_entries(3))
    upload(client, io.BytesIO(DATA))


def test_default_config_values():
    config = TransferConfig()
    assert config.verify_download_checksums is False
    assert config.full_object_checksum is False
    assert config.grow_stream_part_size is False


# --- full_object_checksum ------------------------------------------------------------


def expect_full_object_multipart(stubber, algorithm, pieces=PIECES, data=DATA):
    member = algorithm.response_member
    expect_create(stubber, ChecksumAlgorithm=algorithm.name, ChecksumType='FULL_OBJECT')
    for number, piece in enumerate(pieces, 1):
        expect_part(
            stubber,
            number,
            ChecksumAlgorithm=algorithm.name,
            **{member: b64crc(algorithm, piece)},
        )
    parts = [
        {'ETag': f'"etag-{n}"', 'PartNumber': n, member: b64crc(algorithm, piece)}
        for n, piece in enumerate(pieces, 1)
    ]
    return parts, {member: b64crc(algorithm, data), 'ChecksumType': 'FULL_OBJECT'}


@pytest.mark.parametrize('source', ['stream', 'file'])
def test_full_object_crc32_multipart_flow(client, stubber, tmp_path, source):
    parts, complete = expect_full_object_multipart(stubber, CRC32)
    expect_complete(stubber, parts, **complete)
    if source == 'file':
        path = tmp_path / 'src'
        path.write_bytes(DATA)
        upload(client, str(path), full_object_checksum='CRC32')
    else:
        upload(client, io.BytesIO(DATA), full_object_checksum='CRC32')
    assert complete['ChecksumCRC32'] == CRC32.encode(zlib.crc32(DATA))


@pytest.mark.skipif(not checksums.has_crt_checksums(), reason='needs awscrt')
def test_full_object_default_is_crc64nvme_with_awscrt(client, stubber):
    parts, complete = expect_full_object_multipart(stubber, CRC64NVME)
    expect_complete(stubber, parts, **complete)
    upload(client, io.BytesIO(DATA), full_object_checksum=True)


def test_full_object_default_is_crc32_without_awscrt(client, stubber, monkeypatch):
    monkeypatch.setattr(checksums, '_crt_checksums', None)
    parts, complete = expect_full_object_multipart(stubber, CRC32)
    expect_complete(stubber, parts, **complete)
    upload(client, io.BytesIO(DATA), full_object_checksum=True)


def test_full_object_single_put_sends_the_same_algorithm(client, stubber, monkeypatch):
    monkeypatch.setattr(checksums, '_crt_checksums', None)
    expect_put(stubber, ChecksumAlgorithm='CRC32')
    upload(client, io.BytesIO(b'x' * 100), full_object_checksum=True)


def test_wrong_full_object_checksum_is_rejected_and_aborted(client, stubber):
    parts, complete = expect_full_object_multipart(stubber, CRC32)
    stubber.add_client_error(
        'complete_multipart_upload',
        service_error_code='BadDigest',
        service_message='The CRC32 you specified did not match the calculated one.',
        http_status_code=400,
        expected_params={
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {'Parts': parts},
            **complete,
        },
    )
    expect_abort(stubber)
    with pytest.raises(ClientError, match='BadDigest'):
        upload(client, io.BytesIO(DATA), full_object_checksum='CRC32')


def test_callers_full_object_value_wins(client, stubber):
    given = {'ChecksumCRC32': 'AAAAAA==', 'MpuObjectSize': len(DATA)}
    expect_create(stubber, ChecksumAlgorithm='CRC32', ChecksumType='FULL_OBJECT')
    for number in (1, 2, 3):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32')
    expect_complete(stubber, part_entries(3), ChecksumType='FULL_OBJECT', **given)
    upload(client, io.BytesIO(DATA), dict(given), full_object_checksum='CRC32')


def test_non_crc_algorithm_is_refused_before_any_request(client, stubber):
    with pytest.raises(ValueError, match='CRC algorithm'):
        upload(
            client,
            io.BytesIO(DATA),
            {'ChecksumAlgorithm': 'SHA256'},
            full_object_checksum='CRC32',
        )


def test_unknown_algorithm_is_refused_by_the_config():
    with pytest.raises(checksums.UnsupportedChecksumError):
        TransferConfig(full_object_checksum='MD5')


# --- conditional writes ---------------------------------------------------------


@pytest.mark.parametrize('condition', [{'IfNoneMatch': '*'}, {'IfMatch': '"0123abcd"'}])
def test_condition_goes_on_put_object(client, stubber, condition):
    expect_put(stubber, ChecksumAlgorithm='CRC32', **condition)
    upload(client, io.BytesIO(b'x' * 100), dict(condition))


@pytest.mark.parametrize('condition', [{'IfNoneMatch': '*'}, {'IfMatch': '"0123abcd"'}])
def test_condition_goes_on_complete_only(client, stubber, condition):
    expect_create(stubber, ChecksumAlgorithm='CRC32')  # no condition here
    for number in (1, 2, 3):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32')  # nor here
    expect_complete(stubber, part_entries(3), **condition)
    upload(client, io.BytesIO(DATA), dict(condition))


def test_refused_single_put_names_the_condition(client, stubber):
    stubber.add_client_error(
        'put_object',
        service_error_code='PreconditionFailed',
        http_status_code=412,
        expected_params={
            'Bucket': BUCKET,
            'Key': KEY,
            'Body': ANY,
            'ChecksumAlgorithm': 'CRC32',
            'IfNoneMatch': '*',
        },
    )
    with pytest.raises(ConditionalWriteFailedError) as caught:
        upload(client, io.BytesIO(b'x' * 100), {'IfNoneMatch': '*'})
    message = str(caught.value)
    assert "IfNoneMatch='*'" in message and 'already exists' in message
    assert isinstance(caught.value, ClientError)
    assert caught.value.response['Error']['Code'] == 'PreconditionFailed'


def test_refused_multipart_upload_is_aborted(client, stubber):
    expect_create(stubber, ChecksumAlgorithm='CRC32')
    for number in (1, 2, 3):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32')
    stubber.add_client_error(
        'complete_multipart_upload',
        service_error_code='PreconditionFailed',
        http_status_code=412,
        expected_params={
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {'Parts': part_entries(3)},
            'IfMatch': '"0123abcd"',
        },
    )
    expect_abort(stubber)
    with pytest.raises(ConditionalWriteFailedError, match='does not match the given'):
        upload(client, io.BytesIO(DATA), {'IfMatch': '"0123abcd"'})


def test_other_errors_of_a_conditional_write_stay_as_they_are(client, stubber):
    stubber.add_client_error(
        'put_object', service_error_code='AccessDenied', http_status_code=403
    )
    with pytest.raises(ClientError) as caught:
        upload(client, io.BytesIO(b'x'), {'IfNoneMatch': '*'})
    assert not isinstance(caught.value, ConditionalWriteFailedError)
