"""Managed copies through TransferManager, with Stubber pinning every request."""

import datetime
import io

import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

import s3transfer.copies
from s3transfer.exceptions import S3CopyFailedError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.helpers import offline_client

MiB = 1024 * 1024
SRC = {'Bucket': 'src-bucket', 'Key': 'src-key'}
BUCKET = 'dest-bucket'
KEY = 'dest-key'
ETAG = '"source-etag"'
UPLOAD_ID = 'the-upload-id'
# The spec's example: an 11 MiB object copied in 5 MiB parts.
SIZE_11MIB = 11 * MiB
RANGES_11MIB = ['bytes=0-5242879', 'bytes=5242880-10485759', 'bytes=10485760-11534335']
SOURCE_METADATA = {
    'CacheControl': 'max-age=1',
    'ContentDisposition': 'inline',
    'ContentEncoding': 'identity',
    'ContentLanguage': 'en',
    'ContentType': 'text/source',
    'Expires': datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
    'Metadata': {'origin': 'source'},
}


class Recorder(BaseSubscriber):
    """Records every event a transfer emits."""

    def __init__(self):
        self.events = []
        self.progress = []

    def on_queued(self, future, **kwargs):
        self.events.append('queued')

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.progress.append(bytes_transferred)

    def on_done(self, future, **kwargs):
        self.events.append('done')


class ProvideSizeAndEtag(BaseSubscriber):
    """Supplies size (and optionally etag) before the submission needs them."""

    def __init__(self, size, etag):
        self.size = size
        self.etag = etag

    def on_queued(self, future, **kwargs):
        future.meta.provide_transfer_size(self.size)
        if self.etag is not None:
            future.meta.provide_object_etag(self.etag)


@pytest.fixture
def operations():
    """Names of the operations called, in order, across every stubbed client."""
    return []


def _stubbed(operations, label=None):
    client = offline_client()

    def record(model, **kwargs):
        operations.append(f'{label}:{model.name}' if label else model.name)

    client.meta.events.register('before-parameter-build.s3', record)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


@pytest.fixture
def client_and_stubber(operations):
    client, stubber = _stubbed(operations)
    yield client, stubber
    stubber.deactivate()


@pytest.fixture
def client(client_and_stubber):
    return client_and_stubber[0]


@pytest.fixture
def stubber(client_and_stubber):
    return client_and_stubber[1]


def run_copy(
    client,
    copy_source=SRC,
    extra_args=None,
    subscribers=None,
    source_client=None,
    **config_kwargs,
):
    """Copy to BUCKET/KEY with one request thread (so Stubber order is fixed)."""
    config_kwargs.setdefault('multipart_threshold', 5 * MiB)
    config_kwargs.setdefault('multipart_chunksize', 5 * MiB)
    config = TransferConfig(max_request_concurrency=1, **config_kwargs)
    with TransferManager(client, config) as manager:
        future = manager.copy(
            copy_source,
            BUCKET,
            KEY,
            extra_args=extra_args,
            subscribers=subscribers,
            source_client=source_client,
        )
    return future


def add_head(stubber, size, response=None, copy_source=SRC, **params):
    stubber.add_response(
        'head_object',
        {'ContentLength': size, 'ETag': ETAG, **(response or {})},
        {**copy_source, **params},
    )


def add_create(stubber, **params):
    stubber.add_response(
        'create_multipart_upload',
        {'UploadId': UPLOAD_ID},
        {'Bucket': BUCKET, 'Key': KEY, **params},
    )


def part_params(number, byte_range, copy_source=SRC, **params):
    """The UploadPartCopy parameters of part ``number``."""
    params.setdefault('CopySourceIfMatch', ETAG)
    return {
        'Bucket': BUCKET,
        'Key': KEY,
        'CopySource': copy_source,
        'UploadId': UPLOAD_ID,
        'PartNumber': number,
        'CopySourceRange': byte_range,
        **params,
    }


