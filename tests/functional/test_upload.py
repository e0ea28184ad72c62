"""Uploads through TransferManager with botocore's Stubber pinning every request."""

import io
import mmap

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from s3transfer.manager import TransferConfig, TransferManager
from tests.helpers import ReadOnlyStream, offline_client

MB = 1024 * 1024
PART = 5 * MB  # the smallest chunk size ChunksizeAdjuster allows
BUCKET = 'bucket'
KEY = 'key'
UPLOAD_ID = 'upload-id'
SSE_C = {
    'SSECustomerAlgorithm': 'AES256',
    'SSECustomerKey': 'k' * 32,
    'SSECustomerKeyMD5': 'bWQ1',
}


@pytest.fixture
def stubber(client):
    """Overrides the directory's: also fails a test that leaves responses unused."""
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def upload(client, source, extra_args=None, subscribers=None, **config):
    """Run one upload to completion; requests are sequential (one request thread)."""
    config.setdefault('max_request_concurrency', 1)
    config.setdefault('multipart_threshold', PART)
    config.setdefault('multipart_chunksize', PART)
    with TransferManager(client, TransferConfig(**config)) as manager:
        future = manager.upload(source, BUCKET, KEY, extra_args, subscribers)
        future.result()
    return future


def expect_put(stubber, **params):
    stubber.add_response(
        'put_object',
        {'ETag': '"put"'},
        {'Bucket': BUCKET, 'Key': KEY, 'Body': ANY, **params},
    )


def expect_create(stubber, **params):
    stubber.add_response(
        'create_multipart_upload',
        {'UploadId': UPLOAD_ID},
        {'Bucket': BUCKET, 'Key': KEY, **params},
    )


def expect_part(stubber, number, response=None, **params):
    stubber.add_response(
        'upload_part',
        {'ETag': f'"etag-{number}"', **(response or {})},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'PartNumber': number,
            'Body': ANY,
            **params,
        },
    )


def expect_complete(stubber, parts, **params):
    stubber.add_response(
        'complete_multipart_upload',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {'Parts': parts},
            **params,
        },
    )


def part_entries(count, **checksums):
    return [
        {'ETag': f'"etag-{n}"', 'PartNumber': n, **checksums}
        for n in range(1, count + 1)
    ]


def test_small_upload_is_a_single_put_object(client, stubber):
    expect_put(stubber, ChecksumAlgorithm='CRC32')
    future = upload(client, io.BytesIO(b'x' * 100))
    assert future.result() is None


def test_single_put_keeps_the_callers_seekable_file_open(client, stubber):
    # Quirk fix: 0.19.3 closed the caller's file object after a PutObject.
    expect_put(stubber, ChecksumAlgorithm='CRC32')
    source = io.BytesIO(b'x' * 100)
    upload(client, source)
    assert not source.closed
    assert source.getvalue() == b'x' * 100


@pytest.mark.parametrize('kind', ['filename', 'seekable', 'non-seekable'])
def test_multipart_upload_request_sequence(client, stubber, tmp_path, kind):
    data = b'a' * PART + b'b' * PART + b'c'
    source = {
        'filename': tmp_path / 'f',
        'seekable': io.BytesIO(data),
        'non-seekable': ReadOnlyStream(data),
    }[kind]
    if kind == 'filename':
        source.write_bytes(data)
        source = str(source)
    expect_create(stubber, ChecksumAlgorithm='CRC32')
    for number in (1, 2, 3):
        expect_part(
            stubber,
            number,
            {'ChecksumCRC32': f'crc-{number}'},
            ChecksumAlgorithm='CRC32',
        )
    parts = [
        {'ETag': f'"etag-{n}"', 'PartNumber': n, 'ChecksumCRC32': f'crc-{n}'}
        for n in (1, 2, 3)
    ]
    expect_complete(stubber, parts)
    upload(client, source)


def test_put_object_blocklist(client, stubber):
    extra_args = {
        'ACL': 'private',
        'ContentType': 'text/plain',
        'Metadata': {'a': 'b'},
        'ChecksumType': 'COMPOSITE',
        'MpuObjectSize': 100,
        'RequestPayer': 'requester',
        **SSE_C,
    }
    expected = dict(extra_args, ChecksumAlgorithm='CRC32')
    del expected['ChecksumType'], expected['MpuObjectSize']
    expect_put(stubber, **expected)
    upload(client, io.BytesIO(b'x' * 100), extra_args)


