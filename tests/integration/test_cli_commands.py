"""Every command and flag of the command line against the local S3 server:
attributes read back with head_object, sync's rules, streams, output modes."""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from tests.helpers import write_tree

MiB = 1024**2


def _run(endpoint, *args, input=None, env=None, timeout=120):
    command = [sys.executable, '-m', 's3transfer', *args, '--endpoint-url', endpoint]
    return subprocess.run(
        command, capture_output=True, input=input, env=env, timeout=timeout
    )


def _text(done):
    return done.stdout.decode(), done.stderr.decode()


def _keys(client, bucket, prefix=''):
    pages = client.get_paginator('list_objects_v2').paginate(
        Bucket=bucket, Prefix=prefix
    )
    return {e['Key']: e['Size'] for page in pages for e in page.get('Contents', [])}


# -- cp: object attributes -----------------------------------------------------------


def test_cp_sets_every_object_attribute(s3_endpoint, s3_client, bucket, tmp_path):
    source = tmp_path / 'page.html'
    source.write_bytes(b'<p>hi</p>')
    done = _run(
        s3_endpoint, 'cp', str(source), f's3://{bucket}/a/page.html',
        '--storage-class', 'STANDARD_IA', '--sse', '--acl', 'public-read',
        '--metadata', 'team=data,tier=gold', '--cache-control', 'max-age=60',
        '--content-disposition', 'inline', '--content-encoding', 'identity',
        '--content-language', 'en', '--expires', '2030-01-01T00:00:00Z',
        '--website-redirect', '/other', '--checksum-algorithm', 'SHA256',
        '--request-payer',
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    head = s3_client.head_object(
        Bucket=bucket, Key='a/page.html', ChecksumMode='ENABLED'
    )
    assert head['ContentType'] == 'text/html'  # guessed from the name
    assert head['StorageClass'] == 'STANDARD_IA'
    assert head['ServerSideEncryption'] == 'AES256'
    assert head['Metadata'] == {'team': 'data', 'tier': 'gold'}
    assert head['CacheControl'] == 'max-age=60'
    assert head['ContentDisposition'] == 'inline'
    assert head['ContentEncoding'] == 'identity'
    assert head['ContentLanguage'] == 'en'
    assert head['Expires'].year == 2030
    assert head['WebsiteRedirectLocation'] == '/other'
    assert 'ChecksumSHA256' in head
    acl = s3_client.get_object_acl(Bucket=bucket, Key='a/page.html')
    assert any(
        g['Grantee'].get('URI', '').endswith('AllUsers') and g['Permission'] == 'READ'
        for g in acl['Grants']
    )


def test_content_type_is_guessed_per_file_unless_told_not_to(
    s3_endpoint, s3_client, bucket, tmp_path
):
    write_tree(tmp_path / 'site', {'i.html': b'x', 'd/s.css': b'y', 'raw': b'z'})
    done = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'site'), f's3://{bucket}/s'
    )
    assert done.returncode == 0, _text(done)
    types = {
        key: s3_client.head_object(Bucket=bucket, Key=key)['ContentType']
        for key in ('s/i.html', 's/d/s.css', 's/raw')
    }
    assert types['s/i.html'] == 'text/html' and types['s/d/s.css'] == 'text/css'
    assert types['s/raw'] == 'binary/octet-stream'
    done = _run(
        s3_endpoint, 'cp', str(tmp_path / 'site' / 'i.html'), f's3://{bucket}/n.html',
        '--no-guess-mime-type',
    )  # fmt: skip
    assert done.returncode == 0
    head = s3_client.head_object(Bucket=bucket, Key='n.html')
    assert head['ContentType'] == 'binary/octet-stream'


def test_recursive_copy_with_attributes_replaces_metadata(
    s3_endpoint, s3_client, bucket
):
    s3_client.put_object(
        Bucket=bucket, Key='src/a.txt', Body=b'1', Metadata={'old': 'yes'}
    )
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/src', f's3://{bucket}/dst',
        '--content-type', 'text/x-custom', '--metadata', '{"new": "1"}',
        '--storage-class', 'GLACIER_IR',
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    head = s3_client.head_object(Bucket=bucket, Key='dst/a.txt')
    assert head['ContentType'] == 'text/x-custom'
    assert head['Metadata'] == {'new': '1'}
    assert head['StorageClass'] == 'GLACIER_IR'
    kept = _run(s3_endpoint, 'cp', f's3://{bucket}/src/a.txt', f's3://{bucket}/k.txt')
    assert kept.returncode == 0
    assert s3_client.head_object(Bucket=bucket, Key='k.txt')['Metadata'] == {
        'old': 'yes'
    }


