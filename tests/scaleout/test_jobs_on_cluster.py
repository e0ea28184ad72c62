"""Bulk jobs on a real two-process Dask cluster: failures, resume, manifests, errors."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import signal

import pytest

from s3transfer.jobs import DONE, FAILED, Job, JobError, ManifestError
from tests.conftest import free_port
from tests.scaleout.conftest import tree_digests

# The dask extra is installed in CI's first virtualenv (.ci/run); elsewhere, skip.
distributed = pytest.importorskip(
    's3transfer.distributed', reason='needs the dask extra', exc_type=ImportError
)


class _Interrupted(Exception):
    pass


def _log_records(path):
    with open(path, encoding='utf-8') as log:
        header = json.loads(log.readline())
        return header, [json.loads(line) for line in log]


def test_worker_killed_mid_job_still_copies_everything(localbucket, client):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    digests = localbucket.put_objects(source, 'k/', 1500)
    victim = next(iter(client.run(os.getpid).values()))
    killed = []

    def kill_once(result, progress):
        if progress.files_done >= 200 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    result = distributed.copy(
        client,
        source,
        'k/',
        dest,
        'k/',
        s3=localbucket.s3,
        batch_files=50,
        on_result=kill_once,
    )

    assert killed
    assert (result.done, result.failed, result.refused) == (1500, 0, 0)
    assert tree_digests(localbucket.path(dest, 'k')) == digests


def test_interrupted_job_rerun_with_its_log_transfers_only_what_was_left(
    localbucket, client, tmp_path
):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    digests = localbucket.put_objects(source, 'r/', 1000)
    log = str(tmp_path / 'results.jsonl')

    def interrupt(result, progress):
        if progress.files_done == 300:
            raise _Interrupted

    with pytest.raises(_Interrupted):
        distributed.copy(
            client,
            source,
            'r/',
            dest,
            'r/',
            s3=localbucket.s3,
            batch_files=50,
            results_log=log,
            on_result=interrupt,
        )
    _, records = _log_records(log)
    done_before = {r['source'] for r in records if r['status'] == DONE}
    assert 300 <= len(done_before) < 1000
    written = {
        path: os.stat(localbucket.path(dest, 'r/' + path)).st_mtime_ns
        for path in digests
        if f's3://{source}/r/{path}' in done_before
    }

    result = distributed.copy(
        client,
        source,
        'r/',
        dest,
        'r/',
        s3=localbucket.s3,
        batch_files=50,
        results_log=log,
    )

    assert result.already_done == len(done_before)
    assert (result.done, result.failed) == (1000 - len(done_before), 0)
    assert tree_digests(localbucket.path(dest, 'r')) == digests
    for path, mtime in written.items():  # nothing done before was sent again
        assert os.stat(localbucket.path(dest, 'r/' + path)).st_mtime_ns == mtime
    header, records = _log_records(log)
    assert header['job']['source'] == f's3://{source}/r/'
    assert {r['source'] for r in records if r['status'] == DONE} == {
        f's3://{source}/r/{path}' for path in digests
    }


def test_no_scheduler_at_the_address_is_a_clear_error():
    address = f'tcp://127.0.0.1:{free_port()}'
    with pytest.raises(JobError, match='no Dask scheduler answers at ' + address):
        distributed.connect(address, timeout=2)


def test_manifest_with_garbage_lines_transfers_nothing(localbucket, client, tmp_path):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    localbucket.put_objects(source, '', 20)
    manifest = tmp_path / 'keys.txt'
    manifest.write_bytes(
        b'd00/f000000\nd01/f000001\nbad\x01key\n\xff\xfe not utf-8\nd02/f000002\n'
    )
    log = tmp_path / 'results.jsonl'

    with pytest.raises(ManifestError) as raised:
        distributed.copy(
            client,
            source,
            '',
            dest,
            '',
            s3=localbucket.s3,
            manifest=str(manifest),
            results_log=str(log),
        )

    message = str(raised.value)
    assert '2 bad line(s), nothing was transferred' in message
    assert 'line 3: has a control character' in message
    assert 'line 4: is not UTF-8 text' in message
    assert not any(localbucket.path(dest).iterdir())
    assert not log.exists()


def test_missing_destination_bucket_is_a_clear_error(localbucket, client, tmp_path):
    source = localbucket.new_bucket()
    localbucket.put_objects(source, 'm/', 5)
    log = tmp_path / 'results.jsonl'
    with pytest.raises(JobError, match='destination bucket does not exist: nowhere-'):
        distributed.copy(
            client,
            source,
            'm/',
            'nowhere-bucket',
            '',
            s3=localbucket.s3,
            results_log=str(log),
        )
    assert not log.exists()


def test_missing_source_keys_are_failures_never_done(localbucket, client, tmp_path):
    source = localbucket.new_bucket()
    digests = localbucket.put_objects(source, '', 3)
    manifest = tmp_path / 'keys.txt'
    manifest.write_text('\n'.join([*digests, 'missing/key']) + '\n')
    log = tmp_path / 'results.jsonl'

    result = distributed.download(
        client,
        source,
        '',
        str(tmp_path / 'out'),
        s3=localbucket.s3,
        manifest=str(manifest),
        results_log=str(log),
    )

    assert (result.done, result.failed, result.ok) == (3, 1, False)
    assert result.failures[0].source == f's3://{source}/missing/key'
    assert '404' in result.failures[0].error or 'Not Found' in result.failures[0].error
    assert tree_digests(tmp_path / 'out') == digests  # no partial file left
    _, records = _log_records(log)
    assert {r['status'] for r in records if 'missing' in r['source']} == {FAILED}


def test_inventory_csv_manifest_drives_a_copy(localbucket, client, tmp_path):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    digests = localbucket.put_objects(source, 'inv/', 30)
    manifest = tmp_path / 'inventory.csv.gz'
    with gzip.open(manifest, 'wt', newline='') as out:
        for relative in sorted(digests)[:20]:
            size = os.path.getsize(localbucket.path(source, 'inv/' + relative))
            out.write(f'"{source}","inv/{relative.replace("/", "%2F")}","{size}"\n')

    result = distributed.copy(
        client,
        source,
        'inv/',
        dest,
        'copied/',
        s3=localbucket.s3,
        manifest=str(manifest),
        inventory_columns=('Bucket', 'Key', 'Size'),
    )

    assert (result.done, result.failed) == (20, 0)
    expected = {k: v for k, v in digests.items() if k in sorted(digests)[:20]}
    assert tree_digests(localbucket.path(dest, 'copied')) == expected


def _set_worker_env(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def test_a_batch_failing_on_every_attempt_reports_its_files_failed(
    localbucket, client, tmp_path
):
    source, dest = localbucket.new_bucket(), localbucket.new_bucket()
    localbucket.put_objects(source, 'b/', 6)
    broken = tmp_path / 'broken-config'
    broken.write_text('[default\nthis is not a config file\n')
    # The workers (not this client) cannot build an S3 client: every batch raises.
    previous = client.run(os.environ.get, 'AWS_CONFIG_FILE')
    client.run(_set_worker_env, 'AWS_CONFIG_FILE', str(broken))
    try:
        job = Job(
            'copy',
            f's3://{source}/b/',
            f's3://{dest}/b/',
            batch_files=3,
            s3=dataclasses.replace(localbucket.s3, max_attempts=7),  # a new manager
        )
        result = distributed.run_job(client, job, retries=1)
    finally:
        for address, value in previous.items():
            client.run(_set_worker_env, 'AWS_CONFIG_FILE', value, workers=[address])

    assert (result.done, result.failed, result.batches) == (0, 6, 2)
    assert all('failed on the cluster' in f.error for f in result.failures)
    assert 'config file' in result.failures[0].error, result.failures[0].error
    assert not any(localbucket.path(dest).iterdir())
