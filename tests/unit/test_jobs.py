"""Bulk jobs as values: checks, batching, manifests, results and the results log."""

from __future__ import annotations

import json

import pytest

from s3transfer.directory import FileCopy, FileUpload, Refused
from s3transfer.jobs import (
    COPY,
    DONE,
    DOWNLOAD,
    FAILED,
    REFUSED,
    UPLOAD,
    FileResult,
    Job,
    JobError,
    ManifestError,
    ResultsLog,
    S3Options,
    check_manifest,
    cut_batches,
    iter_entries,
    manifest_entries,
    manifest_format,
    one_line,
)


def _upload(size, name='f'):
    return FileUpload(f'/src/{name}', 'bucket', name, size)


def _copy_job(tmp_path, text, **options):
    manifest = tmp_path / options.pop('name', 'keys.txt')
    manifest.write_bytes(text)
    return Job(COPY, 's3://src/pre/', 's3://dst/', manifest=str(manifest), **options)


# -- Job checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        ((UPLOAD, '/data', '/elsewhere'), 'destination of a upload must be an s3://'),
        ((DOWNLOAD, '/data', '/out'), 'source of a download must be an s3://'),
        ((COPY, 's3://a/x', '/out'), 'destination of a copy must be an s3://'),
        ((UPLOAD, 's3://a/x', 's3://b/'), 'source of a upload must be a local folder'),
        (('move', 's3://a/', 's3://b/'), 'direction must be one of'),
        ((COPY, 's3:///x', 's3://b/'), 'not an s3://bucket/prefix URL'),
    ],
)
def test_malformed_jobs_are_refused(args, message):
    with pytest.raises(JobError, match=message):
        Job(*args)


def test_job_options_are_checked():
    with pytest.raises(JobError, match='at least 1'):
        Job(COPY, 's3://a/', 's3://b/', batch_files=0)
    with pytest.raises(JobError, match='filter kind'):
        Job(COPY, 's3://a/', 's3://b/', filters=(('keep', '*'),))
    with pytest.raises(JobError, match='needs an S3 source'):
        Job(UPLOAD, '/data', 's3://b/', manifest='keys.txt')
    with pytest.raises(JobError, match='Bucket and Key'):
        Job(COPY, 's3://a/', 's3://b/', inventory_columns=('Key',))
    with pytest.raises(JobError):
        Job(COPY, 's3://a/', 's3://b/', transfer_config=(('multipart_threshold', 0),))


def test_identity_and_repr_carry_no_secrets():
    s3 = S3Options(aws_access_key_id='AKIDSECRET', aws_secret_access_key='sekrit')
    job = Job(COPY, 's3://a/', 's3://b/', s3=s3)
    assert 'sekrit' not in repr(job) and 'AKIDSECRET' not in repr(job)
    assert 'sekrit' not in json.dumps(job.identity())


def test_job_config_builds_a_transfer_config():
    job = Job(
        COPY, 's3://a/', 's3://b/', transfer_config=(('max_request_concurrency', 3),)
    )
    assert job.make_config().max_request_concurrency == 3


# -- Batching -----------------------------------------------------------------------


def test_batches_are_cut_by_count():
    items = [_upload(1, str(n)) for n in range(7)]
    batches = list(cut_batches(items, max_files=3, max_bytes=100))
    assert [len(b.items) for b in batches] == [3, 3, 1]
    assert [b.number for b in batches] == [0, 1, 2]
    assert [item for b in batches for item in b.items] == items


def test_batches_are_cut_by_bytes_and_a_big_file_goes_alone():
    items = [_upload(40, 'a'), _upload(40, 'b'), _upload(500, 'c'), _upload(10, 'd')]
    batches = list(cut_batches(items, max_files=10, max_bytes=100))
    assert [[i.key for i in b.items] for b in batches] == [['a', 'b'], ['c'], ['d']]
    assert [b.size for b in batches] == [80, 500, 10]


def test_batching_is_lazy():
    def endless():
        n = 0
        while True:
            yield _upload(1, str(n))
            n += 1

    batches = cut_batches(endless(), max_files=2, max_bytes=10)
    assert len(next(batches).items) == 2


# -- Manifests ----------------------------------------------------------------------


def test_key_list_manifest_streams_listing_entries(tmp_path):
    job = _copy_job(tmp_path, b'pre/a\r\n\npre/b c\npre/d/e\n')
    entries = list(manifest_entries(job, 'src', 'pre/'))
    assert [e['Key'] for e in entries] == ['pre/a', 'pre/b c', 'pre/d/e']
    check_manifest(job)  # no error


def test_manifest_garbage_lines_are_named(tmp_path):
    long_key = b'pre/' + b'x' * 1100
    job = _copy_job(
        tmp_path, b'pre/ok\n\xff\xfe\nother/x\npre/a\x00b\n' + long_key + b'\n'
    )
    with pytest.raises(ManifestError) as raised:
        check_manifest(job)
    message = str(raised.value)
    assert '4 bad line(s), nothing was transferred' in message
    assert 'line 2: is not UTF-8 text' in message
    assert "line 3: names a key outside the source prefix 'pre/'" in message
    assert 'line 4: has a control character' in message
    assert 'line 5: has a key longer than 1024 bytes' in message
    with pytest.raises(ManifestError, match='line 2'):
        list(manifest_entries(job, 'src', 'pre/'))


