"""Unit tests for s3transfer.copies: argument routing, part math and the tasks."""

import io
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from s3transfer.copies import (
    CopyCompleteMultipartUploadTask,
    CopyObjectTask,
    CopyPartTask,
    CopySubmissionTask,
)
from s3transfer.exceptions import S3CopyFailedError
from s3transfer.utils import CallArgs

SRC = {'Bucket': 'src-bucket', 'Key': 'src-key'}


def bare(cls):
    """An instance built without running ``__init__``."""
    return cls.__new__(cls)


def client_error(code):
    return ClientError({'Error': {'Code': code, 'Message': 'msg'}}, 'Operation')


def make_call_args(extra_args=None, copy_source=SRC, source_client=None):
    return CallArgs(
        copy_source=copy_source,
        bucket='dest-bucket',
        key='dest-key',
        extra_args=extra_args or {},
        subscribers=[],
        source_client=source_client or mock.Mock(name='source_client'),
    )


# --- class attributes -------------------------------------------------------------


def test_extra_args_to_head_args_mapping_is_exact():
    assert CopySubmissionTask.EXTRA_ARGS_TO_HEAD_ARGS_MAPPING == {
        'CopySourceIfMatch': 'IfMatch',
        'CopySourceIfModifiedSince': 'IfModifiedSince',
        'CopySourceIfNoneMatch': 'IfNoneMatch',
        'CopySourceIfUnmodifiedSince': 'IfUnmodifiedSince',
        'CopySourceSSECustomerKey': 'SSECustomerKey',
        'CopySourceSSECustomerAlgorithm': 'SSECustomerAlgorithm',
        'CopySourceSSECustomerKeyMD5': 'SSECustomerKeyMD5',
        'RequestPayer': 'RequestPayer',
        'ExpectedBucketOwner': 'ExpectedBucketOwner',
    }


def test_argument_lists_are_exact():
    copy_source_args = [
        'CopySourceIfMatch',
        'CopySourceIfModifiedSince',
        'CopySourceIfNoneMatch',
        'CopySourceIfUnmodifiedSince',
        'CopySourceSSECustomerKey',
        'CopySourceSSECustomerAlgorithm',
        'CopySourceSSECustomerKeyMD5',
    ]
    task = CopySubmissionTask
    assert task.UPLOAD_PART_COPY_ARGS == copy_source_args + [
        'SSECustomerKey',
        'SSECustomerAlgorithm',
        'SSECustomerKeyMD5',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]
    assert task.CREATE_MULTIPART_ARGS_BLACKLIST == copy_source_args + [
        'MetadataDirective',
        'TaggingDirective',
        'AnnotationDirective',
        'Tagging',
    ]
    assert task.PRESERVED_METADATA_FIELDS == [
        'CacheControl',
        'ContentDisposition',
        'ContentEncoding',
        'ContentLanguage',
        'ContentType',
        'Expires',
        'Metadata',
    ]
    assert task.COMPLETE_MULTIPART_ARGS == [
        'SSECustomerKey',
        'SSECustomerAlgorithm',
        'SSECustomerKeyMD5',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]
    assert task.GET_OBJECT_TAGGING_ARGS == ['RequestPayer', 'ExpectedBucketOwner']
    assert task.PUT_OBJECT_TAGGING_ARGS == [
        'RequestPayer',
        'ExpectedBucketOwner',
        'ChecksumAlgorithm',
    ]
    assert task.LIST_OBJECT_ANNOTATIONS_ARGS == ['RequestPayer', 'ExpectedBucketOwner']
    assert task.GET_OBJECT_ANNOTATION_ARGS == ['RequestPayer', 'ExpectedBucketOwner']
    assert task.PUT_OBJECT_ANNOTATION_ARGS == [
        'RequestPayer',
        'ExpectedBucketOwner',
        'ChecksumAlgorithm',
    ]


# --- submission helpers -------------------------------------------------------------


def test_head_request_is_a_shallow_copy_of_copy_source():
    copy_source = {'Bucket': 'b', 'Key': 'k', 'VersionId': 'v'}

    request = bare(CopySubmissionTask)._get_head_object_request_from_copy_source(
        copy_source
    )

    assert request == copy_source
    assert request is not copy_source