def test_no_follow_symlinks_skips_links(s3_endpoint, s3_client, bucket, tmp_path):
    folder = tmp_path / 'f'
    write_tree(folder, {'real.txt': b'r'})
    (folder / 'link.txt').symlink_to(folder / 'real.txt')
    done = _run(
        s3_endpoint, 'cp', '--recursive', str(folder), f's3://{bucket}/n',
        '--no-follow-symlinks',
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    assert set(_keys(s3_client, bucket)) == {'n/real.txt'}
    done = _run(s3_endpoint, 'cp', '--recursive', str(folder), f's3://{bucket}/y')
    assert set(_keys(s3_client, bucket, 'y/')) == {'y/real.txt', 'y/link.txt'}


# -- streams --------------------------------------------------------------------------


def test_stdin_to_stdout_round_trip_of_50_mib_through_pipes(
    s3_endpoint, bucket, tmp_path
):
    data = os.urandom(50 * MiB)
    up = _run(
        s3_endpoint, 'cp', '-', f's3://{bucket}/stream.bin', '--expected-size', '50MiB',
        input=data,
    )  # fmt: skip
    assert up.returncode == 0, _text(up)
    assert f'upload: - to s3://{bucket}/stream.bin' in up.stdout.decode()
    reader = subprocess.Popen(
        [sys.executable, '-m', 's3transfer', 'cp', f's3://{bucket}/stream.bin', '-',
         '--endpoint-url', s3_endpoint],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    digest = hashlib.sha256()
    received = 0
    while chunk := reader.stdout.read(MiB):
        digest.update(chunk)
        received += len(chunk)
    assert reader.wait(timeout=120) == 0, reader.stderr.read()
    assert received == len(data)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert not list(tmp_path.iterdir())  # no file named '-' anywhere
    assert not os.path.exists('-')


def test_a_stream_names_its_key(s3_endpoint, bucket):
    done = _run(s3_endpoint, 'cp', '-', f's3://{bucket}/dir/', input=b'x')
    assert done.returncode == 2 and b'full key' in done.stderr


# -- output -------------------------------------------------------------------------


def test_json_output_is_one_event_per_line(s3_endpoint, bucket, tmp_path):
    write_tree(tmp_path / 'j', {'a.txt': b'1', 'b.txt': b'22'})
    done = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'j'), f's3://{bucket}/j',
        '--output', 'json',
    )  # fmt: skip
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert sorted(e['destination'] for e in events if e['event'] == 'done') == [
        f's3://{bucket}/j/a.txt',
        f's3://{bucket}/j/b.txt',
    ]
    assert events[-1]['event'] == 'summary' and events[-1]['succeeded'] == 2
    assert events[-1]['bytes'] == 3
    missing = _run(s3_endpoint, 'rm', 's3://no-such-bucket-x/k', '--output', 'json')
    assert missing.returncode == 1
    failure = json.loads(missing.stdout.decode().splitlines()[0])
    assert failure['event'] == 'failed' and failure['error'] == 'no such bucket'


def test_only_show_errors_and_no_progress(s3_endpoint, bucket, tmp_path):
    write_tree(tmp_path / 'q', {'a.txt': b'1'})
    quiet = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'q'), f's3://{bucket}/q',
        '--only-show-errors',
    )  # fmt: skip
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, b'', b'')
    lines = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'q'), f's3://{bucket}/q',
        '--no-progress',
    )  # fmt: skip
    text = lines.stdout.decode()
    assert 'upload: ' in text and 'progress:' not in text


def test_missing_object_and_denied_access_are_said_in_words(
    s3_endpoint, bucket, tmp_path
):
    done = _run(s3_endpoint, 'cp', f's3://{bucket}/nope.txt', str(tmp_path))
    assert done.returncode == 1
    assert f's3://{bucket}/nope.txt: no such key' in done.stderr.decode()


