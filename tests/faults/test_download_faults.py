"""Downloads through the fault-injecting proxy: real resets, truncation, errors."""

import hashlib
import io
import logging
import os
import time
from email.message import Message

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError

from s3transfer.exceptions import RetriesExceededError, S3DownloadFailedError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import (
    Delay,
    Hook,
    RequestInfo,
    Reset,
    Rule,
    Truncate,
    classify_operation,
    internal_error,
    slow_down,
)
from tests.faults.scenarios import put_random
from tests.helpers import Progress, WriteOnly

MiB = 1024 * 1024
SMALL = {'multipart_threshold': MiB, 'multipart_chunksize': MiB}


@pytest.fixture
def proxied_client(proxy, make_s3_client):
    """Overrides the suite's: botocore's default retries, so 5xx answers surface."""
    return make_s3_client(endpoint_url=proxy.url)


def put(s3_client, bucket, size, key='obj'):
    """Store ``size`` random bytes as ``key``; return the key and the bytes."""
    return key, put_random(s3_client, bucket, size, key)


def download(client, bucket, key, target, **config):
    progress = Progress()
    with TransferManager(client, TransferConfig(**config)) as manager:
        future = manager.download(bucket, key, target, subscribers=[progress])
        future.result()
    return progress.amounts


def read_target(target):
    if isinstance(target, str):
        with open(target, 'rb') as f:
            return f.read()
    if isinstance(target, io.BytesIO):
        return target.getvalue()
    return target.value


def make_target(kind, tmp_path):
    return {
        'filename': lambda: str(tmp_path / 'out.bin'),
        'seekable': io.BytesIO,
        'non-seekable': WriteOnly,
    }[kind]()


# --- real connection resets ----------------------------------------------------------


@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
def test_reset_mid_ranged_body_is_retried(
    s3_client, bucket, proxy, proxied_client, tmp_path, target_kind, caplog
):
    caplog.set_level(logging.DEBUG, logger='s3transfer.download')
    key, data = put(s3_client, bucket, 3 * MiB + 11)
    rule = proxy.add_rule(
        Rule(
            Reset(after_bytes=600_000),
            operation='GetObject',
            match=lambda request: (
                request.headers['Range'] == f'bytes={MiB}-{2 * MiB - 1}'
            ),
            times=1,
        )
    )
    target = make_target(target_kind, tmp_path)
    progress = download(proxied_client, bucket, key, target, **SMALL)
    assert rule.applied == 1
    assert hashlib.sha256(read_target(target)).digest() == (
        hashlib.sha256(data).digest()
    )
    assert sum(progress) == len(data)
    # The reset hit the body (our retry), not the request (botocore's retry).
    retries = [r for r in caplog.records if r.getMessage().startswith('Retrying')]
    assert len(retries) == 1
    assert len(proxy.events_for('GetObject')) == 4 + 1


@pytest.mark.parametrize('target_kind', ['filename', 'seekable', 'non-seekable'])
def test_reset_mid_single_body_is_retried(
    s3_client, bucket, proxy, proxied_client, tmp_path, target_kind
):
    key, data = put(s3_client, bucket, 600 * 1024)
    rule = proxy.add_rule(
        Rule(Reset(after_bytes=300 * 1024), operation='GetObject', times=2)
    )
    target = make_target(target_kind, tmp_path)
    progress = download(proxied_client, bucket, key, target)
    assert rule.applied == 2
    assert read_target(target) == data  # non-seekable: no duplicated bytes
    assert sum(progress) == len(data)


def test_truncated_body_is_retried(s3_client, bucket, proxy, proxied_client, tmp_path):
    key, data = put(s3_client, bucket, 3 * MiB)  # every part > 5000 bytes
    rule = proxy.add_rule(
        Rule(Truncate(after_bytes=5000), operation='GetObject', times=2)
    )
    target = str(tmp_path / 'out.bin')
    download(proxied_client, bucket, key, target, **SMALL)
    assert rule.applied == 2
    assert read_target(target) == data