@pytest.mark.parametrize(
    'copy_source, type_text',
    [
        ('b/k', "<class 'str'>"),
        (('b', 'k'), "<class 'tuple'>"),
        (None, "<class 'NoneType'>"),
    ],
)
def test_non_dict_copy_source_raises_type_error(copy_source, type_text):
    with pytest.raises(TypeError) as excinfo:
        bare(CopySubmissionTask)._get_head_object_request_from_copy_source(copy_source)
    assert str(excinfo.value) == (
        'Expecting dictionary formatted: {"Bucket": bucket_name, "Key": key} '
        f'but got {copy_source} or type {type_text}.'
    )


def test_extract_preserved_metadata_keeps_only_listed_fields_present():
    response = {
        'ContentLength': 3,
        'ETag': '"e"',
        'ContentType': 'text/plain',
        'Metadata': {'a': 'b'},
        'CacheControl': 'no-cache',
        'StorageClass': 'STANDARD',
    }

    preserved = bare(CopySubmissionTask)._extract_preserved_metadata(response)

    assert preserved == {
        'ContentType': 'text/plain',
        'Metadata': {'a': 'b'},
        'CacheControl': 'no-cache',
    }


def test_apply_preserved_metadata_source_values_win_over_caller():
    extra_args = {
        'ContentType': 'text/caller',
        'Metadata': {'caller': '1'},
        'ContentLanguage': 'fr',
        'ACL': 'private',
    }
    preserved = {'ContentType': 'text/source', 'Metadata': {'source': '1'}}

    merged = bare(CopySubmissionTask)._apply_preserved_metadata(extra_args, preserved)

    assert merged == {
        'ACL': 'private',
        'ContentType': 'text/source',
        'Metadata': {'source': '1'},
    }
    assert extra_args['ContentType'] == 'text/caller'


def test_apply_preserved_metadata_with_explicit_copy_directive():
    extra_args = {'MetadataDirective': 'COPY', 'Metadata': {'caller': '1'}}

    merged = bare(CopySubmissionTask)._apply_preserved_metadata(
        extra_args, {'Metadata': {'source': '1'}}
    )

    assert merged == {'MetadataDirective': 'COPY', 'Metadata': {'source': '1'}}


def test_apply_preserved_metadata_replace_leaves_args_unchanged():
    extra_args = {'MetadataDirective': 'REPLACE', 'Metadata': {'caller': '1'}}

    merged = bare(CopySubmissionTask)._apply_preserved_metadata(
        extra_args, {'Metadata': {'source': '1'}, 'ContentType': 'x'}
    )

    assert merged == {'MetadataDirective': 'REPLACE', 'Metadata': {'caller': '1'}}


@pytest.mark.parametrize(
    'part_index, num_parts, total, expected',
    [
        (0, 3, 11, 5),
        (1, 3, 11, 5),
        (2, 3, 11, 1),
        (2, 3, 15, 5),
        (0, 1, 3, 3),
    ],
)
def test_get_transfer_size(part_index, num_parts, total, expected):
    task = bare(CopySubmissionTask)
    assert task._get_transfer_size(5, part_index, num_parts, total) == expected


def test_extra_upload_part_args_filters_to_upload_part_copy_args():
    extra_args = {
        'CopySourceIfMatch': '"e"',
        'SSECustomerKey': 'k',
        'RequestPayer': 'requester',
        'ACL': 'private',
        'ChecksumAlgorithm': 'CRC32',
        'MetadataDirective': 'REPLACE',
    }

    part_args = bare(CopySubmissionTask)._extra_upload_part_args(extra_args)

    assert part_args == {
        'CopySourceIfMatch': '"e"',
        'SSECustomerKey': 'k',
        'RequestPayer': 'requester',
    }


# --- CopyObjectTask / CopyPartTask ------------------------------------------------