def add_part(stubber, number, byte_range, result=None, copy_source=SRC, **params):
    stubber.add_response(
        'upload_part_copy',
        {'CopyPartResult': {'ETag': f'"etag-{number}"', **(result or {})}},
        part_params(number, byte_range, copy_source, **params),
    )


def add_parts(stubber, ranges, copy_source=SRC, **params):
    for number, byte_range in enumerate(ranges, start=1):
        add_part(stubber, number, byte_range, copy_source=copy_source, **params)


def parts_list(count, **extra):
    return [
        {'ETag': f'"etag-{n}"', 'PartNumber': n, **extra} for n in range(1, count + 1)
    ]


def add_complete(stubber, parts, response=None, **params):
    stubber.add_response(
        'complete_multipart_upload',
        response or {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {'Parts': parts},
            **params,
        },
    )


def add_abort(stubber):
    stubber.add_response(
        'abort_multipart_upload',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )


def add_multipart_11mib(stubber, head_response=None, create_params=None):
    """HeadObject, CreateMultipartUpload and the three parts of the 11 MiB example."""
    add_head(stubber, SIZE_11MIB, head_response)
    add_create(stubber, **(create_params or {}))
    add_parts(stubber, RANGES_11MIB)


def listing(*names):
    """A ListObjectAnnotations response naming ``names``."""
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    return {
        'Annotations': [
            {'AnnotationName': name, 'LastModified': when, 'Size': 1} for name in names
        ]
    }


def payload(data):
    return StreamingBody(io.BytesIO(data), len(data))


# --- single CopyObject -----------------------------------------------------------


def test_small_copy_heads_then_copies_and_reports_progress(client, stubber, operations):
    add_head(stubber, 1024)
    stubber.add_response(
        'copy_object', {}, {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY}
    )
    recorder = Recorder()

    future = run_copy(client, subscribers=[recorder])

    assert future.result() is None
    stubber.assert_no_pending_responses()
    assert operations == ['HeadObject', 'CopyObject']
    assert recorder.progress == [1024]
    assert recorder.events == ['queued', 'done']
    assert future.meta.size == 1024


def test_zero_byte_copy_reports_zero_progress_once(client, stubber):
    add_head(stubber, 0)
    stubber.add_response(
        'copy_object', {}, {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY}
    )
    recorder = Recorder()

    run_copy(client, subscribers=[recorder]).result()

    assert recorder.progress == [0]


def test_small_copy_passes_every_extra_arg_unfiltered(client, stubber):
    extra_args = {
        'MetadataDirective': 'REPLACE',
        'Metadata': {'new': 'value'},
        'ContentType': 'text/new',
        'TaggingDirective': 'REPLACE',
        'Tagging': 'a=1',
        'AnnotationDirective': 'COPY',
        'CopySourceIfMatch': '"user-etag"',
        'RequestPayer': 'requester',
        'ACL': 'private',
    }
    add_head(stubber, 10, IfMatch='"user-etag"', RequestPayer='requester')
    stubber.add_response(
        'copy_object',
        {},
        {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY, **extra_args},
    )

    run_copy(client, extra_args=dict(extra_args)).result()

    stubber.assert_no_pending_responses()


def test_size_just_below_threshold_is_a_single_copy(client, stubber, operations):
    add_head(stubber, 5 * MiB - 1)
    stubber.add_response(
        'copy_object', {}, {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY}
    )

    run_copy(client).result()

    assert operations == ['HeadObject', 'CopyObject']


# --- multipart copy ---------------------------------------------------------------


def test_multipart_copy_of_11mib_in_5mib_parts(client, stubber, operations):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3))
    recorder = Recorder()

    future = run_copy(client, subscribers=[recorder])

    assert future.result() is None
    stubber.assert_no_pending_responses()
    assert operations == [
        'HeadObject',
        'CreateMultipartUpload',
        'UploadPartCopy',
        'UploadPartCopy',
        'UploadPartCopy',
        'CompleteMultipartUpload',
    ]
    assert recorder.progress == [5242880, 5242880, 1048576]
    assert recorder.events == ['queued', 'done']


