"""s3transfer.cli.output: lines, JSON events, errors in words and the bar (no I/O)."""

import io
import json

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from s3transfer._progress import ProgressSnapshot
from s3transfer.cli.output import (
    Output,
    describe_error,
    render_bar,
)
from s3transfer.directory import FileDownload, FileUpload


def _client_error(code, message='x'):
    return ClientError({'Error': {'Code': code, 'Message': message}}, 'HeadObject')


@pytest.mark.parametrize(
    'error, words',
    [
        (_client_error('404', 'Not Found'), 'no such key'),
        (_client_error('NoSuchKey'), 'no such key'),
        (_client_error('NoSuchBucket'), 'no such bucket'),
        (
            _client_error('403', 'Forbidden'),
            'access denied (403): check credentials and bucket policy',
        ),
        (_client_error('Weird', 'it broke'), 'Weird: it broke'),
        (
            NoCredentialsError(),
            'no credentials found: configure a profile or pass --local',
        ),
        (
            FileNotFoundError(2, 'No such file or directory', '/x'),
            'no such file or directory: /x',
        ),
        (RuntimeError('line one\nline two'), 'line one line two'),
    ],
)
def test_describe_error_says_the_cause_in_words(error, words):
    assert describe_error(error) == words


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _snap(done, total, files_done=0, files_total=1, failed=0, elapsed=1.0):
    return ProgressSnapshot(done, total, files_done, failed, files_total, elapsed)


@pytest.mark.parametrize('width', [20, 25, 40, 80, 120, 300])
def test_the_bar_fits_every_usable_width(width):
    line = render_bar(_snap(3 * 1024**2, 10 * 1024**2, 1, 4), width)
    assert line is not None and len(line) <= width - 1
    assert line.startswith(' 30%|')
    assert '\n' not in line and '\r' not in line


def test_the_bar_says_nothing_below_a_usable_width():
    for width in (0, 1, 10, 19):
        assert render_bar(_snap(1, 2), width) is None


def test_the_bar_shows_more_as_the_width_grows():
    snap = _snap(5 * 1024**2, 10 * 1024**2, 1, 3, failed=1)
    assert '5.0 MiB/10.0 MiB' in render_bar(snap, 40)
    wide = render_bar(snap, 120)
    assert 'MiB/s' in wide and 'ETA' in wide and 'files 1/3, 1 failed' in wide
    assert 'MB' not in wide.replace('MiB', '')  # one unit system


def test_the_bar_is_never_full_before_the_last_file_finished():
    line = render_bar(_snap(10, 10, files_done=0, files_total=1), 60)
    assert line.startswith(' 99%|') and '-|' in line
    done = render_bar(_snap(10, 10, files_done=1, files_total=1), 60)
    assert done.startswith('100%|') and '-' not in done.split('|')[1]


def _output(**kwargs):
    stdout, stderr = _Terminal(), io.StringIO()
    out = Output(stdout=stdout, stderr=stderr, width=lambda s: 60, **kwargs)
    return out, stdout, stderr


def test_text_lines_per_file_and_failures_in_words():
    out, stdout, stderr = _output(progress=False)
    upload = FileUpload('a.txt', 'b', 'a.txt', 3)
    out.file_done(upload, None)
    down = FileDownload('b', 'nope.txt', 'nope.txt', 0)
    out.file_done(down, _client_error('404', 'Not Found'))
    assert stdout.getvalue() == 'upload: a.txt to s3://b/a.txt\n'
    assert stderr.getvalue() == (
        'download failed: s3://b/nope.txt to nope.txt: no such key\n'
    )


def test_the_bar_is_cleared_before_a_line_is_printed():
    out, stdout, _ = _output()
    out.progress(_snap(1, 2))
    out.file_done(FileUpload('a', 'b', 'a', 1), None)
    text = stdout.getvalue()
    assert text.index('\r\x1b[K 50%') < text.index('\r\x1b[Kupload: a to s3://b/a\n')
    out.end_progress(_snap(2, 2, 1, 1))
    assert stdout.getvalue().endswith('\r\x1b[K')  # nothing left behind


def test_a_narrow_terminal_gets_plain_lines():
    stdout = _Terminal()
    out = Output(stdout=stdout, width=lambda s: 0)
    out.progress(_snap(1, 2, elapsed=0.1))
    out.progress(_snap(1, 2, elapsed=0.2))  # within a second: not repeated
    out.end_progress(_snap(2, 2, 1, 1, elapsed=0.3))
    lines = stdout.getvalue().splitlines()
    assert [line[:10] for line in lines] == ['progress: '] * 2
    assert '\x1b' not in stdout.getvalue() and '(100%)' in lines[-1]


def test_only_errors_hides_lines_and_progress():
    out, stdout, stderr = _output(show='errors')
    out.progress(_snap(1, 2))
    out.file_done(FileUpload('a', 'b', 'a', 1), None)
    out.warning('careful')
    assert stdout.getvalue() == ''
    assert stderr.getvalue() == 'warning: careful\n'


def test_json_events_one_per_line():
    out, stdout, stderr = _output(mode='json')
    out.progress(_snap(1, 2))
    out.file_done(FileUpload('a', 'b', 'a', 1), None)
    out.file_done(FileUpload('c', 'b', 'c', 1), _client_error('AccessDenied'))
    events = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert events == [
        {
            'event': 'done',
            'operation': 'upload',
            'source': 'a',
            'destination': 's3://b/a',
            'size': 1,
        },
        {
            'event': 'failed',
            'operation': 'upload',
            'source': 'c',
            'destination': 's3://b/c',
            'error': 'access denied (403): check credentials and bucket policy',
            'code': 'AccessDenied',
        },
    ]
    assert stderr.getvalue() == ''


def test_control_characters_in_names_are_escaped():
    out, stdout, _ = _output(progress=False)
    out.file_done(FileUpload('a\x1b[2J', 'b', 'k', 1), None)
    assert '\x1b' not in stdout.getvalue() and '\\x1b[2J' in stdout.getvalue()
