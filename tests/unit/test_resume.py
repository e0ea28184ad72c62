"""s3transfer.resume: journal format, atomic 0600 writes, lock, secrets, checks."""

from __future__ import annotations

import json
import logging
import os
import stat
from concurrent.futures import CancelledError
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from s3transfer.plan import PartPlan
from s3transfer.resume import (
    DOWNLOAD,
    JOURNAL_VERSION,
    UPLOAD,
    InvalidJournalError,
    Journal,
    JournalLock,
    JournalLockedError,
    JournalStore,
    ResumeError,
    ResumeOptions,
    ResumeToken,
    default_state_dir,
    discard,
    download_mismatch,
    finish,
    list_confirmed_parts,
    prepare_download,
    prepare_upload,
    read_journal,
    safe_extra_args,
    should_discard,
    start_over,
    transfer_id,
    upload_mismatch,
    write_atomically,
)

MB = 1024 * 1024


def upload_token(**kwargs) -> ResumeToken:
    fields = {
        'kind': UPLOAD,
        'bucket': 'b',
        'key': 'k',
        'filename': '/data/f',
        'plan': PartPlan(20 * MB, 8 * MB),
        'upload_id': 'up-1',
        'source_size': 20 * MB,
        'source_mtime_ns': 123,
        'parts': {1: {'ETag': '"a"', 'PartNumber': 1}},
    }
    fields.update(kwargs)
    return ResumeToken(**fields)


def download_token(**kwargs) -> ResumeToken:
    fields = {
        'kind': DOWNLOAD,
        'bucket': 'b',
        'key': 'k',
        'filename': '/data/f',
        'plan': PartPlan(20 * MB, 8 * MB),
        'etag': '"e"',
        'temp_filename': '/data/f.tmp',
        'parts': {2: {}},
    }
    fields.update(kwargs)
    return ResumeToken(**fields)


# -- Format ------------------------------------------------------------------------


@pytest.mark.parametrize('token', [upload_token(), download_token(version_id='v1')])
def test_token_round_trips_through_json(token):
    text = token.to_json()
    assert json.loads(text)['version'] == JOURNAL_VERSION
    assert ResumeToken.from_json(text) == token


@pytest.mark.parametrize(
    'text',
    [
        '',
        '{"version": 1, "kind": "upl',
        'null',
        '[]',
        '{"version": 99}',
        '{"version": 1, "kind": "delete"}',
        '\x00\xff garbage',
    ],
)
def test_unreadable_journals_raise_invalid_journal_error(text):
    with pytest.raises(InvalidJournalError, match='journal'):
        ResumeToken.from_json(text)


def test_a_journal_with_a_wrong_field_type_is_invalid():
    data = upload_token().to_dict()
    data['parts'] = {'one': {}}
    with pytest.raises(InvalidJournalError):
        ResumeToken.from_dict(data)
    data = upload_token().to_dict()
    data['plan'] = {'total_size': '5', 'part_size': 1}
    with pytest.raises(InvalidJournalError):
        ResumeToken.from_dict(data)


def test_secrets_and_unneeded_args_are_never_kept():
    args = {
        'SSECustomerKey': 'k' * 32,
        'SSECustomerKeyMD5': 'md5',
        'SSECustomerAlgorithm': 'AES256',
        'CopySourceSSECustomerKey': 'x',
        'RequestPayer': 'requester',
        'Metadata': {'a': 'b'},
    }
    kept = safe_extra_args(args)
    assert kept == {'SSECustomerAlgorithm': 'AES256', 'RequestPayer': 'requester'}
    token = upload_token(extra_args=args)
    assert 'k' * 32 not in token.to_json()
    assert 'md5' not in token.to_json()


def test_confirmed_bytes_and_description():
    token = upload_token(parts={1: {}, 3: {}})
    assert token.confirmed_bytes == 8 * MB + 4 * MB
    assert token.describe() == 'upload /data/f -> s3://b/k (2/3 parts)'


def test_transfer_id_depends_on_kind_file_bucket_and_key():
    base = transfer_id(UPLOAD, '/a', 'b', 'k')
    assert base == transfer_id(UPLOAD, '/a', 'b', 'k')
    assert len({base, transfer_id(DOWNLOAD, '/a', 'b', 'k')}) == 2
    assert len({base, transfer_id(UPLOAD, '/a', 'b', 'k2')}) == 2