def test_multipart_arg_routing(client, stubber):
    extra_args = {
        'ACL': 'private',
        'ContentType': 'text/plain',
        'Metadata': {'a': 'b'},
        'ChecksumType': 'COMPOSITE',
        'MpuObjectSize': PART + 1,
        'RequestPayer': 'requester',
        'ExpectedBucketOwner': '111122223333',
        'StorageClass': 'STANDARD_IA',
        **SSE_C,
    }
    shared = {
        'RequestPayer': 'requester',
        'ExpectedBucketOwner': '111122223333',
        **SSE_C,
    }
    # CREATE_MULTIPART_BLOCKLIST removes only MpuObjectSize (no full-object value).
    create = dict(extra_args, ChecksumAlgorithm='CRC32')
    del create['MpuObjectSize']
    expect_create(stubber, **create)
    # UPLOAD_PART_ARGS: checksum algorithm, SSE-C, payer and owner only.
    for number in (1, 2):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32', **shared)
    # COMPLETE_MULTIPART_ARGS: no ChecksumAlgorithm, but ChecksumType/MpuObjectSize.
    expect_complete(
        stubber,
        part_entries(2),
        ChecksumType='COMPOSITE',
        MpuObjectSize=PART + 1,
        **shared,
    )
    upload(client, io.BytesIO(b'x' * (PART + 1)), extra_args)


def test_when_required_adds_no_checksum_algorithm():
    client = offline_client(request_checksum_calculation='when_required')
    with Stubber(client) as stubber:
        expect_put(stubber)
        upload(client, io.BytesIO(b'x' * 100))
        expect_create(stubber)
        expect_part(stubber, 1)
        expect_part(stubber, 2)
        expect_complete(stubber, part_entries(2))
        upload(client, io.BytesIO(b'x' * (PART + 1)))
        stubber.assert_no_pending_responses()


def test_explicit_checksum_algorithm_is_used_everywhere(client, stubber):
    expect_put(stubber, ChecksumAlgorithm='SHA256')
    upload(client, io.BytesIO(b'x' * 100), {'ChecksumAlgorithm': 'SHA256'})
    expect_create(stubber, ChecksumAlgorithm='SHA256')
    expect_part(stubber, 1, {'ChecksumSHA256': 's1'}, ChecksumAlgorithm='SHA256')
    expect_part(stubber, 2, {'ChecksumSHA256': 's2'}, ChecksumAlgorithm='SHA256')
    expect_complete(
        stubber,
        [
            {'ETag': '"etag-1"', 'PartNumber': 1, 'ChecksumSHA256': 's1'},
            {'ETag': '"etag-2"', 'PartNumber': 2, 'ChecksumSHA256': 's2'},
        ],
    )
    upload(client, io.BytesIO(b'x' * (PART + 1)), {'ChecksumAlgorithm': 'SHA256'})


def test_full_object_checksum_multipart_flow(client, stubber):
    size = PART + 1
    extra_args = {'ChecksumSHA256': 'c2hhMjU2', 'MpuObjectSize': size}
    expect_create(stubber, ChecksumType='FULL_OBJECT', ChecksumAlgorithm='SHA256')
    expect_part(stubber, 1, {'ChecksumSHA256': 'p1'}, ChecksumAlgorithm='SHA256')
    expect_part(stubber, 2, {'ChecksumSHA256': 'p2'}, ChecksumAlgorithm='SHA256')
    expect_complete(
        stubber,
        [
            {'ETag': '"etag-1"', 'PartNumber': 1, 'ChecksumSHA256': 'p1'},
            {'ETag': '"etag-2"', 'PartNumber': 2, 'ChecksumSHA256': 'p2'},
        ],
        ChecksumSHA256='c2hhMjU2',
        MpuObjectSize=size,
        ChecksumType='FULL_OBJECT',
    )
    future = upload(client, io.BytesIO(b'x' * size), extra_args)
    assert future.meta.call_args.extra_args == {
        'ChecksumSHA256': 'c2hhMjU2',
        'MpuObjectSize': size,
        'ChecksumType': 'FULL_OBJECT',
        'ChecksumAlgorithm': 'SHA256',
    }