def test_size_equal_to_threshold_is_multipart(client, stubber):
    add_head(stubber, 5 * MiB)
    add_create(stubber)
    add_parts(stubber, ['bytes=0-5242879'])
    add_complete(stubber, parts_list(1))

    run_copy(client).result()

    stubber.assert_no_pending_responses()


def test_part_size_comes_from_late_bound_chunksize_adjuster(
    client, stubber, monkeypatch
):
    constructed = []

    class SixMiBAdjuster:
        def __init__(self, *args, **kwargs):
            constructed.append((args, kwargs))

        def adjust_chunksize(self, current_chunksize, file_size=None):
            assert (current_chunksize, file_size) == (5 * MiB, SIZE_11MIB)
            return 6 * MiB

    monkeypatch.setattr(s3transfer.copies, 'ChunksizeAdjuster', SixMiBAdjuster)
    add_head(stubber, SIZE_11MIB)
    add_create(stubber)
    add_parts(stubber, ['bytes=0-6291455', 'bytes=6291456-11534335'])
    add_complete(stubber, parts_list(2))

    run_copy(client).result()

    stubber.assert_no_pending_responses()
    assert constructed == [((), {})]


def test_chunksize_below_minimum_is_raised_to_5mib(client, stubber):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3))

    run_copy(client, multipart_threshold=1, multipart_chunksize=1024).result()

    stubber.assert_no_pending_responses()


def test_user_copy_source_if_match_is_replaced_by_head_etag(client, stubber):
    add_head(stubber, SIZE_11MIB, IfMatch='"user-etag"')
    add_create(stubber)
    add_parts(stubber, RANGES_11MIB)
    add_complete(stubber, parts_list(3))

    run_copy(client, extra_args={'CopySourceIfMatch': '"user-etag"'}).result()

    stubber.assert_no_pending_responses()


def test_provided_size_and_etag_skip_head_and_preserved_metadata(
    client, stubber, operations
):
    add_create(stubber)
    add_parts(stubber, RANGES_11MIB, CopySourceIfMatch='"provided"')
    add_complete(stubber, parts_list(3))

    future = run_copy(
        client,
        extra_args={'ContentType': 'text/caller'},
        subscribers=[ProvideSizeAndEtag(SIZE_11MIB, '"provided"')],
    )

    future.result()
    stubber.assert_no_pending_responses()
    assert operations[0] == 'CreateMultipartUpload'


def test_provided_size_without_etag_still_heads(client, stubber, operations):
    add_head(stubber, 10)
    stubber.add_response(
        'copy_object', {}, {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY}
    )

    future = run_copy(client, subscribers=[ProvideSizeAndEtag(SIZE_11MIB, None)])

    future.result()
    assert operations == ['HeadObject', 'CopyObject']
    assert future.meta.size == 10


def test_checksum_algorithm_reaches_create_and_part_checksums_complete(client, stubber):
    add_head(stubber, SIZE_11MIB)
    add_create(stubber, ChecksumAlgorithm='SHA256')
    for number, byte_range in enumerate(RANGES_11MIB, start=1):
        add_part(stubber, number, byte_range, result={'ChecksumSHA256': f'sum{number}'})
    add_complete(
        stubber,
        [
            {'ETag': f'"etag-{n}"', 'PartNumber': n, 'ChecksumSHA256': f'sum{n}'}
            for n in (1, 2, 3)
        ],
    )

    run_copy(client, extra_args={'ChecksumAlgorithm': 'SHA256'}).result()

    stubber.assert_no_pending_responses()


# --- extra-arg routing -------------------------------------------------------------


