"""Managed S3-to-S3 copy: one CopyObject, or a multipart copy plus tags/annotations.

The submission task heads the source (unless size and etag are already known), then
submits either a single ``CopyObjectTask`` or CreateMultipartUpload, one
``CopyPartTask`` per range and a final ``CopyCompleteMultipartUploadTask``.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from botocore.exceptions import ClientError

from s3transfer.constants import CONTENT_HEADER_ARGS, MULTIPART_PART_ARGS
from s3transfer.exceptions import S3CopyFailedError
from s3transfer.plan import Part, PartPlan
from s3transfer.retries import RetryPolicy, call_with_retries, part_retry_policy
from s3transfer.tasks import (
    CompleteMultipartUploadTask,
    CreateMultipartUploadTask,
    SubmissionTask,
    Task,
    request_kwargs,
)
from s3transfer.utils import (
    ChunksizeAdjuster,
    get_callbacks,
    get_filtered_dict,
)

logger = logging.getLogger(__name__)

# The copy's conditions on its source and the source's SSE-C key: they go on the
# requests that read the source (HeadObject renamed, UploadPartCopy) only.
_COPY_SOURCE_ARGS = [
    'CopySourceIfMatch',
    'CopySourceIfModifiedSince',
    'CopySourceIfNoneMatch',
    'CopySourceIfUnmodifiedSince',
    'CopySourceSSECustomerKey',
    'CopySourceSSECustomerAlgorithm',
    'CopySourceSSECustomerKeyMD5',
]


class CopySubmissionTask(SubmissionTask):
    """Submits the requests of one managed copy."""

    EXTRA_ARGS_TO_HEAD_ARGS_MAPPING = {
        **{arg: arg.removeprefix('CopySource') for arg in _COPY_SOURCE_ARGS},
        'RequestPayer': 'RequestPayer',
        'ExpectedBucketOwner': 'ExpectedBucketOwner',
    }

    UPLOAD_PART_COPY_ARGS = [*_COPY_SOURCE_ARGS, *MULTIPART_PART_ARGS]

    CREATE_MULTIPART_ARGS_BLACKLIST = [
        *_COPY_SOURCE_ARGS,
        'MetadataDirective',
        'TaggingDirective',
        'AnnotationDirective',
        'Tagging',
    ]

    PRESERVED_METADATA_FIELDS = [*CONTENT_HEADER_ARGS, 'Metadata']

    COMPLETE_MULTIPART_ARGS = list(MULTIPART_PART_ARGS)

    GET_OBJECT_TAGGING_ARGS = ['RequestPayer', 'ExpectedBucketOwner']

    PUT_OBJECT_TAGGING_ARGS = [
        'RequestPayer',
        'ExpectedBucketOwner',
        'ChecksumAlgorithm',
    ]

    LIST_OBJECT_ANNOTATIONS_ARGS = ['RequestPayer', 'ExpectedBucketOwner']

    GET_OBJECT_ANNOTATION_ARGS = ['RequestPayer', 'ExpectedBucketOwner']

    PUT_OBJECT_ANNOTATION_ARGS = [
        'RequestPayer',
        'ExpectedBucketOwner',
        'ChecksumAlgorithm',
    ]

    def _submit(
        self,
        client: Any,
        config: Any,
        osutil: Any,
        request_executor: Any,
        transfer_future: Any,
    ) -> None:
        """Learn the source size (HeadObject) and submit a single or multipart copy."""
        meta = transfer_future.meta
        copy_source = meta.call_args.copy_source
        source_version_id = None
        if isinstance(copy_source, dict):
            source_version_id = copy_source.get('VersionId')
        preserved_metadata: dict[str, Any] = {}
        if meta.size is None or meta.etag is None:
            preserved_metadata = self._head_source(meta)
        if meta.size < config.multipart_threshold:
            self._submit_copy_request(client, request_executor, transfer_future)
        else:
            self._submit_multipart_request(
                client,
                config,
                request_executor,
                transfer_future,
                preserved_metadata=preserved_metadata,
                source_version_id=source_version_id,
            )

    def _head_source(self, meta: Any) -> dict[str, Any]:
        """HeadObject the source; record size and etag, return metadata to keep."""
        call_args = meta.call_args
        request = self._get_head_object_request_from_copy_source(call_args.copy_source)
        for arg, head_arg in self.EXTRA_ARGS_TO_HEAD_ARGS_MAPPING.items():
            if arg in call_args.extra_args:
                request[head_arg] = call_args.extra_args[arg]
        response = call_args.source_client.head_object(**request)
        meta.provide_transfer_size(response['ContentLength'])
        meta.provide_object_etag(response.get('ETag'))
        return self._extract_preserved_metadata(response)

    def _get_head_object_request_from_copy_source(
        self, copy_source: Any
    ) -> dict[str, Any]:
        """A HeadObject request for ``copy_source``, which must be a dict."""
        if isinstance(copy_source, dict):
            return copy.copy(copy_source)
        raise TypeError(
            'Expecting dictionary formatted: '
            '{"Bucket": bucket_name, "Key": key} '
            f'but got {copy_source} or type {type(copy_source)}.'
        )

    def _extract_preserved_metadata(self, response: dict[str, Any]) -> dict[str, Any]:
        """The ``PRESERVED_METADATA_FIELDS`` present in a HeadObject response."""
        return {
            field: response[field]
            for field in self.PRESERVED_METADATA_FIELDS
            if field in response
        }

    def _apply_preserved_metadata(
        self, extra_args: dict[str, Any], preserved_metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """Source metadata replaces the caller's unless MetadataDirective is REPLACE."""
        if extra_args.get('MetadataDirective') == 'REPLACE':
            return extra_args
        merged = get_filtered_dict(
            extra_args, blocklisted_keys=self.PRESERVED_METADATA_FIELDS
        )
        merged.update(preserved_metadata)
        return merged

    def _submit_copy_request(
        self, client: Any, request_executor: Any, transfer_future: Any
    ) -> None:
        """Submit one CopyObject carrying every user extra arg."""
        call_args = transfer_future.meta.call_args
        main_kwargs = request_kwargs(
            client,
            call_args,
            call_args.extra_args,
            copy_source=call_args.copy_source,
            callbacks=get_callbacks(transfer_future, 'progress'),
            size=transfer_future.meta.size,
        )
        self._submit_task(request_executor, CopyObjectTask, main_kwargs, is_final=True)

    def _submit_multipart_request(
        self,
        client: Any,
        config: Any,
        request_executor: Any,
        transfer_future: Any,
        preserved_metadata: dict[str, Any] | None = None,
        source_version_id: str | None = None,
    ) -> None:
        """Submit CreateMultipartUpload, the UploadPartCopy parts and the completion."""
        call_args = transfer_future.meta.call_args
        merged_args = self._apply_preserved_metadata(
            call_args.extra_args, preserved_metadata or {}
        )
        create_args = get_filtered_dict(
            merged_args, blocklisted_keys=self.CREATE_MULTIPART_ARGS_BLACKLIST
        )
        create_future = self._submit_task(
            request_executor,
            CreateMultipartUploadTask,
            request_kwargs(client, call_args, create_args),
        )
        part_futures = self._submit_part_copies(
            client, config, request_executor, transfer_future, create_future
        )
        complete_args = _args_for(call_args.extra_args, self.COMPLETE_MULTIPART_ARGS)
        main_kwargs = request_kwargs(
            client,
            call_args,
            complete_args,
            call_args=call_args,
            source_version_id=source_version_id,
        )
        self._submit_completion(
            request_executor,
            CopyCompleteMultipartUploadTask,
            main_kwargs,
            create_future,
            part_futures,
        )

    def _submit_part_copies(
        self,
        client: Any,
        config: Any,
        request_executor: Any,
        transfer_future: Any,
        create_future: Any,
        parts: Iterable[Part] | None = None,
    ) -> list[Any]:
        """Submit a CopyPartTask per part of the plan (or of ``parts``, a subset).

        Returns their futures in the order submitted.
        """
        meta = transfer_future.meta
        call_args = meta.call_args
        plan = PartPlan(
            meta.size,
            ChunksizeAdjuster().adjust_chunksize(config.multipart_chunksize, meta.size),
        )
        callbacks = get_callbacks(transfer_future, 'progress')
        retry_policy = part_retry_policy(getattr(config, 'part_retry_attempts', 0))
        part_futures = []
        for part in plan.parts() if parts is None else parts:
            extra_args = self._extra_upload_part_args(call_args.extra_args)
            extra_args['CopySourceRange'] = part.range_header()
            if meta.etag is not None:
                extra_args['CopySourceIfMatch'] = meta.etag
            main_kwargs = request_kwargs(
                client,
                call_args,
                extra_args,
                copy_source=call_args.copy_source,
                part_number=part.number,
                callbacks=callbacks,
                size=part.size,
                checksum_algorithm=call_args.extra_args.get('ChecksumAlgorithm'),
            )
            if retry_policy is not None:
                main_kwargs['part_retry_policy'] = retry_policy
            part_futures.append(
                self._submit_task(
                    request_executor,
                    CopyPartTask,
                    main_kwargs,
                    pending_main_kwargs={'upload_id': create_future},
                )
            )
        return part_futures

    def _extra_upload_part_args(self, extra_args: dict[str, Any]) -> dict[str, Any]:
        """The user extra args that UploadPartCopy accepts."""
        return _args_for(extra_args, self.UPLOAD_PART_COPY_ARGS)

    def _get_transfer_size(
        self,
        part_size: int,
        part_index: int,
        num_parts: int,
        total_transfer_size: int,
    ) -> int:
        """Bytes in part ``part_index``: ``part_size`` except for the shorter last."""
        return PartPlan(total_transfer_size, part_size).part(part_index + 1).size


