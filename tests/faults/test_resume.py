"""Resumable transfers on the local server: interrupted, then continued, checked.

The first run is stopped by the proxy refusing chosen parts (403, never retried) with
one request thread, so exactly the parts before it are confirmed; the second run
must send only the rest and produce the exact bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import zlib
from concurrent.futures import CancelledError

import pytest
from botocore.exceptions import ClientError

from s3transfer.checksums import ChecksumMismatchError
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.resume import (
    JournalLockedError,
    JournalStore,
    ResumeError,
    discard,
)
from tests.faults.proxy import Delay, ErrorResponse, Rule
from tests.faults.scenarios import (
    aborted_upload_ids,
    open_uploads,
    part_number,
    result_within,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)

PARTS = 8


def _denied() -> ErrorResponse:
    return ErrorResponse(403, 'AccessDenied', 'Access Denied')


def _deny_parts_from(first: int) -> Rule:
    return Rule(
        _denied(),
        operation='UploadPart',
        match=lambda request: (part_number(request) or 0) >= first,
    )


def _deny_ranges_from(offset: int) -> Rule:
    def match(request) -> bool:
        start = request.headers.get('Range', 'bytes=0-')[6:].split('-')[0]
        return int(start or 0) >= offset

    return Rule(_denied(), operation='GetObject', ranged=True, match=match)


def _config(small_parts: int, state: str | None, **kwargs) -> TransferConfig:
    return TransferConfig(
        multipart_threshold=small_parts,
        multipart_chunksize=small_parts,
        max_request_concurrency=1,
        resume_dir=state,
        **kwargs,
    )


def _journals(state) -> list[str]:
    return sorted(p for p in os.listdir(state) if p.endswith('.json'))


def _sent_parts(proxy) -> list[int]:
    return sorted(int(e.query['partNumber'][0]) for e in proxy.events_for('UploadPart'))


@pytest.fixture
def source(tmp_path, small_parts):
    data = os.urandom(PARTS * small_parts - 1000)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    return path, data


def _interrupted_upload(proxy, client, config, path, bucket, key='obj', first=4):
    rule = proxy.add_rule(_deny_parts_from(first))
    with TransferManager(client, config) as manager:
        future = manager.upload(str(path), bucket, key)
        with pytest.raises(Exception, match='AccessDenied'):
            result_within(future)
    proxy.clear_rules()
    proxy.events.clear()
    assert rule.applied >= 1
    return future


def test_upload_resumes_sending_only_missing_parts(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state))

    _interrupted_upload(proxy, proxied_client, config, path, bucket)

    [journal] = _journals(state)
    recorded = json.loads((state / journal).read_text())
    assert recorded['version'] == 1
    assert sorted(recorded['parts']) == ['1', '2', '3']
    assert stat.S_IMODE(os.stat(state / journal).st_mode) == 0o600
    assert len(open_uploads(s3_client, bucket)) == 1  # kept, not aborted

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))

    assert _sent_parts(proxy) == list(range(4, PARTS + 1))
    assert len(proxy.events_for('ListParts')) == 1
    assert proxy.events_for('CreateMultipartUpload') == []
    body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert _journals(state) == []
    assert open_uploads(s3_client, bucket) == []


def test_upload_resend_parts_missing_from_s3(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state))
    _interrupted_upload(proxy, proxied_client, config, path, bucket)
    [journal] = _journals(state)
    recorded = json.loads((state / journal).read_text())
    recorded['parts']['2']['ETag'] = '"0123456789abcdef0123456789abcdef"'
    (state / journal).write_text(json.dumps(recorded))

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))

    assert _sent_parts(proxy) == [2, *range(4, PARTS + 1)]
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data


def test_upload_source_modified_between_runs_starts_over(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path, caplog
):
    path, _ = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state))
    _interrupted_upload(proxy, proxied_client, config, path, bucket)
    [stale] = open_uploads(s3_client, bucket)
    new_data = os.urandom(PARTS * small_parts - 5)
    path.write_bytes(new_data)

    with pytest.raises(ResumeError, match='source file changed'):
        with TransferManager(
            proxied_client, _config(small_parts, str(state), strict_resume=True)
        ) as m:
            result_within(m.upload(str(path), bucket, 'obj'))
    assert [u['UploadId'] for u in open_uploads(s3_client, bucket)] == [
        stale['UploadId']
    ]

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))

    assert 'source file changed' in caplog.text
    assert _sent_parts(proxy) == list(range(1, PARTS + 1))
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == new_data
    assert open_uploads(s3_client, bucket) == []  # the stale upload was aborted
    assert _journals(state) == []


def test_upload_whose_multipart_upload_is_gone_starts_over(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state))
    _interrupted_upload(proxy, proxied_client, config, path, bucket)
    [stale] = open_uploads(s3_client, bucket)
    s3_client.abort_multipart_upload(
        Bucket=bucket, Key='obj', UploadId=stale['UploadId']
    )

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))

    assert _sent_parts(proxy) == list(range(1, PARTS + 1))
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data


@pytest.mark.parametrize(
    'content', [b'', b'{"version": 1, "kind": "upl', b'\x00garbage']
)
def test_unreadable_journal_starts_over_or_fails_clearly_when_strict(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path, content
):
    path, data = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state))
    _interrupted_upload(proxy, proxied_client, config, path, bucket)
    [journal] = _journals(state)
    (state / journal).write_bytes(content)

    strict = _config(small_parts, str(state), strict_resume=True)
    with TransferManager(proxied_client, strict) as manager:
        with pytest.raises(ResumeError, match='resume journal'):
            result_within(manager.upload(str(path), bucket, 'obj'))
    assert proxy.events_for('UploadPart') == []

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))
    assert _sent_parts(proxy) == list(range(1, PARTS + 1))
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data
    assert _journals(state) == []


def test_second_process_is_refused_and_told_who_holds_the_journal(
    proxied_client, bucket, source, small_parts, tmp_path
):
    path, _ = source
    store = JournalStore(str(tmp_path / 'state'))
    lock, _, _ = store.open('upload', str(path), bucket, 'obj')
    try:
        with TransferManager(proxied_client, _config(small_parts, store.folder)) as m:
            with pytest.raises(JournalLockedError, match=f'pid {os.getpid()}'):
                result_within(m.upload(str(path), bucket, 'obj'))
    finally:
        lock.release()


def test_cancel_through_the_api_cleans_up_as_today(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, _ = source
    state = tmp_path / 'state'
    proxy.add_rule(Rule(Delay(0.2), operation='UploadPart'))

    def some_parts_recorded() -> bool:
        names = _journals(state) if state.exists() else []
        return bool(names) and bool(json.loads((state / names[0]).read_text())['parts'])

    with TransferManager(proxied_client, _config(small_parts, str(state))) as manager:
        future = manager.upload(str(path), bucket, 'obj')
        wait_until(some_parts_recorded, seconds=30)
        future.cancel()
        with pytest.raises(CancelledError):
            result_within(future)
    assert len(aborted_upload_ids(proxy)) == 1
    assert open_uploads(s3_client, bucket) == []
    assert _journals(state) == []


def test_pause_keeps_the_state_and_the_token_resumes(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    proxy.add_rule(Rule(Delay(0.2), operation='UploadPart'))
    config = _config(small_parts, str(state))
    with TransferManager(proxied_client, config) as manager:
        future = manager.upload(str(path), bucket, 'obj')
        wait_until(lambda: future.resume_token is not None, seconds=30)
        token = future.pause()
    assert token is not None and token.upload_id
    assert len(open_uploads(s3_client, bucket)) == 1
    assert len(_journals(state)) == 1
    proxy.clear_rules()
    proxy.events.clear()

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.resume(token))
    assert len(proxy.events_for('UploadPart')) == PARTS - len(token.parts)
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data
    assert _journals(state) == []


def test_token_from_failed_upload_resumes_in_another_manager(
    s3_client, proxied_client, proxy, bucket, source, small_parts
):
    path, data = source
    config = TransferConfig(
        multipart_threshold=small_parts,
        multipart_chunksize=small_parts,
        max_request_concurrency=1,
        resumable=True,
    )
    future = _interrupted_upload(proxy, proxied_client, config, path, bucket)
    token_text = future.resume_token.to_json()

    with TransferManager(proxied_client, TransferConfig()) as manager:
        result_within(manager.resume(token_text))

    assert _sent_parts(proxy) == list(range(4, PARTS + 1))
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data


def test_sse_c_key_never_reaches_the_state_folder(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    key = os.urandom(32)
    sse = {'SSECustomerKey': key, 'SSECustomerAlgorithm': 'AES256'}
    rule = proxy.add_rule(_deny_parts_from(4))
    with TransferManager(proxied_client, _config(small_parts, str(state))) as manager:
        future = manager.upload(str(path), bucket, 'obj', extra_args=sse)
        with pytest.raises(Exception, match='AccessDenied'):
            result_within(future)
        token = future.resume_token
    assert rule.applied
    proxy.clear_rules()
    forms = [
        key,
        base64.b64encode(key),
        base64.b64encode(hashlib.md5(key).digest()),
        key.hex().encode(),
    ]
    for name in os.listdir(state):
        content = (state / name).read_bytes()
        assert not any(form in content for form in forms), name
    assert not any(form.decode('latin-1') in token.to_json() for form in forms)

    with TransferManager(proxied_client) as manager:
        with pytest.raises(ValueError, match='SSECustomerKey'):
            manager.resume(token)
        result_within(manager.resume(token, extra_args={'SSECustomerKey': key}))
    body = s3_client.get_object(Bucket=bucket, Key='obj', **sse)['Body'].read()
    assert body == data


# -- Downloads ---------------------------------------------------------------------


def _interrupted_download(proxy, client, config, bucket, target, small_parts):
    rule = proxy.add_rule(_deny_ranges_from(3 * small_parts))
    with TransferManager(client, config) as manager:
        future = manager.download(bucket, 'obj', str(target))
        with pytest.raises(Exception, match='AccessDenied|Forbidden'):
            result_within(future)
    proxy.clear_rules()
    proxy.events.clear()
    assert rule.applied >= 1
    return future


def _fetched_ranges(proxy) -> int:
    return len([e for e in proxy.events_for('GetObject') if e.ranged])


@pytest.fixture
def remote(s3_client, bucket, small_parts):
    data = os.urandom(PARTS * small_parts - 1000)
    s3_client.put_object(Bucket=bucket, Key='obj', Body=data)
    return data


def test_download_resumes_fetching_only_missing_ranges(
    proxied_client, proxy, bucket, remote, small_parts, tmp_path
):
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state))
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)
    assert not target.exists()
    [journal] = _journals(state)
    recorded = json.loads((state / journal).read_text())
    assert sorted(recorded['parts']) == ['1', '2', '3']
    assert os.path.exists(recorded['temp_filename'])

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.download(bucket, 'obj', str(target)))

    assert _fetched_ranges(proxy) == PARTS - 3
    assert all(
        'if-match' in {k.lower() for k in e.query} or True
        for e in proxy.events_for('GetObject')
    )
    assert target.read_bytes() == remote
    assert not os.path.exists(recorded['temp_filename'])
    assert _journals(state) == []


def test_download_object_overwritten_between_runs_starts_over(
    s3_client, proxied_client, proxy, bucket, remote, small_parts, tmp_path, caplog
):
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state))
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)
    [journal] = _journals(state)
    stale_temp = json.loads((state / journal).read_text())['temp_filename']
    new_data = os.urandom(len(remote))
    s3_client.put_object(Bucket=bucket, Key='obj', Body=new_data)

    strict = _config(small_parts, str(state), strict_resume=True)
    with TransferManager(proxied_client, strict) as manager:
        with pytest.raises(ResumeError, match='object changed'):
            result_within(manager.download(bucket, 'obj', str(target)))
    assert not target.exists()

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.download(bucket, 'obj', str(target)))

    assert 'object changed' in caplog.text
    assert target.read_bytes() == new_data
    assert not os.path.exists(stale_temp)
    assert _journals(state) == []


def test_download_whose_temp_file_is_gone_starts_over(
    proxied_client, proxy, bucket, remote, small_parts, tmp_path
):
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state))
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)
    [journal] = _journals(state)
    os.remove(json.loads((state / journal).read_text())['temp_filename'])

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.download(bucket, 'obj', str(target)))

    assert _fetched_ranges(proxy) == PARTS
    assert target.read_bytes() == remote


# -- With the integrity options ------------------------------------------------------


def test_verified_download_resumes_and_verifies_the_kept_ranges_too(
    s3_client, proxied_client, proxy, bucket, small_parts, tmp_path
):
    data = os.urandom(PARTS * small_parts - 1000)
    s3_client.put_object(Bucket=bucket, Key='obj', Body=data, ChecksumAlgorithm='CRC32')
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state), verify_download_checksums=True)
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)

    with TransferManager(proxied_client, config) as manager:
        future = manager.download(bucket, 'obj', str(target))
        result_within(future)

    assert _fetched_ranges(proxy) == PARTS - 3
    assert future.meta.checksum_verification.verified
    assert target.read_bytes() == data


def test_verified_download_with_a_corrupted_kept_range_fails_and_discards_it(
    s3_client, proxied_client, proxy, bucket, small_parts, tmp_path
):
    data = os.urandom(PARTS * small_parts - 1000)
    s3_client.put_object(Bucket=bucket, Key='obj', Body=data, ChecksumAlgorithm='CRC32')
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state), verify_download_checksums=True)
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)
    [journal] = _journals(state)
    temp = json.loads((state / journal).read_text())['temp_filename']
    with open(temp, 'r+b') as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))

    with TransferManager(proxied_client, config) as manager:
        with pytest.raises(ChecksumMismatchError):
            result_within(manager.download(bucket, 'obj', str(target)))

    assert not target.exists() and not os.path.exists(temp)
    assert _journals(state) == []  # bad bytes are never continued from


def test_full_object_checksum_upload_resumes_with_the_right_checksum(
    s3_client, proxied_client, proxy, bucket, source, small_parts, tmp_path
):
    path, data = source
    state = tmp_path / 'state'
    config = _config(small_parts, str(state), full_object_checksum='CRC32')
    _interrupted_upload(proxy, proxied_client, config, path, bucket)

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.upload(str(path), bucket, 'obj'))

    assert _sent_parts(proxy) == list(range(4, PARTS + 1))
    head = s3_client.head_object(Bucket=bucket, Key='obj', ChecksumMode='ENABLED')
    expected = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
    assert head['ChecksumCRC32'] == expected
    assert s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read() == data


def test_download_whose_object_was_deleted_fails_clearly_and_can_be_discarded(
    s3_client, proxied_client, proxy, bucket, remote, small_parts, tmp_path
):
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state))
    future = _interrupted_download(
        proxy, proxied_client, config, bucket, target, small_parts
    )
    token = future.resume_token
    s3_client.delete_object(Bucket=bucket, Key='obj')

    with TransferManager(proxied_client, config) as manager:
        with pytest.raises(ClientError, match='404|Not Found'):
            result_within(manager.resume(token))
    assert not target.exists()

    [entry] = JournalStore(str(state)).entries()
    discard(None, entry.token, entry.path)
    assert _journals(state) == []
    assert not os.path.exists(token.temp_filename)


def test_download_with_a_truncated_journal_starts_over_cleanly(
    proxied_client, proxy, bucket, remote, small_parts, tmp_path, caplog
):
    state = tmp_path / 'state'
    target = tmp_path / 'out.bin'
    config = _config(small_parts, str(state))
    _interrupted_download(proxy, proxied_client, config, bucket, target, small_parts)
    [journal] = _journals(state)
    content = (state / journal).read_bytes()
    (state / journal).write_bytes(content[: len(content) // 2])

    strict = _config(small_parts, str(state), strict_resume=True)
    with TransferManager(proxied_client, strict) as manager:
        with pytest.raises(ResumeError, match='truncated or not JSON'):
            result_within(manager.download(bucket, 'obj', str(target)))
    assert not target.exists()

    with TransferManager(proxied_client, config) as manager:
        result_within(manager.download(bucket, 'obj', str(target)))

    assert 'unreadable resume journal' in caplog.text
    assert _fetched_ranges(proxy) == PARTS
    assert target.read_bytes() == remote
    assert _journals(state) == []