def test_head_arg_mapping_and_multipart_routing(client, stubber):
    since = datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc)
    extra_args = {
        'CopySourceIfModifiedSince': since,
        'CopySourceIfNoneMatch': '"other"',
        'CopySourceIfUnmodifiedSince': since,
        'CopySourceSSECustomerAlgorithm': 'AES256',
        'CopySourceSSECustomerKey': 'source-key-32-bytes-long-xxxxxxx',
        'CopySourceSSECustomerKeyMD5': 'source-md5',
        'SSECustomerAlgorithm': 'AES256',
        'SSECustomerKey': 'dest-key-32-bytes-long-xxxxxxxxx',
        'SSECustomerKeyMD5': 'dest-md5',
        'RequestPayer': 'requester',
        'ExpectedBucketOwner': '123456789012',
        'ACL': 'bucket-owner-full-control',
        'StorageClass': 'STANDARD_IA',
    }
    shared = {'RequestPayer': 'requester', 'ExpectedBucketOwner': '123456789012'}
    dest_sse = {
        'SSECustomerAlgorithm': 'AES256',
        'SSECustomerKey': 'dest-key-32-bytes-long-xxxxxxxxx',
        'SSECustomerKeyMD5': 'dest-md5',
    }
    add_head(
        stubber,
        SIZE_11MIB,
        IfModifiedSince=since,
        IfNoneMatch='"other"',
        IfUnmodifiedSince=since,
        SSECustomerAlgorithm='AES256',
        SSECustomerKey='source-key-32-bytes-long-xxxxxxx',
        SSECustomerKeyMD5='source-md5',
        **shared,
    )
    add_create(
        stubber,
        ACL='bucket-owner-full-control',
        StorageClass='STANDARD_IA',
        **dest_sse,
        **shared,
    )
    part_args = {
        key: value
        for key, value in extra_args.items()
        if key not in ('ACL', 'StorageClass')
    }
    add_parts(stubber, RANGES_11MIB, **part_args)
    add_complete(stubber, parts_list(3), **dest_sse, **shared)

    run_copy(client, extra_args=dict(extra_args)).result()

    stubber.assert_no_pending_responses()


# --- metadata directive ------------------------------------------------------------


@pytest.mark.parametrize('directive', [None, 'COPY'])
def test_multipart_copy_keeps_source_metadata(client, stubber, directive):
    extra_args = {'ContentType': 'text/caller', 'Metadata': {'caller': 'x'}}
    if directive:
        extra_args['MetadataDirective'] = directive
    add_multipart_11mib(
        stubber,
        head_response={**SOURCE_METADATA, 'ContentLength': SIZE_11MIB},
        create_params=SOURCE_METADATA,
    )
    add_complete(stubber, parts_list(3))

    run_copy(client, extra_args=extra_args).result()

    stubber.assert_no_pending_responses()


def test_multipart_copy_metadata_replace_uses_caller_values(client, stubber):
    extra_args = {
        'MetadataDirective': 'REPLACE',
        'ContentType': 'text/caller',
        'Metadata': {'caller': 'x'},
    }
    add_multipart_11mib(
        stubber,
        head_response=SOURCE_METADATA,
        create_params={'ContentType': 'text/caller', 'Metadata': {'caller': 'x'}},
    )
    add_complete(stubber, parts_list(3))

    run_copy(client, extra_args=extra_args).result()

    stubber.assert_no_pending_responses()


# --- tagging directive -------------------------------------------------------------


