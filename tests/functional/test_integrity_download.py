"""Download verification (``verify_download_checksums``), requests pinned by Stubber."""

import base64
import logging
import os
import zlib

import pytest

from s3transfer.checksums import CRC32, ChecksumMismatchError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.subscribers import BaseSubscriber
from tests.functional.test_download import (
    BUCKET,
    ETAG,
    KEY,
    add_get,
    add_head,
    get_response,
)
from tests.helpers import payload

DATA = payload(11 * 1024)
PART = 4 * 1024  # the download's range size
RANGES = [(0, 4096), (4096, 8192), (8192, len(DATA))]


def crc(data):
    return CRC32.encode(zlib.crc32(data))


def verifying_manager(client, **config_kwargs):
    config = TransferConfig(
        multipart_threshold=PART,
        multipart_chunksize=PART,
        max_request_concurrency=1,
        verify_download_checksums=True,
        **config_kwargs,
    )
    return TransferManager(client, config)


def add_checksum_head(stubber, checksum_fields, etag=ETAG):
    stubber.add_response(
        'head_object',
        {'ContentLength': len(DATA), 'ETag': etag, **checksum_fields},
        {'Bucket': BUCKET, 'Key': KEY, 'ChecksumMode': 'ENABLED'},
    )


def add_ranged_gets(stubber, data, etag=ETAG):
    for start, end in RANGES:
        last = end == len(data)
        add_get(
            stubber,
            data[start:end],
            {
                'Range': f'bytes={start}-' if last else f'bytes={start}-{end - 1}',
                'IfMatch': etag,
            },
            etag=etag,
            content_range=f'bytes {start}-{end - 1}/{len(data)}',
        )


def test_default_config_sends_no_checksum_mode_and_no_extra_requests(
    client, stubber, tmp_path
):
    add_head(stubber, len(DATA))  # exactly Bucket and Key: no ChecksumMode
    add_ranged_gets(stubber, DATA)
    config = TransferConfig(
        multipart_threshold=PART, multipart_chunksize=PART, max_request_concurrency=1
    )
    with TransferManager(client, config) as manager:
        future = manager.download(BUCKET, KEY, str(tmp_path / 'out'))
        future.result()
    stubber.assert_no_pending_responses()
    assert future.meta.checksum_verification is None


def test_full_object_checksum_verified(client, stubber, tmp_path):
    add_checksum_head(
        stubber, {'ChecksumCRC32': crc(DATA), 'ChecksumType': 'FULL_OBJECT'}
    )
    add_ranged_gets(stubber, DATA)
    target = tmp_path / 'out'
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        future.result()
    stubber.assert_no_pending_responses()
    assert target.read_bytes() == DATA
    result = future.meta.checksum_verification
    assert result.verified and result.kind == 'FULL_OBJECT'
    assert result.algorithm == 'CRC32' and result.checksum == crc(DATA)


def test_single_get_is_verified_too(client, stubber, tmp_path):
    small = DATA[:100]
    stubber.add_response(
        'head_object',
        {'ContentLength': 100, 'ETag': ETAG, 'ChecksumCRC32': crc(small)},
        {'Bucket': BUCKET, 'Key': KEY, 'ChecksumMode': 'ENABLED'},
    )
    add_get(stubber, small)
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(tmp_path / 'out'))
        future.result()
    assert future.meta.checksum_verification.verified


@pytest.mark.parametrize('kind', ['FULL_OBJECT', 'COMPOSITE'])
def test_corrupted_range_fails_and_leaves_no_file(client, stubber, tmp_path, kind):
    corrupted = bytearray(DATA)
    corrupted[5000] ^= 0x01
    if kind == 'FULL_OBJECT':
        add_checksum_head(
            stubber, {'ChecksumCRC32': crc(DATA), 'ChecksumType': 'FULL_OBJECT'}
        )
        add_ranged_gets(stubber, bytes(corrupted))
    else:
        add_composite_head_and_attributes(stubber)
        add_ranged_gets(stubber, bytes(corrupted), etag='"abc-3"')
    target = tmp_path / 'out'
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        with pytest.raises(ChecksumMismatchError, match='Checksum mismatch'):
            future.result()
    assert os.listdir(tmp_path) == []


def test_corrupted_download_keeps_an_existing_destination(client, stubber, tmp_path):
    target = tmp_path / 'out'
    target.write_bytes(b'old contents')
    add_checksum_head(stubber, {'ChecksumCRC32': crc(b'other')})
    add_ranged_gets(stubber, DATA)
    with verifying_manager(client) as manager:
        with pytest.raises(ChecksumMismatchError):
            manager.download(BUCKET, KEY, str(target)).result()
    assert os.listdir(tmp_path) == ['out']
    assert target.read_bytes() == b'old contents'


# The object was uploaded in 3 parts of 5,000, 5,000 and 1,264 bytes: not aligned
# with the download's 4 KiB ranges.
OBJECT_PARTS = [(1, 0, 5000), (2, 5000, 5000), (3, 10000, len(DATA) - 10000)]


def part_crcs(data=DATA):
    return [crc(data[offset : offset + size]) for _, offset, size in OBJECT_PARTS]


