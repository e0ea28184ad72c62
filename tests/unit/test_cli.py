"""Unit tests for the s3transfer.cli package and s3transfer._progress (no sockets)."""

import argparse
import re

import pytest

from s3transfer import cli
from s3transfer._progress import (
    ProgressSnapshot,
    ProgressTally,
    eta,
    format_duration,
    format_line,
    format_size,
    percent,
    rate,
)
from s3transfer.cli import build_parser
from s3transfer.cli import config as cli_config
from s3transfer.cli.bench import bench_line, split_sizes
from s3transfer.cli.common import (
    S3Location,
    UsageError,
    parse_location,
    parse_size,
    positive_int,
    printable,
)
from s3transfer.cli.config import transfer_config
from s3transfer.cli.cp import plan_cp
from s3transfer.directory import EXCLUDE, INCLUDE, FileCopy, FileDownload, FileUpload
from s3transfer.manager import TransferConfig

# -- Argument parsing -------------------------------------------------------------


@pytest.mark.parametrize(
    'text, expected',
    [
        ('1024', 1024),
        ('8MiB', 8 * 1024**2),
        ('8mib', 8 * 1024**2),
        ('5MB', 5 * 1024**2),
        ('1.5KiB', 1536),
        ('2G', 2 * 1024**3),
        (' 3 kb ', 3072),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize('text', ['', 'MiB', '0', '-1', '5 parsecs', '0.0001B'])
def test_parse_size_rejects_nonsense(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_positive_int():
    assert positive_int('3') == 3
    for text in ('0', '-2', 'x'):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_int(text)


def test_parse_location():
    assert parse_location('s3://bkt/a/b') == S3Location('bkt', 'a/b')
    assert parse_location('s3://bkt') == S3Location('bkt', '')
    assert parse_location('local/path') == 'local/path'
    with pytest.raises(UsageError, match='no bucket'):
        parse_location('s3:///key')


def test_printable_escapes_control_characters():
    assert printable('a\nb\x1b[2Jc\rü') == 'a\\nb\\x1b[2Jc\\rü'


def test_filters_keep_command_line_order():
    args = build_parser().parse_args(
        ['cp', 'a', 's3://b/', '--recursive', '--exclude', '*', '--include', '*.txt']
    )
    assert args.filters == [(EXCLUDE, '*'), (INCLUDE, '*.txt')]
    assert build_parser().parse_args(['cp', 'a', 's3://b/']).filters == []


def test_transfer_config_flags_override_only_what_is_given():
    args = build_parser().parse_args(
        [
            'cp',
            'a',
            's3://b/',
            '--multipart-threshold',
            '16MiB',
            '--max-concurrency',
            '3',
            '--max-bandwidth',
            '1MB',
        ]
    )
    config = transfer_config(args)
    default = TransferConfig()
    assert config.multipart_threshold == 16 * 1024**2
    assert config.max_request_concurrency == 3
    assert config.max_bandwidth == 1024**2
    assert config.multipart_chunksize == default.multipart_chunksize
    assert config.num_download_attempts == default.num_download_attempts


def test_every_config_flag_names_a_transfer_config_attribute():
    default = TransferConfig()
    for _, attribute, _, _ in cli_config.CONFIG_FLAGS:
        assert hasattr(default, attribute)


def test_common_options_follow_each_command():
    args = build_parser().parse_args(
        ['bench', '--local', '--quiet', '--size', '1MiB', '--region', 'eu-west-1']
    )
    assert (args.command, args.local, args.quiet) == ('bench', True, True)
    assert (args.size, args.region, args.files) == (1024**2, 'eu-west-1', 1)


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(['cp', 'only-one'])
    assert raised.value.code == 2


# -- cp planning (no requests are made for uploads and usage errors) --------------


def _cp_args(*argv):
    return build_parser().parse_args(['cp', *argv])


def test_plan_cp_needs_an_s3_side():
    with pytest.raises(UsageError, match='at least one s3://'):
        plan_cp(None, _cp_args('a', 'b'))


def test_plan_cp_filters_need_recursive(tmp_path):
    with pytest.raises(UsageError, match='--recursive'):
        plan_cp(None, _cp_args(str(tmp_path), 's3://b/', '--exclude', '*'))


def test_plan_cp_single_upload_names_the_key(tmp_path):
    path = tmp_path / 'report.csv'
    path.write_bytes(b'12345')
    into_folder = plan_cp(None, _cp_args(str(path), 's3://bkt/reports/'))
    csv = {'ContentType': 'text/csv'}  # guessed from the name
    expected = FileUpload(str(path), 'bkt', 'reports/report.csv', 5, csv)
    assert into_folder.items == (expected,)
    to_bucket = plan_cp(None, _cp_args(str(path), 's3://bkt'))
    assert to_bucket.items[0].key == 'report.csv'
    exact = plan_cp(None, _cp_args(str(path), 's3://bkt/x/y.csv'))
    assert exact.items[0].key == 'x/y.csv'


def test_plan_cp_refuses_missing_sources(tmp_path):
    with pytest.raises(UsageError, match='not a file'):
        plan_cp(None, _cp_args(str(tmp_path / 'nope'), 's3://b/'))
    with pytest.raises(UsageError, match='not a folder'):
        plan_cp(None, _cp_args(str(tmp_path / 'nope'), 's3://b/', '--recursive'))


class _HeadClient:
    def head_object(self, Bucket, Key):
        assert (Bucket, Key) == ('bkt', 'dir/data.bin')
        return {'ContentLength': 42, 'ETag': '"etag"'}


def test_plan_cp_single_download_and_copy_use_head_object(tmp_path):
    download = plan_cp(_HeadClient(), _cp_args('s3://bkt/dir/data.bin', str(tmp_path)))
    expected_path = str(tmp_path / 'data.bin')
    assert download.items == (
        FileDownload('bkt', 'dir/data.bin', expected_path, 42, '"etag"'),
    )
    copy = plan_cp(_HeadClient(), _cp_args('s3://bkt/dir/data.bin', 's3://two/'))
    assert copy.items == (FileCopy('bkt', 'dir/data.bin', 'two', 'data.bin', 42),)


def test_plan_cp_single_s3_source_must_name_an_object(tmp_path):
    for source in ('s3://bkt', 's3://bkt/dir/'):
        with pytest.raises(UsageError, match='names a folder: add --recursive'):
            plan_cp(None, _cp_args(source, str(tmp_path)))


def test_main_reports_usage_errors_with_exit_2(capsys):
    assert cli.main(['cp', 'a', 'b']) == 2
    assert 'at least one s3://' in capsys.readouterr().err
    argv = ['cp', 'a', 's3://b/', '--local', '--endpoint-url', 'http://x']
    assert cli.main(argv) == 2
    assert 'exclude each other' in capsys.readouterr().err


# -- bench helpers --------------------------------------------------------------


def test_split_sizes_is_even_and_exact():
    assert split_sizes(10, 3) == [4, 3, 3]
    assert split_sizes(2, 4) == [1, 1, 0, 0]
    assert sum(split_sizes(64 * 1024**2, 7)) == 64 * 1024**2


def test_bench_line_reports_rate_and_cpu_per_gib():
    line = bench_line('upload', 1024**3, 2, 2.0, 3.0)
    assert line.split()[:3] == ['upload', '1.0', 'GiB']
    assert '512.0 MiB/s' in line
    assert '3.0 CPU s/GiB' in line
    assert '0.0 MiB/s' in bench_line('copy', 0, 0, 0.0, 0.0)


# -- Progress accounting and formatting -------------------------------------------


def _snapshot(done=0, total=0, files_done=0, files_total=0, elapsed=0.0):
    return ProgressSnapshot(done, total, files_done, 0, files_total, elapsed)


@pytest.mark.parametrize(
    'num, text',
    [
        (0, '0 B'),
        (1023, '1023 B'),
        (1024, '1.0 KiB'),
        (20 * 1024**2, '20.0 MiB'),
        (3 * 1024**4, '3.0 TiB'),
    ],
)
def test_format_size(num, text):
    assert format_size(num) == text


@pytest.mark.parametrize(
    'seconds, text', [(0, '0s'), (59.4, '59s'), (61, '1m01s'), (3720, '1h02m')]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_rate_eta_and_percent():
    snapshot = _snapshot(done=50, total=200, files_total=2, elapsed=5.0)
    assert rate(snapshot) == 10.0
    assert eta(snapshot) == 15.0
    assert percent(snapshot) == 25
    assert eta(_snapshot(total=10)) is None
    assert percent(_snapshot(total=0, files_done=1, files_total=2)) == 50
    assert percent(_snapshot()) == 100
    assert percent(_snapshot(done=-5, total=10)) == 0


def test_format_line_is_plain_text():
    line = format_line(_snapshot(1024**2, 2 * 1024**2, 1, 3, 2.0))
    assert line == '1.0 MiB / 2.0 MiB (50%), 512.0 KiB/s, ETA 2s, files 1/3'
    assert not re.search(r'[\x00-\x1f\x7f]', line)


def test_tally_counts_bytes_and_files_with_its_clock():
    now = [100.0]
    tally = ProgressTally(clock=lambda: now[0])
    tally.expect(10)
    tally.expect(5)
    tally.add_bytes(8)
    tally.add_bytes(-3)
    tally.finish_file(failed=False)
    tally.finish_file(failed=True)
    now[0] = 102.5
    assert tally.snapshot() == ProgressSnapshot(5, 15, 2, 1, 2, 2.5)


class _Future:
    def __init__(self, error=None):
        self._error = error

    def result(self):
        if self._error:
            raise self._error


def test_tally_subscriber_feeds_progress_and_outcomes():
    tally = ProgressTally()
    ok, failing = tally.subscriber(7), tally.subscriber(5)
    ok.on_progress(future=_Future(), bytes_transferred=7)
    failing.on_progress(future=_Future(), bytes_transferred=3)
    ok.on_done(future=_Future())
    failing.on_done(future=_Future(RuntimeError('x')))
    snapshot = tally.snapshot()
    assert (snapshot.bytes_done, snapshot.bytes_failed) == (7, 5)
    assert (snapshot.files_done, snapshot.files_failed) == (2, 1)


def test_percent_stays_below_100_until_every_file_finished():
    assert percent(_snapshot(done=10, total=10, files_done=0, files_total=1)) == 99
    assert percent(_snapshot(done=10, total=10, files_done=1, files_total=1)) == 100


def test_a_failed_bench_phase_is_a_failed_row_not_a_rate(monkeypatch, capsys):
    from s3transfer.cli import bench, output
    from s3transfer.directory import DirectoryResult, Failure, Plan

    upload = FileUpload('/x', 'b', 'k', 10)
    failed = DirectoryResult(failed=[Failure(upload, RuntimeError('boom'))])
    monkeypatch.setattr(output, 'run_plan', lambda *a, **k: (failed, 1.0))
    ok = bench._bench_phase(None, TransferConfig(), 'upload', Plan((upload,)), True)
    assert ok is False
    row = capsys.readouterr().out
    assert row.startswith('upload   FAILED: 1 of 1 file(s) failed')
    assert '/s' not in row


def test_completion_runs_without_s3(capsys):
    assert cli.main(['completion', 'bash']) == 0
    assert '_shtab_s3transfer' in capsys.readouterr().out
