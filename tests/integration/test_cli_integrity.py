"""Integrity flags of ``s3transfer cp`` against the local S3 server (subprocesses)."""

import subprocess
import sys
import zlib

from s3transfer.checksums import CRC32
from tests.helpers import payload


def _run(endpoint, *args, stdin=None):
    command = [sys.executable, '-m', 's3transfer', *args, '--endpoint-url', endpoint]
    return subprocess.run(
        command, capture_output=True, timeout=60, input=stdin, check=False
    )


def test_no_overwrite_keeps_the_existing_object(
    s3_endpoint, s3_client, bucket, tmp_path
):
    source = tmp_path / 'a.txt'
    source.write_bytes(b'first')
    assert _run(s3_endpoint, 'cp', str(source), f's3://{bucket}/a.txt').returncode == 0
    source.write_bytes(b'second')
    second = _run(
        s3_endpoint, 'cp', '--no-overwrite', str(source), f's3://{bucket}/a.txt'
    )
    assert second.returncode == 1
    assert b"not overwritten: the object already exists" in second.stderr
    stored = s3_client.get_object(Bucket=bucket, Key='a.txt')['Body'].read()
    assert stored == b'first'


def test_no_overwrite_on_a_folder_uploads_only_new_files(
    s3_endpoint, s3_client, bucket, tmp_path
):
    (tmp_path / 'old.txt').write_bytes(b'mine')
    (tmp_path / 'new.txt').write_bytes(b'new')
    s3_client.put_object(Bucket=bucket, Key='d/old.txt', Body=b'theirs')
    result = _run(
        s3_endpoint,
        'cp',
        '--recursive',
        '--no-overwrite',
        str(tmp_path),
        f's3://{bucket}/d/',
    )
    assert result.returncode == 1
    assert s3_client.get_object(Bucket=bucket, Key='d/old.txt')['Body'].read() == (
        b'theirs'
    )
    assert s3_client.get_object(Bucket=bucket, Key='d/new.txt')['Body'].read() == (
        b'new'
    )


def test_if_match(s3_endpoint, s3_client, bucket, tmp_path):
    s3_client.put_object(Bucket=bucket, Key='k', Body=b'v1')
    etag = s3_client.head_object(Bucket=bucket, Key='k')['ETag']
    source = tmp_path / 'k'
    source.write_bytes(b'v2')
    wrong = _run(
        s3_endpoint, 'cp', '--if-match', '"0000"', str(source), f's3://{bucket}/k'
    )
    assert wrong.returncode == 1 and b'does not have ETag "0000"' in wrong.stderr
    right = _run(s3_endpoint, 'cp', '--if-match', etag, str(source), f's3://{bucket}/k')
    assert right.returncode == 0, right.stderr
    assert s3_client.get_object(Bucket=bucket, Key='k')['Body'].read() == b'v2'


def test_downloads_are_verified_by_default_and_unverifiable_ones_say_so(
    s3_endpoint, s3_client, make_s3_client, bucket, tmp_path
):
    data = payload(300_000, seed=9)
    s3_client.put_object(Bucket=bucket, Key='crc', Body=data, ChecksumAlgorithm='CRC32')
    ok = _run(s3_endpoint, 'cp', f's3://{bucket}/crc', str(tmp_path / 'crc'))
    assert ok.returncode == 0, ok.stderr
    assert b'not verified' not in ok.stderr
    assert (tmp_path / 'crc').read_bytes() == data

    bare = make_s3_client(request_checksum_calculation='when_required')
    bare.put_object(Bucket=bucket, Key='bare', Body=data)
    if bare.head_object(Bucket=bucket, Key='bare', ChecksumMode='ENABLED').get(
        'ChecksumCRC32'
    ):
        return  # this server computes checksums itself: nothing unverifiable here
    note = _run(s3_endpoint, 'cp', f's3://{bucket}/bare', str(tmp_path / 'bare'))
    assert note.returncode == 0
    assert b'warning: s3://' in note.stderr
    assert b'bare: not verified: S3 stores no CRC checksum' in note.stderr
    skipped = _run(
        s3_endpoint,
        'cp',
        '--no-verify-checksums',
        f's3://{bucket}/bare',
        str(tmp_path / 'bare2'),
    )
    assert skipped.returncode == 0 and b'not verified' not in skipped.stderr


def test_stream_upload_with_full_object_checksum(s3_endpoint, s3_client, bucket):
    data = payload(12 * 1024**2 + 5, seed=4)
    result = _run(
        s3_endpoint,
        'cp',
        '--full-object-checksum',
        '--checksum-algorithm',
        'CRC32',
        '-',
        f's3://{bucket}/stream',
        stdin=data,
    )
    assert result.returncode == 0, result.stderr
    response = s3_client.get_object(Bucket=bucket, Key='stream', ChecksumMode='ENABLED')
    assert response['Body'].read() == data
    assert response['ChecksumCRC32'] == CRC32.encode(zlib.crc32(data))