def test_dryrun_changes_nothing(s3_endpoint, s3_client, bucket, tmp_path):
    write_tree(tmp_path / 'd', {'a.txt': b'1'})
    done = _run(
        s3_endpoint,
        'cp',
        '--recursive',
        str(tmp_path / 'd'),
        f's3://{bucket}/d',
        '--dryrun',
    )
    assert done.returncode == 0
    assert done.stdout.decode().startswith('(dryrun) upload: ')
    assert _keys(s3_client, bucket) == {}


# -- ls, rm, mv ----------------------------------------------------------------------


def test_ls_levels_recursive_human_readable_and_summary(s3_endpoint, s3_client, bucket):
    for key, size in (('top.txt', 10), ('dir/a.bin', 2048), ('dir/sub/b.bin', 3)):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'x' * size)
    level = _run(s3_endpoint, 'ls', f's3://{bucket}/')
    lines = level.stdout.decode().splitlines()
    assert lines[0].split() == ['PRE', 'dir/']
    assert lines[1].split()[-2:] == ['10', 'top.txt']
    sub = _run(s3_endpoint, 'ls', f's3://{bucket}/dir/').stdout.decode().splitlines()
    assert [line.split()[-1] for line in sub] == ['sub/', 'a.bin']
    every = _run(
        s3_endpoint, 'ls', f's3://{bucket}', '--recursive', '--human-readable',
        '--summarize',
    ).stdout.decode()  # fmt: skip
    assert '2.0 KiB dir/a.bin' in every and 'dir/sub/b.bin' in every
    assert 'Total Objects: 3' in every and 'Total Size: 2.0 KiB' in every
    buckets = _run(s3_endpoint, 'ls').stdout.decode()
    assert bucket in buckets


def test_rm_one_recursive_filtered_and_dryrun(s3_endpoint, s3_client, bucket):
    for key in ('one.txt', 'p/a.txt', 'p/b.keep', 'p/c/d.txt'):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'x')
    done = _run(s3_endpoint, 'rm', f's3://{bucket}/one.txt')
    assert (
        done.returncode == 0
        and f'delete: s3://{bucket}/one.txt' in done.stdout.decode()
    )
    dry = _run(s3_endpoint, 'rm', f's3://{bucket}/p/', '--recursive', '--dryrun')
    assert dry.stdout.decode().count('(dryrun) delete: ') == 3
    assert len(_keys(s3_client, bucket)) == 3
    done = _run(
        s3_endpoint, 'rm', f's3://{bucket}/p/', '--recursive', '--exclude', '*.keep'
    )
    assert done.returncode == 0
    assert set(_keys(s3_client, bucket)) == {'p/b.keep'}
    assert _run(s3_endpoint, 'rm', f's3://{bucket}/p/').returncode == 2  # a folder


def test_mv_moves_files_and_prefixes(s3_endpoint, s3_client, bucket, tmp_path):
    source = tmp_path / 'm.txt'
    source.write_bytes(b'move me')
    done = _run(s3_endpoint, 'mv', str(source), f's3://{bucket}/in/')
    assert done.returncode == 0, _text(done)
    assert f'move: {source} to s3://{bucket}/in/m.txt' in done.stdout.decode()
    assert not source.exists()
    done = _run(
        s3_endpoint, 'mv', '--recursive', f's3://{bucket}/in', f's3://{bucket}/out'
    )
    assert done.returncode == 0, _text(done)
    assert set(_keys(s3_client, bucket)) == {'out/m.txt'}
    done = _run(
        s3_endpoint, 'mv', f's3://{bucket}/out/m.txt', str(tmp_path / 'back.txt')
    )
    assert done.returncode == 0
    assert (tmp_path / 'back.txt').read_bytes() == b'move me'
    assert _keys(s3_client, bucket) == {}


def test_mv_keeps_the_source_when_the_copy_fails(
    s3_endpoint, s3_client, bucket, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='k.txt', Body=b'x')
    (tmp_path / 'blocker').write_bytes(b'')  # a file where a folder must go
    done = _run(
        s3_endpoint, 'mv', f's3://{bucket}/k.txt', str(tmp_path / 'blocker' / 'k.txt')
    )
    assert done.returncode == 1
    assert 'k.txt' in _keys(s3_client, bucket)


# -- sync -----------------------------------------------------------------------------


def _sync(endpoint, *args):
    return _run(endpoint, 'sync', *args, '--no-progress')