def test_default_state_dir_follows_xdg(monkeypatch):
    monkeypatch.setenv('XDG_STATE_HOME', '/state')
    assert default_state_dir() == '/state/s3transfer/resume'
    monkeypatch.delenv('XDG_STATE_HOME')
    assert default_state_dir().endswith('.local/state/s3transfer/resume')


# -- Files -------------------------------------------------------------------------


def test_atomic_write_is_owner_only_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / 'j.json'
    write_atomically(str(path), 'one')
    write_atomically(str(path), 'two')
    assert path.read_text() == 'two'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ['j.json']


def test_store_folder_is_owner_only_and_lists_journals(tmp_path):
    store = JournalStore(str(tmp_path / 'state'))
    lock, path, recorded = store.open(UPLOAD, '/data/f', 'b', 'k')
    assert recorded is None
    assert stat.S_IMODE(os.stat(store.folder).st_mode) == 0o700
    write_atomically(path, upload_token().to_json())
    [entry] = store.entries()
    assert entry.token == upload_token()
    assert entry.locked_by == f'pid {os.getpid()} on host {os.uname().nodename}'
    lock.release()
    [entry] = store.entries()
    assert entry.locked_by is None


def test_store_reports_unreadable_journals(tmp_path):
    store = JournalStore(str(tmp_path))
    path = store.path_for(UPLOAD, '/data/f', 'b', 'k')
    with open(path, 'w') as f:
        f.write('{"truncated')
    [entry] = store.entries()
    assert entry.token is None and 'not JSON' in entry.error
    lock, _, recorded = store.open(UPLOAD, '/data/f', 'b', 'k')
    assert isinstance(recorded, InvalidJournalError)
    lock.release()


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    first = JournalLock(str(tmp_path / 'j.json'))
    first.acquire()
    second = JournalLock(str(tmp_path / 'j.json'))
    with pytest.raises(JournalLockedError, match=f'pid {os.getpid()} on host'):
        second.acquire()
    first.release()
    second.acquire()
    second.release(remove=True)
    assert not os.path.exists(tmp_path / 'j.json.lock')


def test_journal_records_parts_and_is_removed_on_completion(tmp_path):
    path = str(tmp_path / 'j.json')
    lock = JournalLock(path)
    lock.acquire()
    journal = Journal(upload_token(parts={}), path, lock)
    journal.record_part(2, {'ETag': '"x"', 'PartNumber': 2})
    assert read_journal(path).parts == {2: {'ETag': '"x"', 'PartNumber': 2}}
    snapshot = journal.snapshot()
    journal.record_part(3, {})
    assert 3 not in snapshot.parts
    journal.remove()
    assert os.listdir(tmp_path) == []


def test_in_memory_journal_writes_nothing(tmp_path):
    journal = Journal(upload_token())
    journal.record_part(2, {})
    journal.remove()
    assert journal.snapshot().parts.keys() == {1, 2}


# -- Checks ------------------------------------------------------------------------


def test_upload_mismatch_reasons():
    token = upload_token()
    assert upload_mismatch(token, 20 * MB, 123) is None
    assert 'source file changed' in upload_mismatch(token, 20 * MB, 124)
    assert 'source file changed' in upload_mismatch(token, 20 * MB + 1, 123)
    assert 'no multipart upload' in upload_mismatch(upload_token(upload_id=None), 0, 0)
    assert 'download' in upload_mismatch(download_token(), 20 * MB, 123)


def test_download_mismatch_reasons():
    token = download_token()
    assert download_mismatch(token, 20 * MB, '"e"', True) is None
    assert 'object changed' in download_mismatch(token, 20 * MB, '"f"', True)
    assert 'object changed' in download_mismatch(token, 20 * MB + 1, '"e"', True)
    assert 'temp file is gone' in download_mismatch(token, 20 * MB, '"e"', False)