class CopyObjectTask(Task):
    """Copies a whole object with one CopyObject request."""

    def _main(
        self,
        client: Any,
        copy_source: Any,
        bucket: str,
        key: str,
        extra_args: dict[str, Any],
        callbacks: list[Any],
        size: int,
    ) -> None:
        """Copy, then report ``size`` bytes to every callback (even a 0-byte copy)."""
        client.copy_object(CopySource=copy_source, Bucket=bucket, Key=key, **extra_args)
        for callback in callbacks:
            callback(bytes_transferred=size)


class CopyPartTask(Task):
    """Copies one byte range of the source into a multipart upload part."""

    def _main(
        self,
        client: Any,
        copy_source: Any,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        extra_args: dict[str, Any],
        callbacks: list[Any],
        size: int,
        checksum_algorithm: str | None = None,
        part_retry_policy: RetryPolicy | None = None,
    ) -> dict[str, Any]:
        """UploadPartCopy one part; return its part entry for the completion.

        With ``part_retry_policy`` (opt-in) a part that still fails after botocore's
        retries is copied again (progress is reported only once it succeeded).
        """

        def copy_part() -> Any:
            return client.upload_part_copy(
                CopySource=copy_source,
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=part_number,
                **extra_args,
            )

        try:
            if part_retry_policy is None:
                response = copy_part()
            else:
                response = call_with_retries(
                    part_retry_policy,
                    copy_part,
                    stop=self._transfer_coordinator.done,
                    log=logger,
                )
        except ClientError as e:
            if e.response.get('Error', {}).get('Code') == 'PreconditionFailed':
                raise S3CopyFailedError(
                    f'Contents of stored object "{copy_source["Key"]}" in bucket '
                    f'"{copy_source["Bucket"]}" did not match expected ETag.'
                )
            raise
        for callback in callbacks:
            callback(bytes_transferred=size)
        return _part_entry(response['CopyPartResult'], part_number, checksum_algorithm)