def _sent(done):
    return sorted(
        line.split(': ', 1)[1].split(' to ')[0]
        for line in done.stdout.decode().splitlines()
        if line.startswith(('upload: ', 'download: ', 'copy: '))
    )


def test_sync_up_sends_new_changed_and_newer_files_only(
    s3_endpoint, s3_client, bucket, tmp_path
):
    root = tmp_path / 'up'
    write_tree(root, {'a.txt': b'1', 'b.txt': b'2', 'c.txt': b'3'})
    first = _sync(s3_endpoint, str(root), f's3://{bucket}/up')
    assert first.returncode == 0 and len(_sent(first)) == 3
    again = _sync(s3_endpoint, str(root), f's3://{bucket}/up')
    assert again.returncode == 0 and _sent(again) == []
    (root / 'a.txt').write_bytes(b'longer')  # size differs
    future = time.time() + 3600
    os.utime(root / 'b.txt', (future, future))  # newer than the object
    (root / 'd.txt').write_bytes(b'new')
    third = _sync(s3_endpoint, str(root), f's3://{bucket}/up')
    assert _sent(third) == [str(root / n) for n in ('a.txt', 'b.txt', 'd.txt')]
    size_only = _sync(s3_endpoint, str(root), f's3://{bucket}/up', '--size-only')
    assert _sent(size_only) == []  # b.txt is still newer, but the same size


def test_sync_delete_and_dryrun(s3_endpoint, s3_client, bucket, tmp_path):
    root = tmp_path / 'del'
    write_tree(root, {'keep.txt': b'k', 'x.log': b'l'})
    for key in ('del/keep.txt', 'del/gone.txt', 'del/old.log'):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'k')
    dry = _sync(s3_endpoint, str(root), f's3://{bucket}/del', '--delete', '--dryrun')
    out = dry.stdout.decode()
    assert f'(dryrun) delete: s3://{bucket}/del/gone.txt' in out
    assert len(_keys(s3_client, bucket)) == 3
    done = _sync(
        s3_endpoint, str(root), f's3://{bucket}/del', '--delete', '--exclude', '*.log'
    )
    assert done.returncode == 0, _text(done)
    # old.log is excluded, so neither sent nor deleted.
    assert set(_keys(s3_client, bucket)) == {'del/keep.txt', 'del/old.log'}


def test_sync_down_is_stable_and_exact_timestamps(
    s3_endpoint, s3_client, bucket, tmp_path
):
    for key in ('dn/a.txt', 'dn/s/b.txt'):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b'data')
    dest = tmp_path / 'dn'
    first = _sync(s3_endpoint, f's3://{bucket}/dn', str(dest))
    assert first.returncode == 0 and len(_sent(first)) == 2
    assert (dest / 's' / 'b.txt').read_bytes() == b'data'
    assert _sent(_sync(s3_endpoint, f's3://{bucket}/dn', str(dest))) == []
    past = time.time() - 7 * 86400
    os.utime(dest / 'a.txt', (past, past))  # older than the object, same size
    assert _sent(_sync(s3_endpoint, f's3://{bucket}/dn', str(dest))) == []
    exact = _sync(s3_endpoint, f's3://{bucket}/dn', str(dest), '--exact-timestamps')
    assert _sent(exact) == [f's3://{bucket}/dn/a.txt']
    (dest / 'extra.txt').write_bytes(b'e')
    deleted = _sync(s3_endpoint, f's3://{bucket}/dn', str(dest), '--delete')
    assert f'delete: {dest / "extra.txt"}' in deleted.stdout.decode()
    assert not (dest / 'extra.txt').exists()


def test_sync_between_prefixes(s3_endpoint, s3_client, bucket):
    s3_client.put_object(Bucket=bucket, Key='s/a.txt', Body=b'1')
    done = _sync(s3_endpoint, f's3://{bucket}/s', f's3://{bucket}/t')
    assert done.returncode == 0 and _sent(done) == [f's3://{bucket}/s/a.txt']
    assert _sent(_sync(s3_endpoint, f's3://{bucket}/s', f's3://{bucket}/t')) == []