class FakeClient:
    """Answers ListParts pages and records AbortMultipartUpload calls."""

    def __init__(self, pages=None, error_code=None):
        self._pages = list(pages or [])
        self._error_code = error_code
        self.calls = []

    def list_parts(self, **kwargs):
        self.calls.append(('list_parts', kwargs))
        if self._error_code:
            raise ClientError({'Error': {'Code': self._error_code}}, 'ListParts')
        return self._pages.pop(0)

    def abort_multipart_upload(self, **kwargs):
        self.calls.append(('abort_multipart_upload', kwargs))
        if self._error_code:
            raise ClientError({'Error': {'Code': self._error_code}}, 'Abort')
        return {}


def test_list_confirmed_parts_keeps_only_matching_parts_across_pages():
    token = upload_token(
        parts={
            1: {'ETag': '"a"', 'PartNumber': 1},
            2: {'ETag': '"b"', 'PartNumber': 2},
            3: {'ETag': '"c"', 'PartNumber': 3},
        }
    )
    client = FakeClient(
        [
            {
                'Parts': [{'PartNumber': 1, 'ETag': '"a"', 'Size': 8 * MB}],
                'IsTruncated': True,
                'NextPartNumberMarker': 1,
            },
            {'Parts': [{'PartNumber': 2, 'ETag': '"other"', 'Size': 8 * MB}]},
        ]
    )
    confirmed = list_confirmed_parts(client, token, {'SSECustomerKey': 'secret'})
    assert confirmed == {1: {'ETag': '"a"', 'PartNumber': 1}}
    assert [call[1]['PartNumberMarker'] for call in client.calls] == [0, 1]
    assert 'SSECustomerKey' not in client.calls[0][1]


def test_list_confirmed_parts_of_a_vanished_upload_is_none():
    client = FakeClient(error_code='NoSuchUpload')
    assert list_confirmed_parts(client, upload_token(), {}) is None
    with pytest.raises(ClientError):
        list_confirmed_parts(FakeClient(error_code='AccessDenied'), upload_token(), {})


def test_start_over_logs_or_raises_when_strict(caplog):
    with caplog.at_level(logging.WARNING):
        start_over(upload_token(), 'reason here', strict=False)
    assert 'reason here' in caplog.text
    with pytest.raises(ResumeError, match='reason here.*strict'):
        start_over(upload_token(), 'reason here', strict=True)


def test_discard_aborts_the_upload_and_removes_the_journal(tmp_path):
    path = str(tmp_path / 'j.json')
    write_atomically(path, upload_token().to_json())
    client = FakeClient()
    discard(client, upload_token(), path)
    assert client.calls == [
        ('abort_multipart_upload', {'Bucket': 'b', 'Key': 'k', 'UploadId': 'up-1'})
    ]
    assert os.listdir(tmp_path) == []
    discard(FakeClient(error_code='NoSuchUpload'), upload_token(), None)


def test_discard_removes_a_download_temp_file(tmp_path):
    temp = tmp_path / 'f.tmp'
    temp.write_bytes(b'x')
    discard(None, download_token(temp_filename=str(temp)), None)
    assert not temp.exists()


def test_discard_refuses_a_journal_in_use(tmp_path):
    path = str(tmp_path / 'j.json')
    lock = JournalLock(path)
    lock.acquire()
    with pytest.raises(JournalLockedError):
        discard(FakeClient(), upload_token(), path)
    lock.release()


# -- What the submission code asks ---------------------------------------------------


def test_prepare_upload_continues_with_confirmed_parts(tmp_path):
    source = tmp_path / 'src'
    source.write_bytes(b'x' * 100)
    st = os.stat(source)
    recorded = upload_token(
        filename=str(source),
        plan=PartPlan(100, 40),
        source_size=100,
        source_mtime_ns=st.st_mtime_ns,
        parts={1: {'ETag': '"a"', 'PartNumber': 1}},
    )
    client = FakeClient([{'Parts': [{'PartNumber': 1, 'ETag': '"a"', 'Size': 40}]}])
    options = ResumeOptions(token=recorded)
    journal = prepare_upload(client, options, str(source), 'b', 'k', {}, 8 * MB)
    assert journal.resumed
    assert journal.token.upload_id == 'up-1'
    assert journal.token.plan == PartPlan(100, 40)
    assert list(journal.token.parts) == [1]