@pytest.mark.parametrize('size', [0, 7])
def test_copy_object_task_copies_and_reports_size(size):
    client = mock.Mock()
    progress = []

    bare(CopyObjectTask)._main(
        client=client,
        copy_source=SRC,
        bucket='b',
        key='k',
        extra_args={'ACL': 'private'},
        callbacks=[lambda bytes_transferred: progress.append(bytes_transferred)],
        size=size,
    )

    client.copy_object.assert_called_once_with(
        CopySource=SRC, Bucket='b', Key='k', ACL='private'
    )
    assert progress == [size]


def run_part(client, checksum_algorithm=None, callbacks=()):
    return bare(CopyPartTask)._main(
        client=client,
        copy_source=SRC,
        bucket='b',
        key='k',
        upload_id='up',
        part_number=2,
        extra_args={'CopySourceRange': 'bytes=5-9'},
        callbacks=list(callbacks),
        size=5,
        checksum_algorithm=checksum_algorithm,
    )


def test_copy_part_task_returns_etag_and_reports_progress():
    client = mock.Mock()
    client.upload_part_copy.return_value = {
        'CopyPartResult': {'ETag': '"p2"', 'ChecksumCRC32': 'c'}
    }
    progress = []

    entry = run_part(client, callbacks=[lambda **kw: progress.append(kw)])

    assert entry == {'ETag': '"p2"', 'PartNumber': 2}
    assert progress == [{'bytes_transferred': 5}]
    client.upload_part_copy.assert_called_once_with(
        CopySource=SRC,
        Bucket='b',
        Key='k',
        UploadId='up',
        PartNumber=2,
        CopySourceRange='bytes=5-9',
    )


def test_copy_part_task_copies_the_named_checksum():
    client = mock.Mock()
    client.upload_part_copy.return_value = {
        'CopyPartResult': {'ETag': '"p2"', 'ChecksumCRC32': 'c', 'ChecksumSHA1': 's'}
    }

    entry = run_part(client, checksum_algorithm='crc32')

    assert entry == {'ETag': '"p2"', 'PartNumber': 2, 'ChecksumCRC32': 'c'}


def test_copy_part_task_without_the_checksum_member_returns_plain_entry():
    client = mock.Mock()
    client.upload_part_copy.return_value = {'CopyPartResult': {'ETag': '"p2"'}}

    assert run_part(client, checksum_algorithm='SHA256') == {
        'ETag': '"p2"',
        'PartNumber': 2,
    }


def test_copy_part_task_precondition_failed_becomes_s3_copy_failed_error():
    client = mock.Mock()
    client.upload_part_copy.side_effect = client_error('PreconditionFailed')
    progress = []

    with pytest.raises(S3CopyFailedError) as excinfo:
        run_part(client, callbacks=[lambda **kw: progress.append(kw)])
    assert str(excinfo.value) == (
        'Contents of stored object "src-key" in bucket "src-bucket" '
        'did not match expected ETag.'
    )
    assert progress == []


def test_copy_part_task_reraises_other_client_errors():
    client = mock.Mock()
    error = client_error('InternalError')
    client.upload_part_copy.side_effect = error

    with pytest.raises(ClientError) as excinfo:
        run_part(client)
    assert excinfo.value is error


# --- CopyCompleteMultipartUploadTask ----------------------------------------------


def test_complete_task_completes_then_applies_tags_and_annotations():
    client = mock.Mock()
    client.complete_multipart_upload.return_value = {'ETag': '"d"', 'VersionId': 'dv'}
    task = bare(CopyCompleteMultipartUploadTask)
    call_args = make_call_args()
    parts = [{'ETag': '"p1"', 'PartNumber': 1}]

    with (
        mock.patch.object(task, '_apply_tags') as apply_tags,
        mock.patch.object(task, '_apply_annotations') as apply_annotations,
    ):
        result = task._main(
            client=client,
            bucket='b',
            key='k',
            upload_id='up',
            parts=parts,
            extra_args={'RequestPayer': 'requester'},
            call_args=call_args,
            source_version_id='sv',
        )

    assert result is None
    client.complete_multipart_upload.assert_called_once_with(
        Bucket='b',
        Key='k',
        UploadId='up',
        MultipartUpload={'Parts': parts},
        RequestPayer='requester',
    )
    apply_tags.assert_called_once_with(client, call_args, 'sv', 'dv')
    apply_annotations.assert_called_once_with(client, call_args, 'sv', 'dv', '"d"')