def test_tagging_copy_reads_source_version_and_tags_dest_version(
    client, stubber, operations
):
    source = {**SRC, 'VersionId': 'src-v1'}
    tag_set = [{'Key': 'team', 'Value': 'blue'}, {'Key': 'empty', 'Value': ''}]
    add_head(stubber, SIZE_11MIB, copy_source=source)
    add_create(stubber)
    add_parts(stubber, RANGES_11MIB, copy_source=source)
    add_complete(stubber, parts_list(3), response={'VersionId': 'dest-v9'})
    stubber.add_response(
        'get_object_tagging',
        {'TagSet': tag_set},
        {**SRC, 'VersionId': 'src-v1'},
    )
    stubber.add_response(
        'put_object_tagging',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'Tagging': {'TagSet': tag_set},
            'VersionId': 'dest-v9',
        },
    )

    run_copy(
        client, copy_source=source, extra_args={'TaggingDirective': 'COPY'}
    ).result()

    stubber.assert_no_pending_responses()
    assert operations[-2:] == ['GetObjectTagging', 'PutObjectTagging']


def test_tagging_copy_with_no_source_tags_puts_nothing(client, stubber, operations):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3))
    stubber.add_response('get_object_tagging', {'TagSet': []}, SRC)

    run_copy(client, extra_args={'TaggingDirective': 'COPY'}).result()

    stubber.assert_no_pending_responses()
    assert operations[-1] == 'GetObjectTagging'


def test_tagging_replace_parses_query_string_keeping_blank_values(client, stubber):
    payer = {'RequestPayer': 'requester'}
    add_head(stubber, SIZE_11MIB, **payer)
    add_create(stubber, ChecksumAlgorithm='CRC32', **payer)
    add_parts(stubber, RANGES_11MIB, **payer)
    add_complete(stubber, parts_list(3), **payer)
    tag_set = [
        {'Key': 'a', 'Value': '1'},
        {'Key': 'b', 'Value': ''},
        {'Key': 'c d', 'Value': 'e&f'},
    ]
    stubber.add_response(
        'put_object_tagging',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'Tagging': {'TagSet': tag_set},
            'ChecksumAlgorithm': 'CRC32',
            **payer,
        },
    )
    extra_args = {
        'TaggingDirective': 'REPLACE',
        'Tagging': 'a=1&b=&c+d=e%26f',
        'ChecksumAlgorithm': 'CRC32',
        **payer,
    }

    run_copy(client, extra_args=extra_args).result()

    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    'extra_args',
    [
        {'Tagging': 'a=1'},
        {'TaggingDirective': 'REPLACE'},
        {'TaggingDirective': 'REPLACE', 'Tagging': ''},
        {'AnnotationDirective': 'EXCLUDE'},
    ],
)
def test_directives_that_make_no_extra_requests(
    client, stubber, operations, extra_args
):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3))

    run_copy(client, extra_args=extra_args).result()

    stubber.assert_no_pending_responses()
    assert operations[-1] == 'CompleteMultipartUpload'


# --- annotation directive ----------------------------------------------------------


def _add_annotation_copy(stubber, name, data, put_error=None, dest_version=None):
    stubber.add_response(
        'get_object_annotation',
        {'AnnotationPayload': payload(data)},
        {**SRC, 'AnnotationName': name},
    )
    put_params = {
        'Bucket': BUCKET,
        'Key': KEY,
        'AnnotationName': name,
        'AnnotationPayload': data,
        'ObjectIfMatch': '"dest-etag"',
    }
    if dest_version:
        put_params['VersionId'] = dest_version
    if put_error:
        stubber.add_client_error(
            'put_object_annotation',
            service_error_code=put_error,
            service_message='denied',
            http_status_code=403,
            expected_params=put_params,
        )
    else:
        stubber.add_response('put_object_annotation', {}, put_params)


def test_annotation_copy_copies_each_annotation_in_order(client, stubber, operations):
    add_multipart_11mib(stubber)
    add_complete(
        stubber, parts_list(3), response={'ETag': '"dest-etag"', 'VersionId': 'dv'}
    )
    stubber.add_response(
        'list_object_annotations',
        listing('first', 'second'),
        SRC,
    )
    _add_annotation_copy(stubber, 'first', b'one', dest_version='dv')
    _add_annotation_copy(stubber, 'second', b'two', dest_version='dv')

    run_copy(client, extra_args={'AnnotationDirective': 'COPY'}).result()

    stubber.assert_no_pending_responses()
    assert operations[-5:] == [
        'ListObjectAnnotations',
        'GetObjectAnnotation',
        'PutObjectAnnotation',
        'GetObjectAnnotation',
        'PutObjectAnnotation',
    ]