def test_many_bad_lines_are_summarised(tmp_path):
    job = _copy_job(tmp_path, b'bad\n' * 12)
    with pytest.raises(ManifestError, match=r'and 7 more'):
        check_manifest(job)


def test_inventory_csv_keys_are_url_decoded(tmp_path):
    text = b'"src","pre/a%2Fb+c","12"\n"src","pre/plain","0"\n'
    job = _copy_job(
        tmp_path, text, name='inv.csv', inventory_columns=('Bucket', 'Key', 'Size')
    )
    assert manifest_format(job) == 'inventory'
    entries = list(manifest_entries(job, 'src', 'pre/'))
    assert entries == [
        {'Key': 'pre/a/b c', 'Size': 12},
        {'Key': 'pre/plain', 'Size': 0},
    ]


def test_inventory_csv_garbage_is_named(tmp_path):
    text = b'"src","pre/a"\n"other","pre/b"\n"src","pre/c","x"\n'
    job = _copy_job(tmp_path, text, name='inv.csv')
    with pytest.raises(ManifestError) as raised:
        check_manifest(job)
    message = str(raised.value)
    assert "line 2: names bucket 'other', not the source 'src'" in message
    assert 'line 3: has 3 fields, expected 2' in message


def test_inventory_size_must_be_a_number(tmp_path):
    job = _copy_job(
        tmp_path,
        b'src,pre/a,12kb\n',
        name='inv.csv',
        inventory_columns=('Bucket', 'Key', 'Size'),
    )
    with pytest.raises(ManifestError, match='size that is not a number'):
        check_manifest(job)


def test_unreadable_manifest_is_a_manifest_error(tmp_path):
    job = Job(COPY, 's3://src/', 's3://dst/', manifest=str(tmp_path / 'missing.txt'))
    with pytest.raises(ManifestError, match='cannot read the manifest'):
        check_manifest(job)


def test_copy_entries_from_a_manifest_carry_no_etag(tmp_path):
    job = _copy_job(tmp_path, b'pre/a\n')
    [entry] = list(iter_entries(job, client=None))
    assert entry == FileCopy('src', 'pre/a', 'dst', 'a', 0, None)


def test_download_entries_refuse_unsafe_keys(tmp_path):
    manifest = tmp_path / 'keys.txt'
    manifest.write_text('pre/ok\npre/../escape\n')
    job = Job(DOWNLOAD, 's3://src/pre/', str(tmp_path / 'out'), manifest=str(manifest))
    entries = list(iter_entries(job, client=None))
    assert entries[0].key == 'pre/ok'
    assert isinstance(entries[1], Refused)
    assert 'parent-folder' in entries[1].reason


# -- Results ------------------------------------------------------------------------


def test_file_results_are_one_json_line():
    result = FileResult('s3://a/k', '/tmp/k', FAILED, 3, 'boom')
    assert json.loads(result.to_json()) == {
        'source': 's3://a/k',
        'destination': '/tmp/k',
        'status': 'failed',
        'size': 3,
        'error': 'boom',
    }
    assert FileResult.refused(Refused('s3://a/..', 'bad')).status == REFUSED


def test_one_line_flattens_errors():
    assert one_line(ValueError('a\n  b')) == 'a b'
    assert one_line(KeyError()) == 'KeyError'


def test_results_log_round_trip(tmp_path):
    job = Job(COPY, 's3://a/', 's3://b/')
    path = str(tmp_path / 'log.jsonl')
    log = ResultsLog(path, job)
    assert log.done_sources() == set()
    open(path, 'w').close()  # an empty file is a new log
    assert log.done_sources() == set()
    log.open()
    log.write([FileResult('s3://a/1', 's3://b/1', DONE, 1)])
    log.write([FileResult('s3://a/2', 's3://b/2', FAILED, 1, 'no')])
    log.close()
    with open(path, 'a') as torn:
        torn.write('42\n{"source": "s3://a/3", "sta')  # the client died mid-line
    assert ResultsLog(path, job).done_sources() == {'s3://a/1'}
    again = ResultsLog(path, job)
    again.open()  # appends, no second header
    again.write([FileResult('s3://a/2', 's3://b/2', DONE, 1)])
    again.close()
    assert ResultsLog(path, job).done_sources() == {'s3://a/1', 's3://a/2'}


def test_results_log_of_another_job_is_refused(tmp_path):
    path = str(tmp_path / 'log.jsonl')
    log = ResultsLog(path, Job(COPY, 's3://a/', 's3://b/'))
    log.open()
    log.close()
    with pytest.raises(JobError, match='results log of another job'):
        ResultsLog(path, Job(COPY, 's3://a/', 's3://c/')).done_sources()
    (tmp_path / 'junk').write_text('hello\n')
    with pytest.raises(JobError, match='not a results log'):
        ResultsLog(
            str(tmp_path / 'junk'), Job(COPY, 's3://a/', 's3://b/')
        ).done_sources()