def test_full_object_checksum_on_a_single_put(client, stubber):
    expect_put(stubber, ChecksumCRC32='AAAAAA==')
    extra_args = {'ChecksumCRC32': 'AAAAAA==', 'MpuObjectSize': 100}
    upload(client, io.BytesIO(b'x' * 100), extra_args)


def test_failed_part_aborts_with_exactly_bucket_key_upload_id(client, stubber):
    extra_args = {'RequestPayer': 'requester', 'ExpectedBucketOwner': '111122223333'}
    expect_create(stubber, ChecksumAlgorithm='CRC32', **extra_args)
    stubber.add_client_error(
        'upload_part',
        service_error_code='InternalError',
        http_status_code=400,
        expected_params={
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'PartNumber': 1,
            'Body': ANY,
            'ChecksumAlgorithm': 'CRC32',
            **extra_args,
        },
    )
    # Part 2 and the completion are skipped once the transfer has failed.
    stubber.add_response(
        'abort_multipart_upload',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )
    with pytest.raises(ClientError, match='InternalError'):
        upload(client, io.BytesIO(b'x' * (PART + 1)), extra_args)


def test_missing_file_fails_before_any_request(client, stubber, tmp_path):
    with pytest.raises(FileNotFoundError):
        upload(client, str(tmp_path / 'missing'))


def test_unsupported_source_fails_through_the_future(client, stubber):
    with pytest.raises(RuntimeError, match='is not supported'):
        upload(client, object())


def test_on_queued_subscriber_can_change_extra_args(client, stubber):
    class SetContentType:
        def on_queued(self, future, **kwargs):
            future.meta.call_args.extra_args['ContentType'] = 'text/csv'

    expect_put(stubber, ChecksumAlgorithm='CRC32', ContentType='text/csv')
    upload(client, io.BytesIO(b'x'), subscribers=[SetContentType()])


def test_provided_size_skips_the_stream_probe(client, stubber):
    class ProvideSize:
        def on_queued(self, future, **kwargs):
            future.meta.provide_transfer_size(10)

    # The stream is above the threshold, but the provided size decides: one PUT.
    expect_put(stubber, ChecksumAlgorithm='CRC32')
    upload(client, ReadOnlyStream(b'x' * (PART + 1)), subscribers=[ProvideSize()])


class RawPipe(io.RawIOBase):
    """A non-seekable raw stream; wrapped in a BufferedReader it behaves like stdin."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._stream.readinto(buffer)


@pytest.fixture
def mappings(monkeypatch):
    """Every anonymous mapping created while the test runs."""
    created = []

    class TrackedMmap(mmap.mmap):
        def __new__(cls, *args, **kwargs):
            instance = super().__new__(cls, *args, **kwargs)
            created.append(instance)
            return instance

    monkeypatch.setattr(mmap, 'mmap', TrackedMmap)
    return created


@pytest.mark.parametrize(
    'make_source',
    [io.BytesIO, lambda data: io.BufferedReader(RawPipe(data))],
    ids=['seekable', 'non-seekable'],
)
def test_failed_upload_unmaps_every_in_memory_part(
    client, stubber, mappings, make_source
):
    expect_create(stubber, ChecksumAlgorithm='CRC32')
    stubber.add_client_error('upload_part', service_error_code='InternalError')
    # Parts 2 and 3 are read but skipped: never sent, still released.
    stubber.add_response(
        'abort_multipart_upload',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )
    with pytest.raises(ClientError, match='InternalError'):
        upload(client, make_source(b'x' * (2 * PART + 1)))
    assert mappings
    assert all(mapping.closed for mapping in mappings)


def test_in_memory_parts_are_read_only_when_a_slot_is_free(client, stubber):
    events = []

    class RecordingStream(ReadOnlyStream):
        def read(self, amount=None):
            events.append('read')
            return super().read(amount)

    def record_part(params, **kwargs):
        events.append(f'part {params["PartNumber"]}')

    client.meta.events.register('before-parameter-build.s3.UploadPart', record_part)
    expect_create(stubber, ChecksumAlgorithm='CRC32')
    for number in (1, 2, 3):
        expect_part(stubber, number, ChecksumAlgorithm='CRC32')
    expect_complete(stubber, part_entries(3))
    source = RecordingStream(b'x' * (2 * PART + 1))
    upload(client, source, max_in_memory_upload_chunks=1)
    # With one slot, the next part is read only after the previous one was sent.
    assert events == ['read', 'part 1', 'read', 'part 2', 'read', 'part 3', 'read']