def test_prepare_upload_starts_over_when_the_source_changed(tmp_path):
    source = tmp_path / 'src'
    source.write_bytes(b'x' * 100)
    recorded = upload_token(filename=str(source), source_size=99)
    client = FakeClient()
    options = ResumeOptions(token=recorded)
    journal = prepare_upload(client, options, str(source), 'b', 'k', {}, 40)
    assert not journal.resumed
    assert journal.token.upload_id is None and journal.token.parts == {}
    assert journal.token.plan == PartPlan(100, 40)
    assert client.calls[0][0] == 'abort_multipart_upload'
    with pytest.raises(ResumeError, match='source file changed'):
        prepare_upload(
            client, ResumeOptions(token=recorded, strict=True), str(source), 'b', 'k',
            {}, 40,
        )  # fmt: skip


def test_a_token_for_another_transfer_is_refused(tmp_path):
    options = ResumeOptions(token=upload_token(filename=str(tmp_path / 'other')))
    with pytest.raises(ResumeError, match='not this transfer'):
        prepare_upload(FakeClient(), options, str(tmp_path / 'src'), 'b', 'k', {}, 40)


def test_prepare_download_continues_or_starts_over(tmp_path):
    temp = tmp_path / 'f.tmp'
    temp.write_bytes(b'')
    recorded = download_token(filename=str(tmp_path / 'f'), temp_filename=str(temp))
    store = JournalStore(str(tmp_path / 'state'))
    path = store.path_for(DOWNLOAD, str(tmp_path / 'f'), 'b', 'k')
    os.makedirs(store.folder)
    write_atomically(path, recorded.to_json())
    options = ResumeOptions(store=store)

    args = (options, str(tmp_path / 'f'), 'b', 'k', {}, 20 * MB)
    journal = prepare_download(*args, '"e"', None, 8 * MB, 'new.tmp')
    assert journal.resumed and journal.token.parts == {2: {}}
    journal.release()

    journal = prepare_download(*args, '"changed"', None, 8 * MB, 'new.tmp')
    assert not journal.resumed
    assert journal.token.temp_filename == 'new.tmp'
    assert journal.token.etag == '"changed"'
    assert not temp.exists()
    journal.release()


def _coordinator(status, exception=None, keep=False):
    return SimpleNamespace(status=status, exception=exception, keep_resume_state=keep)


def test_should_discard_only_an_api_cancel():
    assert should_discard(_coordinator('cancelled', CancelledError()))
    assert not should_discard(_coordinator('cancelled', CancelledError(), keep=True))
    assert not should_discard(_coordinator('failed', OSError()))


def test_finish_removes_on_success_and_keeps_on_failure(tmp_path):
    path = str(tmp_path / 'j.json')
    journal = Journal(upload_token(), path, None)
    journal.save()
    finish(journal, _coordinator('failed', OSError()))
    assert os.path.exists(path)
    finish(journal, _coordinator('success'))
    assert not os.path.exists(path)


def test_transfer_config_resume_settings_are_checked():
    from s3transfer.manager import TransferConfig

    default = TransferConfig()
    assert (default.resumable, default.resume_dir, default.strict_resume) == (
        False,
        None,
        False,
    )
    with pytest.raises(TypeError, match='resumable'):
        TransferConfig(resumable='yes')
    with pytest.raises(TypeError, match='strict_resume'):
        TransferConfig(strict_resume=1)
    with pytest.raises(TypeError, match='resume_dir'):
        TransferConfig(resume_dir=5)


def test_a_journal_without_upload_id_is_a_quiet_fresh_start_even_when_strict(
    tmp_path, caplog
):
    source = tmp_path / 'src'
    source.write_bytes(b'x' * 100)
    recorded = upload_token(filename=str(source), upload_id=None, parts={})
    client = FakeClient()
    options = ResumeOptions(token=recorded, strict=True)
    with caplog.at_level(logging.WARNING):
        journal = prepare_upload(client, options, str(source), 'b', 'k', {}, 40)
    assert not journal.resumed and journal.token.upload_id is None
    assert client.calls == [] and caplog.text == ''