def test_sync_checksum_catches_a_same_size_same_mtime_change(
    s3_endpoint, s3_client, bucket, tmp_path
):
    root = tmp_path / 'ck'
    write_tree(root, {'a.txt': b'version 1', 'b.txt': b'unchanged'})
    assert _sync(s3_endpoint, str(root), f's3://{bucket}/ck').returncode == 0
    stamp = os.stat(root / 'a.txt').st_mtime
    (root / 'a.txt').write_bytes(b'version 2')  # same size
    os.utime(root / 'a.txt', (stamp, stamp))  # same time
    plain = _sync(s3_endpoint, str(root), f's3://{bucket}/ck')
    assert _sent(plain) == []  # size and time cannot see it
    checked = _sync(s3_endpoint, str(root), f's3://{bucket}/ck', '--checksum')
    assert checked.returncode == 0, _text(checked)
    assert _sent(checked) == [str(root / 'a.txt')]
    assert 'warning' not in checked.stderr.decode()
    body = s3_client.get_object(Bucket=bucket, Key='ck/a.txt')['Body'].read()
    assert body == b'version 2'
    # Downloads compare the other way round.
    dest = tmp_path / 'down'
    assert _sync(s3_endpoint, f's3://{bucket}/ck', str(dest)).returncode == 0
    stamp = os.stat(dest / 'b.txt').st_mtime
    (dest / 'b.txt').write_bytes(b'UNCHANGED')
    os.utime(dest / 'b.txt', (stamp, stamp))
    back = _sync(s3_endpoint, f's3://{bucket}/ck', str(dest), '--checksum')
    assert _sent(back) == [f's3://{bucket}/ck/b.txt']
    assert (dest / 'b.txt').read_bytes() == b'unchanged'


def test_sync_checksum_falls_back_and_says_so(s3_endpoint, s3_client, bucket, tmp_path):
    root = tmp_path / 'mp'
    write_tree(root, {'big.bin': os.urandom(6 * MiB)})
    up = _run(
        s3_endpoint, 'cp', str(root / 'big.bin'), f's3://{bucket}/mp/big.bin',
        '--multipart-threshold', '5MB', '--multipart-chunksize', '5MB',
    )  # fmt: skip
    assert up.returncode == 0
    done = _sync(s3_endpoint, str(root), f's3://{bucket}/mp', '--checksum')
    assert done.returncode == 0
    assert 'warning: big.bin: S3 has no comparable checksum' in done.stderr.decode()
    assert _sent(done) == []  # the local file is older than the object


# -- ~/.aws/config --------------------------------------------------------------------