def composite_value():
    raw = b''.join(base64.b64decode(value) for value in part_crcs())
    return crc(raw)


def add_composite_head_and_attributes(stubber):
    add_checksum_head(
        stubber,
        {'ChecksumCRC32': f'{composite_value()}-3', 'ChecksumType': 'COMPOSITE'},
        etag='"abc-3"',
    )
    stubber.add_response(
        'get_object_attributes',
        {
            'ObjectParts': {
                'TotalPartsCount': 3,
                'IsTruncated': False,
                'Parts': [
                    {'PartNumber': number, 'Size': size, 'ChecksumCRC32': value}
                    for (number, _, size), value in zip(
                        OBJECT_PARTS, part_crcs(), strict=True
                    )
                ],
            }
        },
        {
            'Bucket': BUCKET,
            'Key': KEY,
            'ObjectAttributes': ['ObjectParts'],
            'MaxParts': 1000,
            'PartNumberMarker': 0,
        },
    )


def test_composite_checksum_checks_every_part(client, stubber, tmp_path):
    add_composite_head_and_attributes(stubber)
    add_ranged_gets(stubber, DATA, etag='"abc-3"')
    target = tmp_path / 'out'
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(target))
        future.result()
    stubber.assert_no_pending_responses()
    assert target.read_bytes() == DATA
    result = future.meta.checksum_verification
    assert result.kind == 'COMPOSITE' and result.parts_checked == 3


def test_composite_falls_back_to_part_heads(client, stubber, tmp_path):
    # No type and no suffix, but a multipart ETag (as some S3 implementations answer).
    add_checksum_head(stubber, {'ChecksumCRC32': composite_value()}, etag='"abc-3"')
    stubber.add_client_error(
        'get_object_attributes', 'AccessDenied', http_status_code=403
    )
    for (number, _, size), value in zip(OBJECT_PARTS, part_crcs(), strict=True):
        stubber.add_response(
            'head_object',
            {'ContentLength': size, 'PartsCount': 3, 'ChecksumCRC32': value},
            {
                'Bucket': BUCKET,
                'Key': KEY,
                'PartNumber': number,
                'ChecksumMode': 'ENABLED',
            },
        )
    add_ranged_gets(stubber, DATA, etag='"abc-3"')
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(tmp_path / 'out'))
        future.result()
    stubber.assert_no_pending_responses()
    assert future.meta.checksum_verification.parts_checked == 3


def test_object_without_checksum_says_nothing_was_verified(
    client, stubber, tmp_path, caplog
):
    add_checksum_head(stubber, {})
    add_ranged_gets(stubber, DATA)
    target = tmp_path / 'out'
    with caplog.at_level(logging.WARNING, logger='s3transfer'):
        with verifying_manager(client) as manager:
            future = manager.download(BUCKET, KEY, str(target))
            future.result()
    assert target.read_bytes() == DATA
    result = future.meta.checksum_verification
    assert not result.verified and result.kind == 'NONE'
    assert 'nothing could be verified' in result.reason
    assert 'Not verified: s3://mybucket/mykey' in caplog.text


class KnownObject(BaseSubscriber):
    """Provides size and ETag, as directory downloads do from their listing."""

    def __init__(self, size):
        self._size = size

    def on_queued(self, future, **kwargs):
        future.meta.provide_transfer_size(self._size)
        future.meta.provide_object_etag(ETAG)


SMALL = DATA[:3000]


def add_checksummed_get(stubber, body, checksum_fields):
    response = get_response(body)
    response.update(checksum_fields)
    stubber.add_response(
        'get_object',
        response,
        {'Bucket': BUCKET, 'Key': KEY, 'ChecksumMode': 'ENABLED'},
    )


def test_known_small_object_is_verified_from_its_get_without_a_head(
    client, stubber, tmp_path
):
    add_checksummed_get(
        stubber, SMALL, {'ChecksumCRC32': crc(SMALL), 'ChecksumType': 'FULL_OBJECT'}
    )
    target = tmp_path / 'out'
    with verifying_manager(client) as manager:
        future = manager.download(BUCKET, KEY, str(target), None, [KnownObject(3000)])
        future.result()
    stubber.assert_no_pending_responses()
    assert target.read_bytes() == SMALL
    assert future.meta.checksum_verification.verified


def test_known_small_object_corrupted_in_its_get_fails(client, stubber, tmp_path):
    add_checksummed_get(stubber, b'X' + SMALL[1:], {'ChecksumCRC32': crc(SMALL)})
    with verifying_manager(client) as manager:
        future = manager.download(
            BUCKET, KEY, str(tmp_path / 'out'), None, [KnownObject(3000)]
        )
        with pytest.raises(ChecksumMismatchError):
            future.result()
    assert os.listdir(tmp_path) == []


def test_known_small_object_without_checksum_is_reported(client, stubber, tmp_path):
    add_checksummed_get(stubber, SMALL, {})
    with verifying_manager(client) as manager:
        future = manager.download(
            BUCKET, KEY, str(tmp_path / 'out'), None, [KnownObject(3000)]
        )
        future.result()
    assert future.meta.checksum_verification.verified is False