@pytest.mark.parametrize(
    'extra_args',
    [{}, {'Tagging': 'a=1'}, {'TaggingDirective': 'KEEP', 'Tagging': 'a=1'}],
)
def test_apply_tags_without_a_known_directive_does_nothing(extra_args):
    client = mock.Mock()
    call_args = make_call_args(extra_args)

    bare(CopyCompleteMultipartUploadTask)._apply_tags(client, call_args, 'sv', 'dv')

    assert client.mock_calls == []
    assert call_args.source_client.mock_calls == []


def test_apply_tags_replace_parses_tagging_in_order_with_blank_values():
    client = mock.Mock()
    call_args = make_call_args(
        {
            'TaggingDirective': 'REPLACE',
            'Tagging': 'z=1&a=&m=x%3Dy',
            'ExpectedBucketOwner': '111',
            'SSECustomerKey': 'ignored',
        }
    )

    bare(CopyCompleteMultipartUploadTask)._apply_tags(client, call_args, 'sv', None)

    client.put_object_tagging.assert_called_once_with(
        Bucket='dest-bucket',
        Key='dest-key',
        Tagging={
            'TagSet': [
                {'Key': 'z', 'Value': '1'},
                {'Key': 'a', 'Value': ''},
                {'Key': 'm', 'Value': 'x=y'},
            ]
        },
        ExpectedBucketOwner='111',
    )
    assert call_args.source_client.mock_calls == []


def test_apply_tags_copy_reads_through_source_client():
    client = mock.Mock()
    source_client = mock.Mock()
    tag_set = [{'Key': 'k', 'Value': 'v'}]
    source_client.get_object_tagging.return_value = {'TagSet': tag_set}
    call_args = make_call_args(
        {'TaggingDirective': 'COPY', 'RequestPayer': 'requester'},
        source_client=source_client,
    )

    bare(CopyCompleteMultipartUploadTask)._apply_tags(client, call_args, 'sv', 'dv')

    source_client.get_object_tagging.assert_called_once_with(
        Bucket='src-bucket', Key='src-key', RequestPayer='requester', VersionId='sv'
    )
    client.put_object_tagging.assert_called_once_with(
        Bucket='dest-bucket',
        Key='dest-key',
        Tagging={'TagSet': tag_set},
        RequestPayer='requester',
        VersionId='dv',
    )


def test_apply_tags_copy_with_missing_tag_set_puts_nothing():
    client = mock.Mock()
    call_args = make_call_args({'TaggingDirective': 'COPY'})
    call_args.source_client.get_object_tagging.return_value = {}

    bare(CopyCompleteMultipartUploadTask)._apply_tags(client, call_args, None, None)

    call_args.source_client.get_object_tagging.assert_called_once_with(
        Bucket='src-bucket', Key='src-key'
    )
    assert client.mock_calls == []


@pytest.mark.parametrize('directive', [None, 'EXCLUDE'])
def test_apply_annotations_only_for_copy_directive(directive):
    client = mock.Mock()
    extra_args = {'AnnotationDirective': directive} if directive else {}
    call_args = make_call_args(extra_args)

    bare(CopyCompleteMultipartUploadTask)._apply_annotations(
        client, call_args, 'sv', 'dv', '"d"'
    )

    assert client.mock_calls == []
    assert call_args.source_client.mock_calls == []


def annotation_source(names):
    source_client = mock.Mock()
    source_client.list_object_annotations.return_value = {
        'Annotations': [{'AnnotationName': name} for name in names]
    }
    source_client.get_object_annotation.side_effect = lambda **kw: {
        'AnnotationPayload': io.BytesIO(kw['AnnotationName'].encode() * 2)
    }
    return source_client


