"""Issue 21 through the command line (a subprocess against the local S3 server).

Each test names the issue's point it pins; the Python API side is in
``tests/integration/test_hardening.py``.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import write_tree

HERE = os.path.dirname(__file__)


def _cli(*args):
    return [sys.executable, '-m', 's3transfer', *args]


def _run(endpoint, *args, timeout=60, prefix=()):
    command = [*prefix, *_cli(*args, '--endpoint-url', endpoint)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _start(endpoint, *args):
    return subprocess.Popen(
        _cli(*args, '--endpoint-url', endpoint, '--no-progress'),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _put(client, bucket, objects):
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)


# -- 1. a folder swapped for a symlink before the file is opened ----------------------


def test_1_cli_folder_swapped_for_symlink_writes_nothing_outside(
    s3_endpoint, s3_client, bucket, tmp_path
):
    _put(s3_client, bucket, {'h3/a_big': b'a' * 3000, 'h3/z/file': b'secret'})
    dest, elsewhere = tmp_path / 'dest', tmp_path / 'elsewhere'
    elsewhere.mkdir()
    child = os.path.join(HERE, 'swap_child.py')
    command = [
        sys.executable,
        child,
        'h3/z/file',
        str(dest / 'z'),
        str(elsewhere),
        'cp',
        '--recursive',
        '--max-concurrency',
        '1',
        f's3://{bucket}/h3/',
        str(dest),
        '--endpoint-url',
        s3_endpoint,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert os.listdir(elsewhere) == []
    assert done.returncode == 1, done.stderr
    assert 'symlink' in done.stderr
    assert (dest / 'a_big').read_bytes() == b'a' * 3000


# -- 2. unreadable folders ------------------------------------------------------------


def _without_dac_override():
    """Run as root without the capabilities that ignore file permissions."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which('setpriv')
    if setpriv is None:
        pytest.fail('running as root needs setpriv to honour chmod 000')
    return (setpriv, '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-all')


def _upload_with_closed_folder(endpoint, bucket, source, closed):
    """``cp --recursive source`` with ``closed`` chmod 000 (and honoured as root)."""
    os.chmod(closed, 0)
    try:
        return _run(
            endpoint,
            'cp',
            '--recursive',
            str(source),
            f's3://{bucket}/p/',
            prefix=_without_dac_override(),
        )
    finally:
        os.chmod(closed, 0o755)


def test_2_cli_unreadable_folder_is_a_listed_failure(
    s3_endpoint, s3_client, bucket, tmp_path
):
    write_tree(tmp_path / 'src', {'open/a': b'a', 'closed/b': b'b'})
    source = tmp_path / 'src'
    done = _upload_with_closed_folder(s3_endpoint, bucket, source, source / 'closed')
    assert done.returncode == 1, done.stderr
    assert 'closed' in done.stderr and 'cannot be listed' in done.stderr
    keys = [o['Key'] for o in s3_client.list_objects_v2(Bucket=bucket)['Contents']]
    assert keys == ['p/open/a']


def test_2_cli_unreadable_source_root_exits_1(s3_endpoint, bucket, tmp_path):
    write_tree(tmp_path / 'src', {'a': b'a'})
    source = tmp_path / 'src'
    done = _upload_with_closed_folder(s3_endpoint, bucket, source, source)
    assert done.returncode == 1, done.stderr
    assert 'cannot be listed' in done.stderr


# -- 3. FIFOs -------------------------------------------------------------------------


def test_3_cli_fifo_as_download_target_is_refused(
    s3_endpoint, s3_client, bucket, tmp_path
):
    _put(s3_client, bucket, {'k3': b'data'})
    fifo = tmp_path / 'fifo'
    os.mkfifo(fifo)
    done = _run(s3_endpoint, 'cp', f's3://{bucket}/k3', str(fifo), timeout=20)
    assert done.returncode != 0
    assert 'FIFO' in done.stderr


