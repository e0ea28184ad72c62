"""Resumed transfers, with Stubber: exactly which requests continue them.

An upload continues with ListParts (no CreateMultipartUpload), sends only the parts S3
does not confirm and completes with every part in order. A download sends HeadObject,
then only the missing ranges, each with IfMatch and the recorded VersionId.
"""

import io
import os

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.plan import PartPlan
from s3transfer.resume import DOWNLOAD, UPLOAD, ResumeToken, source_identity
from tests.helpers import Progress, offline_client, payload

MB = 1024 * 1024
PART = 5 * MB
BUCKET = 'bucket'
KEY = 'key'
UPLOAD_ID = 'upload-id'


@pytest.fixture
def client():
    return offline_client()


@pytest.fixture
def stubber(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def run(client, call, **config):
    config = TransferConfig(
        max_request_concurrency=1,
        multipart_threshold=PART,
        multipart_chunksize=PART,
        **config,
    )
    with TransferManager(client, config) as manager:
        return call(manager).result()


def test_resumed_upload_lists_parts_and_sends_only_the_missing_ones(
    client, stubber, tmp_path
):
    path = tmp_path / 'src'
    path.write_bytes(payload(3 * PART - 7))
    size, mtime_ns = source_identity(str(path))
    token = ResumeToken(
        UPLOAD,
        BUCKET,
        KEY,
        str(path),
        PartPlan(size, PART),
        upload_id=UPLOAD_ID,
        source_size=size,
        source_mtime_ns=mtime_ns,
        parts={
            1: {'ETag': '"e1"', 'PartNumber': 1, 'ChecksumCRC32': 'c1'},
            2: {'ETag': '"e2"', 'PartNumber': 2, 'ChecksumCRC32': 'c2'},
        },
    )
    stubber.add_response(
        'list_parts',
        {
            'Parts': [
                {'PartNumber': 1, 'ETag': '"e1"', 'Size': PART},
                {'PartNumber': 2, 'ETag': '"changed"', 'Size': PART},
            ],
            'IsTruncated': False,
        },
        {'Bucket': BUCKET, 'Key': KEY, 'UploadId': UPLOAD_ID, 'PartNumberMarker': 0},
    )
    for number in (2, 3):
        stubber.add_response(
            'upload_part',
            {'ETag': f'"n{number}"', 'ChecksumCRC32': f'n{number}'},
            {
                'Bucket': BUCKET,
                'Key': KEY,
                'UploadId': UPLOAD_ID,
                'PartNumber': number,
                'Body': ANY,
                'ChecksumAlgorithm': 'CRC32',
            },
        )
    stubber.add_response(
        'complete_multipart_upload',
        {},
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'UploadId': UPLOAD_ID,
            'MultipartUpload': {
                'Parts': [
                    {'ETag': '"e1"', 'PartNumber': 1, 'ChecksumCRC32': 'c1'},
                    {'ETag': '"n2"', 'PartNumber': 2, 'ChecksumCRC32': 'n2'},
                    {'ETag': '"n3"', 'PartNumber': 3, 'ChecksumCRC32': 'n3'},
                ]
            },
        },
    )
    progress = Progress()
    run(client, lambda m: m.resume(token, subscribers=[progress]))
    # The confirmed part counts at once (sent parts report as botocore sends them,
    # which a Stubber never does).
    assert progress.amounts == [PART]


def test_resumed_download_gets_only_missing_ranges_pinned_to_the_version(
    client, stubber, tmp_path
):
    data = payload(3 * PART - 7)
    target = tmp_path / 'out.bin'
    temp = tmp_path / 'out.bin.partial'
    temp.write_bytes(data[:PART] + b'\0' * (len(data) - PART))
    token = ResumeToken(
        DOWNLOAD,
        BUCKET,
        KEY,
        str(target),
        PartPlan(len(data), PART),
        etag='"etag"',
        version_id='v1',
        temp_filename=str(temp),
        parts={1: {}},
    )
    stubber.add_response(
        'head_object',
        {'ContentLength': len(data), 'ETag': '"etag"', 'VersionId': 'v1'},
        {'Bucket': BUCKET, 'Key': KEY},
    )
    for start, end in ((PART, 2 * PART - 1), (2 * PART, '')):
        body = data[start : (end + 1 if end else None)]
        stubber.add_response(
            'get_object',
            {
                'Body': StreamingBody(io.BytesIO(body), len(body)),
                'ContentLength': len(body),
                'ContentRange': f'bytes {start}-{start + len(body) - 1}/{len(data)}',
                'ETag': '"etag"',
            },
            {
                'Bucket': BUCKET,
                'Key': KEY,
                'Range': f'bytes={start}-{end}',
                'IfMatch': '"etag"',
                'VersionId': 'v1',
            },
        )
    progress = Progress()
    run(client, lambda m: m.resume(token, subscribers=[progress]))
    assert target.read_bytes() == data
    assert not temp.exists()
    assert sum(progress.amounts) == len(data)
    assert sorted(os.listdir(tmp_path)) == ['out.bin']