def _part_entry(
    result: dict[str, Any], part_number: int, checksum_algorithm: str | None
) -> dict[str, Any]:
    """The CompleteMultipartUpload entry for one copied part."""
    entry = {'ETag': result['ETag'], 'PartNumber': part_number}
    if checksum_algorithm:
        checksum_member = f'Checksum{checksum_algorithm.upper()}'
        if checksum_member in result:
            entry[checksum_member] = result[checksum_member]
    return entry


class CopyCompleteMultipartUploadTask(CompleteMultipartUploadTask):
    """Completes a multipart copy, then copies tags and annotations as directed."""

    def _main(
        self,
        client: Any,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[dict[str, Any]],
        extra_args: dict[str, Any],
        call_args: Any = None,
        source_version_id: str | None = None,
    ) -> None:
        """Complete the upload; apply TaggingDirective and AnnotationDirective.

        ``call_args`` and ``source_version_id`` are always given (by the submission
        task); their defaults only keep the parent task's signature.
        """
        response = client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={'Parts': parts},
            **extra_args,
        )
        dest_etag = response.get('ETag')
        dest_version_id = response.get('VersionId')
        self._apply_tags(client, call_args, source_version_id, dest_version_id)
        self._apply_annotations(
            client, call_args, source_version_id, dest_version_id, dest_etag
        )

    def _apply_tags(
        self,
        client: Any,
        call_args: Any,
        source_version_id: str | None,
        dest_version_id: str | None,
    ) -> None:
        """Tag the dest like the source (COPY) or from ``Tagging`` (REPLACE)."""
        extra_args = call_args.extra_args
        directive = extra_args.get('TaggingDirective')
        if directive == 'COPY':
            response = call_args.source_client.get_object_tagging(
                **_source_location(call_args.copy_source, source_version_id),
                **_args_for(extra_args, CopySubmissionTask.GET_OBJECT_TAGGING_ARGS),
            )
            tag_set = response.get('TagSet', [])
        elif directive == 'REPLACE':
            tag_set = _parse_tagging(extra_args.get('Tagging', ''))
        else:
            return
        if not tag_set:
            return
        put_args = _args_for(extra_args, CopySubmissionTask.PUT_OBJECT_TAGGING_ARGS)
        if dest_version_id:
            put_args['VersionId'] = dest_version_id
        client.put_object_tagging(
            Bucket=call_args.bucket,
            Key=call_args.key,
            Tagging={'TagSet': tag_set},
            **put_args,
        )

    def _apply_annotations(
        self,
        client: Any,
        call_args: Any,
        source_version_id: str | None,
        dest_version_id: str | None,
        dest_etag: str | None,
    ) -> None:
        """Copy every source annotation to the dest when AnnotationDirective is COPY."""
        extra_args = call_args.extra_args
        if extra_args.get('AnnotationDirective') != 'COPY':
            return
        source_client = call_args.source_client
        source = _source_location(call_args.copy_source, source_version_id)
        listing = source_client.list_object_annotations(
            **source,
            **_args_for(extra_args, CopySubmissionTask.LIST_OBJECT_ANNOTATIONS_ARGS),
        )
        get_args = _args_for(extra_args, CopySubmissionTask.GET_OBJECT_ANNOTATION_ARGS)
        put_args = _args_for(extra_args, CopySubmissionTask.PUT_OBJECT_ANNOTATION_ARGS)
        if dest_version_id:
            put_args['VersionId'] = dest_version_id
        if dest_etag:
            put_args['ObjectIfMatch'] = dest_etag
        succeeded: list[str] = []
        errors: dict[str, Exception] = {}
        for entry in listing.get('Annotations', []):
            name = entry['AnnotationName']
            # A failed read aborts the copy; a failed write is collected and reported.
            payload = source_client.get_object_annotation(
                **source, **get_args, AnnotationName=name
            )['AnnotationPayload'].read()
            try:
                client.put_object_annotation(
                    Bucket=call_args.bucket,
                    Key=call_args.key,
                    AnnotationName=name,
                    AnnotationPayload=payload,
                    **put_args,
                )
            except Exception as e:
                logger.debug('Failed to copy annotation %s', name, exc_info=True)
                errors[name] = e
            else:
                succeeded.append(name)
        if errors:
            raise S3CopyFailedError(
                f'Failed to copy annotations to s3://{call_args.bucket}/'
                f'{call_args.key}. Succeeded: {succeeded}. '
                f'Failed: {list(errors)}. Errors: {errors}'
            )


def _args_for(extra_args: dict[str, Any], allowed: list[str]) -> dict[str, Any]:
    """The subset of the user's ``extra_args`` that one request accepts."""
    return get_filtered_dict(extra_args, whitelisted_keys=allowed)


def _source_location(copy_source: dict[str, Any], version_id: str | None) -> dict:
    """``Bucket``/``Key`` of the copy source, plus ``VersionId`` when one is given."""
    location = {'Bucket': copy_source['Bucket'], 'Key': copy_source['Key']}
    if version_id:
        location['VersionId'] = version_id
    return location


def _parse_tagging(tagging: str) -> list[dict[str, str]]:
    """Turn a URL-encoded ``Tagging`` value into a TagSet, keeping blank values."""
    return [
        {'Key': key, 'Value': value}
        for key, value in parse_qsl(tagging, keep_blank_values=True)
    ]