def test_3_cli_fifo_in_a_recursive_download_is_refused(
    s3_endpoint, s3_client, bucket, tmp_path
):
    _put(s3_client, bucket, {'h3f/pipe': b'data', 'h3f/ok': b'ok'})
    (tmp_path / 'd').mkdir()
    os.mkfifo(tmp_path / 'd' / 'pipe')
    done = _run(
        s3_endpoint,
        'cp',
        '--recursive',
        f's3://{bucket}/h3f/',
        str(tmp_path / 'd'),
        timeout=20,
    )
    assert done.returncode == 1
    assert 'pipe' in done.stderr and 'FIFO' in done.stderr
    assert (tmp_path / 'd' / 'ok').read_bytes() == b'ok'
    assert (tmp_path / 'd' / 'pipe').is_fifo()


# -- 4 and 5. Ctrl-C, SIGTERM and SIGHUP under a low bandwidth limit ---------


@pytest.mark.parametrize(
    'signum', [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_4_5_cli_signal_under_1kb_limit_cancels_aborts_and_cleans_up(
    s3_endpoint, s3_client, bucket, tmp_path, signum
):
    source = tmp_path / 'big.bin'
    source.write_bytes(os.urandom(6 * 1024 * 1024))
    s3_client.put_object(Bucket=bucket, Key='dl.bin', Body=source.read_bytes())
    (tmp_path / 'dl').mkdir()
    up = _start(
        s3_endpoint,
        'cp',
        str(source),
        f's3://{bucket}/up.bin',
        '--max-bandwidth',
        '1KB',
        '--no-resume',
        '--multipart-threshold',
        '5MB',
    )
    down = _start(
        s3_endpoint,
        'cp',
        f's3://{bucket}/dl.bin',
        str(tmp_path / 'dl' / 'x'),
        '--max-bandwidth',
        '1KB',
        '--no-resume',
    )
    # Wait until both are transferring: the upload's multipart upload exists and
    # the download's temp file too (slow start-ups on a busy machine included).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads')
        and os.listdir(tmp_path / 'dl')
    ):
        time.sleep(0.2)
    time.sleep(1)  # and throttled: well inside the bucket's wait
    codes = {}
    for name, process in (('up', up), ('down', down)):
        started = time.monotonic()
        process.send_signal(signum)
        try:
            process.wait(timeout=10)
        finally:
            process.kill()
        codes[name] = (process.returncode, time.monotonic() - started)
    expected = 130 if signum == signal.SIGINT else 128 + signum
    for name, (code, elapsed) in codes.items():
        assert code == expected, (name, code)
        assert elapsed < 3, (name, elapsed)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get('Uploads', []) == []
    assert os.listdir(tmp_path / 'dl') == []


def test_5_cli_sigterm_with_resume_on_keeps_the_journal(
    s3_endpoint, s3_client, bucket, tmp_path
):
    source = tmp_path / 'big.bin'
    source.write_bytes(os.urandom(6 * 1024 * 1024))
    journals = tmp_path / 'journals'
    up = _start(
        s3_endpoint,
        'cp',
        str(source),
        f's3://{bucket}/kept.bin',
        '--max-bandwidth',
        '1KB',
        '--multipart-threshold',
        '5MB',
        '--resume-dir',
        str(journals),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not s3_client.list_multipart_uploads(
        Bucket=bucket
    ).get('Uploads'):
        time.sleep(0.2)
    time.sleep(1)
    up.send_signal(signal.SIGTERM)
    try:
        _, stderr = up.communicate(timeout=10)
    finally:
        up.kill()
    assert up.returncode == 143
    assert 'SIGTERM: unfinished transfers kept their progress' in stderr
    assert os.listdir(journals)


# -- 7. a non-empty object whose key ends in '/' -------------------------------------


def test_7_cli_key_ending_in_slash_is_refused_in_recursive_and_downloadable_single(
    s3_endpoint, s3_client, bucket, tmp_path
):
    _put(s3_client, bucket, {'h7/dir/': b'data', 'h7/f': b'f'})
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/h7/', str(tmp_path / 'd')
    )
    assert done.returncode == 1
    assert f's3://{bucket}/h7/dir/' in done.stderr and 'ends in "/"' in done.stderr
    target = tmp_path / 'named'
    done = _run(s3_endpoint, 'cp', f's3://{bucket}/h7/dir/', str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == b'data'


# -- 8. two keys that map to one file ------------------------------------------------


def test_8_cli_exact_key_wins(s3_endpoint, s3_client, bucket, tmp_path):
    _put(s3_client, bucket, {'h8/a//b': b'other', 'h8/a/b': b'exact'})
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/h8/', str(tmp_path / 'd')
    )
    assert done.returncode == 1
    assert (tmp_path / 'd' / 'a' / 'b').read_bytes() == b'exact'
    assert f'refused: s3://{bucket}/h8/a//b' in done.stderr


# -- 9. deep folders -----------------------------------------------------------------


def test_9_cli_deep_tree_uploads_what_it_can(s3_endpoint, s3_client, bucket, tmp_path):
    from tests.integration.test_hardening import _make_deep_tree, _remove_deep_tree

    _make_deep_tree(tmp_path, 1500)
    (tmp_path / 'deep' / 'shallow').write_bytes(b'shallow')
    try:
        done = _run(
            s3_endpoint, 'cp', '--recursive', str(tmp_path / 'deep'), f's3://{bucket}/p'
        )
    finally:
        _remove_deep_tree(tmp_path, 1500)
    assert 'recursion' not in done.stderr
    assert done.returncode == 1
    assert '1024 bytes' in done.stderr
    keys = [o['Key'] for o in s3_client.list_objects_v2(Bucket=bucket)['Contents']]
    assert keys == ['p/shallow']


# -- 10. sizes that say nothing ------------------------------------------------------


def test_10_cli_procfs_and_devices_are_refused(s3_endpoint, s3_client, bucket):
    done = _run(s3_endpoint, 'cp', '/proc/self/status', f's3://{bucket}/status')
    assert done.returncode == 1
    assert 'size of 0' in done.stderr
    done = _run(s3_endpoint, 'cp', '/dev/zero', f's3://{bucket}/zero')
    assert done.returncode != 0
    assert 'character device' in done.stderr
    assert 'Contents' not in s3_client.list_objects_v2(Bucket=bucket)


# -- 11. symlinks in an upload source -------------------------------------------------


def test_11_cli_follows_symlinks_reports_loops_and_lists_skips(
    s3_endpoint, s3_client, bucket, tmp_path
):
    write_tree(tmp_path / 'outside', {'x': b'x'})
    write_tree(tmp_path / 'src', {'f': b'f'})
    (tmp_path / 'src' / 'linked').symlink_to(tmp_path / 'outside')
    (tmp_path / 'src' / 'loop').symlink_to(tmp_path / 'src')
    done = _run(
        s3_endpoint, 'cp', '--recursive', str(tmp_path / 'src'), f's3://{bucket}/p'
    )
    assert done.returncode == 1
    assert 'loop' in done.stderr
    keys = sorted(
        o['Key'] for o in s3_client.list_objects_v2(Bucket=bucket)['Contents']
    )
    assert keys == ['p/f', 'p/linked/x']
    os.unlink(tmp_path / 'src' / 'loop')
    done = _run(
        s3_endpoint,
        'cp',
        '--recursive',
        '--no-follow-symlinks',
        str(tmp_path / 'src'),
        f's3://{bucket}/q',
    )
    assert done.returncode == 0, done.stderr
    assert (
        'skipped' in done.stdout + done.stderr and 'linked' in done.stdout + done.stderr
    )
    keys = sorted(
        o['Key']
        for o in s3_client.list_objects_v2(Bucket=bucket, Prefix='q/')['Contents']
    )
    assert keys == ['q/f']


# -- 12. messages --------------------------------------------------------------------


def test_12_cli_dot_key_is_refused_as_nameless(
    s3_endpoint, s3_client, bucket, tmp_path
):
    _put(s3_client, bucket, {'h1/.': b'dot'})
    done = _run(
        s3_endpoint, 'cp', '--recursive', f's3://{bucket}/h1/', str(tmp_path / 'd')
    )
    assert done.returncode == 1
    assert 'outside' not in done.stderr and 'no file name' in done.stderr


def test_12_cli_file_in_the_way_says_so(s3_endpoint, s3_client, bucket, tmp_path):
    _put(s3_client, bucket, {'h12/a/b': b'b'})
    (tmp_path / 'a').write_bytes(b'in the way')
    done = _run(s3_endpoint, 'cp', f's3://{bucket}/h12/a/b', str(tmp_path / 'a' / 'b'))
    assert done.returncode == 1
    assert 'File exists' not in done.stderr and 'is a file' in done.stderr
    done = _run(s3_endpoint, 'cp', '--recursive', f's3://{bucket}/h12/', str(tmp_path))
    assert done.returncode == 1
    assert 'File exists' not in done.stderr and 'is a file' in done.stderr


def test_12_cli_negative_size_is_named(s3_endpoint, bucket, tmp_path):
    (tmp_path / 'f').write_bytes(b'f')
    done = _run(
        s3_endpoint,
        'cp',
        str(tmp_path / 'f'),
        f's3://{bucket}/f',
        '--multipart-chunksize',
        '-5MB',
    )
    assert done.returncode == 2
    assert 'expected one argument' not in done.stderr
    assert '-5MB' in done.stderr


def test_12_cli_empty_source_is_named(s3_endpoint, bucket):
    done = _run(s3_endpoint, 'cp', '', f's3://{bucket}/f')
    assert done.returncode == 2
    assert 'empty' in done.stderr


def test_12_cli_bad_endpoint_url_is_a_usage_error(bucket, tmp_path):
    (tmp_path / 'f').write_bytes(b'f')
    done = _run('not-a-url', 'cp', str(tmp_path / 'f'), f's3://{bucket}/f')
    assert done.returncode == 2
    assert 'not-a-url' in done.stderr


def test_12_cli_bench_line_of_tiny_files_reports_cpu_per_file():
    from s3transfer.cli.bench import bench_line

    # 2,000 files of 1 KB in 1 s with 0.4 CPU s: per GiB that read 200,000 s.
    line = bench_line('upload', 2_000_000, 2000, 1.0, 0.4)
    assert 'CPU ms/file' in line
    assert ' 0.2 CPU ms/file' in line
    big = bench_line('upload', 2 * 1024**3, 2, 10.0, 4.0)
    assert '2.0 CPU s/GiB' in big


def test_12_cli_rate_shown_under_a_bandwidth_limit_never_exceeds_it(
    s3_endpoint, s3_client, bucket, tmp_path
):
    # The limiter lets its first 256 KiB through at once; at 1KB/s (1024 B/s) the
    # average since the start then read ~80 KiB/s, and the ETA a few seconds.
    s3_client.put_object(Bucket=bucket, Key='slow12', Body=b'x' * 600_000)
    command = _cli(
        'cp',
        f's3://{bucket}/slow12',
        str(tmp_path / 'o'),
        '--max-bandwidth',
        '1KB',
        '--no-resume',
        '--endpoint-url',
        s3_endpoint,
    )
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(6)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=20)
    rates = [
        line.split(', ')[1]
        for line in stdout.splitlines()
        if line.startswith('progress:')
    ]
    assert rates, stdout
    for shown in rates:
        number, unit = shown.removesuffix('/s').split()
        assert unit in ('B', 'KiB'), shown
        assert float(number) * (1024 if unit == 'KiB' else 1) <= 1024, shown  # 1KB
