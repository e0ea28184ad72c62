"""The command line in a real pseudo-terminal (pexpect) at 0, 40 and 120 columns:
what is drawn, and that it fits."""

import os
import re
import sys

import pexpect
import pytest

SLOW = ['--max-bandwidth', '1MiB']  # ~2 s for 2 MiB: several redraws
CLEAR = '\r\x1b[K'


def _run_in_terminal(args, columns, cwd):
    child = pexpect.spawn(
        sys.executable,
        ['-m', 's3transfer', *args],
        dimensions=(24, columns),
        encoding='utf-8',
        timeout=90,
        cwd=str(cwd),
        env=os.environ.copy(),
    )
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    return child.exitstatus, output


def _bars(output):
    """Every bar drawn: the text after each clear-line that is not a message line."""
    pieces = [piece.split('\r')[0] for piece in output.split(CLEAR)[1:]]
    return [piece for piece in pieces if re.match(r'^ *\d+%\|', piece)]


@pytest.fixture
def two_mib(tmp_path):
    source = tmp_path / 'two.bin'
    source.write_bytes(os.urandom(2 * 1024**2))
    return source


@pytest.mark.parametrize('columns', [40, 120])
def test_the_bar_fits_the_terminal_advances_and_is_cleared(
    s3_endpoint, bucket, two_mib, tmp_path, columns
):
    args = ['cp', str(two_mib), f's3://{bucket}/', *SLOW, '--endpoint-url', s3_endpoint]
    status, output = _run_in_terminal(args, columns, tmp_path)
    assert status == 0, output
    bars = _bars(output)
    assert len(bars) >= 3, output
    assert all(len(bar) <= columns - 1 for bar in bars), bars
    percents = [int(bar.split('%')[0]) for bar in bars]
    assert percents == sorted(percents) and percents[-1] == 100 and percents[0] < 100
    assert all('MB' not in bar.replace('MiB', '') for bar in bars)  # one unit system
    if columns >= 120:
        assert 'files 1/1' in bars[-1] and 'ETA' in bars[-1] and 'MiB/s' in bars[-1]
    # The bar is cleared before the file line and the summary: nothing is left of it.
    lines = output.replace(CLEAR, '\n').splitlines()
    assert f'upload: {two_mib} to s3://{bucket}/two.bin' in lines
    after_last_clear = output.rsplit(CLEAR, 1)[1]
    assert after_last_clear.startswith('1 transferred (2.0 MiB in '), output


def test_a_zero_column_terminal_gets_plain_progress_lines(
    s3_endpoint, bucket, two_mib, tmp_path
):
    args = ['cp', str(two_mib), f's3://{bucket}/', *SLOW, '--endpoint-url', s3_endpoint]
    status, output = _run_in_terminal(args, 0, tmp_path)
    assert status == 0, output
    assert '\x1b' not in output and not _bars(output)
    lines = [line for line in output.splitlines() if line.startswith('progress: ')]
    assert len(lines) >= 2
    assert '(100%)' in lines[-1] and '(100%)' not in lines[0]


def test_failures_show_in_words_and_the_bar_does_not_count_them_as_done(
    s3_endpoint, bucket, tmp_path
):
    args = [
        'cp',
        f's3://{bucket}/nope.txt',
        str(tmp_path / 'out.txt'),
        '--endpoint-url',
        s3_endpoint,
    ]
    status, output = _run_in_terminal(args, 80, tmp_path)
    assert status == 1
    assert f's3://{bucket}/nope.txt' in output and 'no such key' in output
    assert not (tmp_path / 'out.txt').exists()


def test_help_is_readable_at_40_columns(tmp_path):
    status, output = _run_in_terminal(['cp', '--help'], 40, tmp_path)
    assert status == 0
    assert 'examples:' in output and 'exit codes:' in output


def test_bench_rows_have_no_bar_left_before_them(tmp_path):
    args = ['bench', '--local', '--size', '3MiB', '--files', '3', *SLOW]
    status, output = _run_in_terminal(args, 80, tmp_path)
    assert status == 0, output
    assert _bars(output)  # a bar was drawn while each phase ran
    lines = output.replace('\r\n', '\n').split('\n')
    # What stays visible on each line: the text after its last carriage return.
    rows = [line.rsplit('\r', 1)[-1].replace('\x1b[K', '') for line in lines]
    rows = [row for row in rows if row.strip()]
    assert [row.split()[0] for row in rows] == ['upload', 'download', 'copy'], rows