def test_annotation_put_failure_continues_then_fails_transfer(client, stubber):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3), response={'ETag': '"dest-etag"'})
    stubber.add_response(
        'list_object_annotations',
        listing('a', 'b', 'c'),
        SRC,
    )
    _add_annotation_copy(stubber, 'a', b'1')
    _add_annotation_copy(stubber, 'b', b'2', put_error='AccessDenied')
    _add_annotation_copy(stubber, 'c', b'3')
    # The failure cleanup still aborts; S3 rejects that after completion.
    stubber.add_client_error(
        'abort_multipart_upload',
        service_error_code='NoSuchUpload',
        http_status_code=404,
        expected_params={'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID},
    )

    future = run_copy(client, extra_args={'AnnotationDirective': 'COPY'})

    with pytest.raises(S3CopyFailedError) as excinfo:
        future.result()
    stubber.assert_no_pending_responses()
    error = (
        "AccessDenied('An error occurred (AccessDenied) when calling the "
        "PutObjectAnnotation operation: denied')"
    )
    assert str(excinfo.value) == (
        f"Failed to copy annotations to s3://{BUCKET}/{KEY}. "
        f"Succeeded: ['a', 'c']. Failed: ['b']. Errors: {{'b': {error}}}"
    )


def test_annotation_read_failure_fails_at_once(client, stubber, operations):
    add_multipart_11mib(stubber)
    add_complete(stubber, parts_list(3))
    stubber.add_response(
        'list_object_annotations',
        listing('a', 'b'),
        SRC,
    )
    stubber.add_client_error(
        'get_object_annotation', service_error_code='NoSuchKey', http_status_code=404
    )
    add_abort(stubber)

    future = run_copy(client, extra_args={'AnnotationDirective': 'COPY'})

    with pytest.raises(ClientError, match='NoSuchKey'):
        future.result()
    stubber.assert_no_pending_responses()
    assert operations[-2:] == ['GetObjectAnnotation', 'AbortMultipartUpload']


# --- source client routing ---------------------------------------------------------


def test_source_client_serves_every_source_read(operations):
    dest, dest_stubber = _stubbed(operations, 'dest')
    source, source_stubber = _stubbed(operations, 'src')
    add_head(source_stubber, SIZE_11MIB)
    add_create(dest_stubber)
    add_parts(dest_stubber, RANGES_11MIB)
    add_complete(dest_stubber, parts_list(3), response={'ETag': '"dest-etag"'})
    tag_set = [{'Key': 'k', 'Value': 'v'}]
    source_stubber.add_response('get_object_tagging', {'TagSet': tag_set}, SRC)
    dest_stubber.add_response(
        'put_object_tagging',
        {},
        {'Bucket': BUCKET, 'Key': KEY, 'Tagging': {'TagSet': tag_set}},
    )
    source_stubber.add_response('list_object_annotations', listing('n'), SRC)
    source_stubber.add_response(
        'get_object_annotation',
        {'AnnotationPayload': payload(b'data')},
        {**SRC, 'AnnotationName': 'n'},
    )
    dest_stubber.add_response(
        'put_object_annotation',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'AnnotationName': 'n',
            'AnnotationPayload': b'data',
            'ObjectIfMatch': '"dest-etag"',
        },
    )

    run_copy(
        dest,
        extra_args={'TaggingDirective': 'COPY', 'AnnotationDirective': 'COPY'},
        source_client=source,
    ).result()

    dest_stubber.assert_no_pending_responses()
    source_stubber.assert_no_pending_responses()
    assert operations == [
        'src:HeadObject',
        'dest:CreateMultipartUpload',
        'dest:UploadPartCopy',
        'dest:UploadPartCopy',
        'dest:UploadPartCopy',
        'dest:CompleteMultipartUpload',
        'src:GetObjectTagging',
        'dest:PutObjectTagging',
        'src:ListObjectAnnotations',
        'src:GetObjectAnnotation',
        'dest:PutObjectAnnotation',
    ]