def test_apply_annotations_copies_each_with_version_and_etag():
    client = mock.Mock()
    source_client = annotation_source(['a', 'b'])
    call_args = make_call_args(
        {
            'AnnotationDirective': 'COPY',
            'RequestPayer': 'requester',
            'ChecksumAlgorithm': 'CRC32',
        },
        source_client=source_client,
    )

    bare(CopyCompleteMultipartUploadTask)._apply_annotations(
        client, call_args, 'sv', 'dv', '"d"'
    )

    source = {'Bucket': 'src-bucket', 'Key': 'src-key', 'VersionId': 'sv'}
    source_client.list_object_annotations.assert_called_once_with(
        **source, RequestPayer='requester'
    )
    assert source_client.get_object_annotation.call_args_list == [
        mock.call(**source, RequestPayer='requester', AnnotationName='a'),
        mock.call(**source, RequestPayer='requester', AnnotationName='b'),
    ]
    dest = {'Bucket': 'dest-bucket', 'Key': 'dest-key'}
    shared = {
        'RequestPayer': 'requester',
        'ChecksumAlgorithm': 'CRC32',
        'VersionId': 'dv',
        'ObjectIfMatch': '"d"',
    }
    assert client.put_object_annotation.call_args_list == [
        mock.call(**dest, AnnotationName='a', AnnotationPayload=b'aa', **shared),
        mock.call(**dest, AnnotationName='b', AnnotationPayload=b'bb', **shared),
    ]


def test_apply_annotations_without_versions_or_etag_omits_them():
    client = mock.Mock()
    source_client = annotation_source(['a'])
    call_args = make_call_args(
        {'AnnotationDirective': 'COPY'}, source_client=source_client
    )

    bare(CopyCompleteMultipartUploadTask)._apply_annotations(
        client, call_args, None, None, None
    )

    source_client.list_object_annotations.assert_called_once_with(
        Bucket='src-bucket', Key='src-key'
    )
    client.put_object_annotation.assert_called_once_with(
        Bucket='dest-bucket',
        Key='dest-key',
        AnnotationName='a',
        AnnotationPayload=b'aa',
    )


def test_apply_annotations_reports_every_failed_put():
    client = mock.Mock()
    errors = {'b': RuntimeError('no b'), 'd': ValueError('no d')}

    def put(AnnotationName, **kwargs):
        if AnnotationName in errors:
            raise errors[AnnotationName]

    client.put_object_annotation.side_effect = put
    call_args = make_call_args(
        {'AnnotationDirective': 'COPY'},
        source_client=annotation_source(['a', 'b', 'c', 'd']),
    )

    with pytest.raises(S3CopyFailedError) as excinfo:
        bare(CopyCompleteMultipartUploadTask)._apply_annotations(
            client, call_args, None, None, None
        )
    assert client.put_object_annotation.call_count == 4
    assert str(excinfo.value) == (
        "Failed to copy annotations to s3://dest-bucket/dest-key. "
        "Succeeded: ['a', 'c']. Failed: ['b', 'd']. "
        "Errors: {'b': RuntimeError('no b'), 'd': ValueError('no d')}"
    )


def test_apply_annotations_read_failure_propagates_immediately():
    client = mock.Mock()
    source_client = annotation_source(['a', 'b'])
    source_client.get_object_annotation.side_effect = client_error('NoSuchKey')
    call_args = make_call_args(
        {'AnnotationDirective': 'COPY'}, source_client=source_client
    )

    with pytest.raises(ClientError):
        bare(CopyCompleteMultipartUploadTask)._apply_annotations(
            client, call_args, None, None, None
        )
    assert source_client.get_object_annotation.call_count == 1
    assert client.mock_calls == []


def test_apply_annotations_with_no_annotations_puts_nothing():
    client = mock.Mock()
    source_client = mock.Mock()
    source_client.list_object_annotations.return_value = {}
    call_args = make_call_args(
        {'AnnotationDirective': 'COPY'}, source_client=source_client
    )

    bare(CopyCompleteMultipartUploadTask)._apply_annotations(
        client, call_args, None, None, None
    )

    assert source_client.get_object_annotation.call_count == 0
    assert client.mock_calls == []