def test_resets_on_every_attempt_raise_retries_exceeded(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    key, _ = put(s3_client, bucket, 200 * 1024)
    proxy.add_rule(Rule(Reset(after_bytes=1000), operation='GetObject'))
    target = tmp_path / 'out.bin'
    target.write_bytes(b'keep me')
    with pytest.raises(RetriesExceededError) as error:
        download(proxied_client, bucket, key, str(target), num_download_attempts=3)
    assert isinstance(error.value.last_exception, ResponseStreamingError)
    assert len(proxy.events_for('GetObject')) == 3
    assert os.listdir(tmp_path) == ['out.bin']
    assert target.read_bytes() == b'keep me'


# --- error answers -------------------------------------------------------------------


def test_every_get_answering_500_leaves_no_file(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    key, _ = put(s3_client, bucket, 2 * MiB)
    proxy.add_rule(Rule(internal_error(), operation='GetObject'))
    with pytest.raises(ClientError) as error:
        download(proxied_client, bucket, key, str(tmp_path / 'out'), **SMALL)
    assert error.value.response['Error']['Code'] == 'InternalError'
    assert os.listdir(tmp_path) == []


def test_one_slow_down_is_absorbed_by_botocore_retries(
    s3_client, bucket, proxy, proxied_client
):
    key, data = put(s3_client, bucket, 1000)
    rule = proxy.add_rule(Rule(slow_down(), operation='GetObject', times=1))
    target = io.BytesIO()
    download(proxied_client, bucket, key, target)
    assert rule.applied == 1
    assert target.getvalue() == data


# --- hooks and delays ----------------------------------------------------------------


def test_object_overwritten_between_ranged_gets_fails(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    key, _ = put(s3_client, bucket, 3 * MiB)

    def overwrite(request):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'new' * 1000)

    rule = proxy.add_rule(
        Rule(Hook(overwrite), operation='GetObject', ranged=True, skip=1, times=1)
    )
    target = tmp_path / 'out.bin'
    with pytest.raises(S3DownloadFailedError):
        download(
            proxied_client, bucket, key, str(target), max_request_concurrency=1, **SMALL
        )
    assert rule.applied == 1
    assert os.listdir(tmp_path) == []


def test_delayed_response_still_arrives(s3_client, bucket, proxy, proxied_client):
    key, data = put(s3_client, bucket, 10)
    proxy.add_rule(Rule(Delay(0.3), operation='GetObject', times=1))
    target = io.BytesIO()
    started = time.monotonic()
    download(proxied_client, bucket, key, target)
    assert time.monotonic() - started >= 0.3
    assert target.getvalue() == data


# --- the proxy itself (no network) ---------------------------------------------------


def headers(**values):
    message = Message()
    for name, value in values.items():
        message[name.replace('_', '-')] = value
    return message


@pytest.mark.parametrize(
    ('method', 'key', 'query', 'header_values', 'expected'),
    [
        ('GET', 'k', {}, {}, 'GetObject'),
        ('HEAD', 'k', {}, {}, 'HeadObject'),
        ('PUT', 'k', {}, {}, 'PutObject'),
        ('PUT', 'k', {}, {'x_amz_copy_source': 'b/k'}, 'CopyObject'),
        ('PUT', 'k', {'uploadId': ['u'], 'partNumber': ['1']}, {}, 'UploadPart'),
        (
            'PUT',
            'k',
            {'uploadId': ['u'], 'partNumber': ['1']},
            {'x_amz_copy_source': 'b/k'},
            'UploadPartCopy',
        ),
        ('POST', 'k', {'uploads': ['']}, {}, 'CreateMultipartUpload'),
        ('POST', 'k', {'uploadId': ['u']}, {}, 'CompleteMultipartUpload'),
        ('DELETE', 'k', {'uploadId': ['u']}, {}, 'AbortMultipartUpload'),
        ('DELETE', 'k', {}, {}, 'DeleteObject'),
        ('GET', 'k', {'uploadId': ['u']}, {}, 'ListParts'),
        ('PUT', None, {}, {}, 'BucketPut'),
    ],
)
def test_classify_operation(method, key, query, header_values, expected):
    assert classify_operation(method, key, query, headers(**header_values)) == expected


def test_request_info_parses_path_style_names():
    info = RequestInfo('GET', '/bkt/a/b%20c', {}, headers(Range='bytes=0-1'))
    assert (info.bucket, info.key, info.is_ranged) == ('bkt', 'a/b c', True)
    assert info.operation == 'GetObject'


def test_rule_fraction_is_deterministic_per_seed():
    request = RequestInfo('GET', '/b/k', {}, headers())

    def decisions(seed):
        rule = Rule(internal_error(), fraction=0.5, seed=seed)
        return [rule.decide(request) for _ in range(40)]

    assert decisions(3) == decisions(3)
    assert decisions(3) != decisions(4)
    assert 5 < sum(decisions(3)) < 35


def test_rule_skip_and_times():
    request = RequestInfo('GET', '/b/k', {}, headers())
    rule = Rule(internal_error(), operation='GetObject', skip=2, times=2)
    assert [rule.decide(request) for _ in range(6)] == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert (rule.seen, rule.applied) == (6, 2)
    assert not rule.decide(RequestInfo('HEAD', '/b/k', {}, headers()))