def test_source_client_heads_for_a_small_copy(operations):
    dest, dest_stubber = _stubbed(operations, 'dest')
    source, source_stubber = _stubbed(operations, 'src')
    add_head(source_stubber, 3)
    dest_stubber.add_response(
        'copy_object', {}, {'CopySource': SRC, 'Bucket': BUCKET, 'Key': KEY}
    )

    run_copy(dest, source_client=source).result()

    assert operations == ['src:HeadObject', 'dest:CopyObject']


# --- failures ----------------------------------------------------------------------


def test_failed_part_aborts_the_upload(client, stubber, operations):
    add_head(stubber, SIZE_11MIB)
    add_create(stubber)
    add_part(stubber, 1, RANGES_11MIB[0])
    stubber.add_client_error(
        'upload_part_copy',
        service_error_code='InternalError',
        http_status_code=500,
        expected_params=part_params(2, RANGES_11MIB[1]),
    )
    add_abort(stubber)
    recorder = Recorder()

    future = run_copy(client, subscribers=[recorder])

    with pytest.raises(ClientError, match='InternalError'):
        future.result()
    stubber.assert_no_pending_responses()
    assert operations == [
        'HeadObject',
        'CreateMultipartUpload',
        'UploadPartCopy',
        'UploadPartCopy',
        'AbortMultipartUpload',
    ]
    assert recorder.progress == [5242880]
    assert recorder.events == ['queued', 'done']


def test_precondition_failed_part_raises_s3_copy_failed_error(client, stubber):
    add_head(stubber, SIZE_11MIB)
    add_create(stubber)
    stubber.add_client_error(
        'upload_part_copy',
        service_error_code='PreconditionFailed',
        http_status_code=412,
        expected_params=part_params(1, RANGES_11MIB[0]),
    )
    add_abort(stubber)

    future = run_copy(client)

    with pytest.raises(S3CopyFailedError) as excinfo:
        future.result()
    stubber.assert_no_pending_responses()
    assert str(excinfo.value) == (
        'Contents of stored object "src-key" in bucket "src-bucket" '
        'did not match expected ETag.'
    )


def test_failed_complete_aborts_the_upload(client, stubber):
    add_multipart_11mib(stubber)
    stubber.add_client_error(
        'complete_multipart_upload', service_error_code='InternalError'
    )
    add_abort(stubber)

    with pytest.raises(ClientError, match='InternalError'):
        run_copy(client).result()
    stubber.assert_no_pending_responses()


def test_missing_source_fails_with_404_and_creates_nothing(client, stubber, operations):
    stubber.add_client_error(
        'head_object', service_error_code='404', http_status_code=404
    )
    recorder = Recorder()

    future = run_copy(client, subscribers=[recorder])

    with pytest.raises(ClientError) as excinfo:
        future.result()
    assert excinfo.value.response['Error']['Code'] == '404'
    assert operations == ['HeadObject']
    assert recorder.events == ['queued', 'done']


def test_non_dict_copy_source_fails_with_type_error(client, operations):
    future = run_copy(client, copy_source='src-bucket/src-key')

    with pytest.raises(TypeError) as excinfo:
        future.result()
    assert str(excinfo.value) == (
        'Expecting dictionary formatted: {"Bucket": bucket_name, "Key": key} '
        "but got src-bucket/src-key or type <class 'str'>."
    )
    assert operations == []