def test_aws_config_s3_settings_apply_and_flags_win(
    s3_endpoint, s3_client, bucket, tmp_path
):
    config = tmp_path / 'config'
    config.write_text(
        '[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith('AWS_PROFILE')}
    env['AWS_CONFIG_FILE'] = str(config)
    source = tmp_path / 'eleven.bin'
    source.write_bytes(os.urandom(11 * MiB))
    done = _run(s3_endpoint, 'cp', str(source), f's3://{bucket}/c1', env=env)
    assert done.returncode == 0, _text(done)
    assert s3_client.head_object(Bucket=bucket, Key='c1')['ETag'].endswith('-3"')
    done = _run(
        s3_endpoint, 'cp', str(source), f's3://{bucket}/c2',
        '--multipart-threshold', '64MB', env=env,
    )  # fmt: skip
    assert '-' not in s3_client.head_object(Bucket=bucket, Key='c2')['ETag']


def test_abbreviations_are_refused(s3_endpoint, bucket, tmp_path):
    done = _run(s3_endpoint, 'cp', 'a', f's3://{bucket}/', '--max-c', '3')
    assert done.returncode == 2 and b'--max-c' in done.stderr


# -- help and completion -----------------------------------------------------------


def test_bash_completion_completes_commands_and_flags():
    script = (
        'source <("$PY" -m s3transfer completion bash)\n'
        'COMP_WORDS=(s3transfer sy); COMP_CWORD=1; _shtab_s3transfer\n'
        'echo "${COMPREPLY[@]}"\n'
        'COMP_WORDS=(s3transfer sync --chec); COMP_CWORD=2; _shtab_s3transfer\n'
        'echo "${COMPREPLY[@]}"\n'
    )
    env = dict(os.environ, PY=sys.executable)
    done = subprocess.run(
        ['bash', '-c', script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['sync', '--checksum --checksum-algorithm']


@pytest.mark.parametrize('name', ['cp', 'mv', 'rm', 'sync', 'ls', 'bench'])
def test_every_command_has_a_description_examples_and_exit_codes(name):
    done = subprocess.run(
        [sys.executable, '-m', 's3transfer', name, '--help'],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert 'examples:\n  s3transfer ' in done.stdout
    assert 'exit codes:\n  0: everything succeeded' in done.stdout


def test_grants_kms_sse_c_and_an_explicit_metadata_directive(
    s3_endpoint, s3_client, bucket, tmp_path
):
    source = tmp_path / 'g.txt'
    source.write_bytes(b'granted')
    everyone = 'uri=http://acs.amazonaws.com/groups/global/AllUsers'
    done = _run(
        s3_endpoint, 'cp', str(source), f's3://{bucket}/g.txt',
        '--grants', f'read={everyone}',
        '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/my-key',
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    grants = s3_client.get_object_acl(Bucket=bucket, Key='g.txt')['Grants']
    assert any(g['Grantee'].get('URI', '').endswith('AllUsers') for g in grants)
    head = s3_client.head_object(Bucket=bucket, Key='g.txt')
    assert head['ServerSideEncryption'] == 'aws:kms'
    assert head['SSEKMSKeyId'].endswith('alias/my-key')
    key = 'k' * 32
    done = _run(
        s3_endpoint, 'cp', str(source), f's3://{bucket}/c.txt', '--sse-c',
        '--sse-c-key', key,
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    # (moto accepts SSE-C but does not echo it back: the parameters are unit-tested)
    s3_client.put_object(Bucket=bucket, Key='m.txt', Body=b'm', Metadata={'a': '1'})
    done = _run(
        s3_endpoint, 'cp', f's3://{bucket}/m.txt', f's3://{bucket}/m2.txt',
        '--metadata-directive', 'REPLACE', '--metadata', 'b=2',
    )  # fmt: skip
    assert done.returncode == 0, _text(done)
    assert s3_client.head_object(Bucket=bucket, Key='m2.txt')['Metadata'] == {'b': '2'}


def test_ls_json_and_mv_dryrun(s3_endpoint, s3_client, bucket, tmp_path):
    s3_client.put_object(Bucket=bucket, Key='d/a.txt', Body=b'abc')
    done = _run(s3_endpoint, 'ls', f's3://{bucket}/', '--output', 'json')
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert events == [{'event': 'prefix', 'prefix': 'd/'}]
    done = _run(
        s3_endpoint, 'ls', f's3://{bucket}/d/', '--output', 'json', '--summarize'
    )
    obj, summary = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert (obj['event'], obj['key'], obj['size']) == ('object', 'd/a.txt', 3)
    assert summary == {'event': 'summary', 'objects': 1, 'bytes': 3}
    dry = _run(s3_endpoint, 'mv', f's3://{bucket}/d/a.txt', str(tmp_path), '--dryrun')
    assert dry.stdout.decode().startswith(f'(dryrun) move: s3://{bucket}/d/a.txt to ')
    assert 'd/a.txt' in _keys(s3_client, bucket) and not list(tmp_path.iterdir())


def test_fail_fast_cancels_the_rest_and_request_payer_is_accepted(
    s3_endpoint, s3_client, bucket, tmp_path
):
    s3_client.put_object(Bucket=bucket, Key='f/0/first.txt', Body=b'x')
    for index in range(1, 20):
        s3_client.put_object(Bucket=bucket, Key=f'f/{index:02d}.txt', Body=b'x' * 1000)
    dest = tmp_path / 'dest'
    dest.mkdir()
    (dest / '0').write_bytes(b'')  # a file where the first key's folder must go
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/f', str(dest),
        '--fail-fast', '--max-concurrency', '1', '--no-progress',
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.decode().count('download failed') == 1
    assert 'cancelled' in done.stdout.decode()
    assert len(list(dest.iterdir())) < 10
    listed = _run(s3_endpoint, 'ls', f's3://{bucket}/f/', '--request-payer')
    assert listed.returncode == 0 and '19.txt' in listed.stdout.decode()
    removed = _run(s3_endpoint, 'rm', f's3://{bucket}/f/01.txt', '--request-payer')
    assert removed.returncode == 0
    assert 'f/01.txt' not in _keys(s3_client, bucket)
