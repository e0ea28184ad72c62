"""Part-level retries (TransferConfig(part_retry_attempts=N)) through the fault proxy.

Chosen parts fail more times in a row than botocore's own attempts (the client makes
2 attempts per request): connection resets, 503 SlowDown answers and, for GETs, bodies
reset or cut short mid-way more often than ``num_download_attempts``. With part
retries on, 100 MiB uploads, downloads and multipart copies complete byte-identical
with progress equal to the size; with them off, the same faults fail the transfer as
the spec says (the multipart upload aborted, no file left).
"""

import io
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from s3transfer import retries
from s3transfer.exceptions import RetriesExceededError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Drop, Reset, Rule, Truncate, slow_down
from tests.faults.scenarios import (
    FirstAttempts,
    ReadOnly,
    aborted_upload_ids,
    open_uploads,
    put_random,
    range_start,
    result_within,
)
from tests.helpers import Progress, sha256

pytestmark = pytest.mark.timeout(120)

MiB = 1024 * 1024
BIG = 100 * MiB  # the acceptance size
PART = 8 * MiB
BOTOCORE_ATTEMPTS = 2  # make_s3_client's default
RETRIES_ON = 3


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """Keep the part-retry backoff short; the waits themselves are unit-tested."""
    monkeypatch.setattr(retries, 'PART_RETRY_BASE_DELAY', 0.01)


@pytest.fixture
def client(proxy, make_s3_client):
    """A client through the proxy with botocore's 2 attempts per request."""
    return make_s3_client(
        endpoint_url=proxy.url,
        retries={'max_attempts': BOTOCORE_ATTEMPTS, 'mode': 'standard'},
        read_timeout=20,
    )


def config(part_size, **kwargs):
    return TransferConfig(
        multipart_threshold=part_size, multipart_chunksize=part_size, **kwargs
    )


class ProgressBound(Progress):
    """Records progress and the highest running total it ever reached."""

    def __init__(self):
        super().__init__()
        self.total = 0
        self.highest = 0

    def on_progress(self, future, bytes_transferred, **kwargs):
        super().on_progress(future, bytes_transferred, **kwargs)
        self.total += bytes_transferred
        self.highest = max(self.highest, self.total)


def assert_counted_once(progress, size):
    assert progress.total == size
    assert progress.highest <= size  # a retried part took back its progress first


# ------------------------------------------------------------------ uploads


def add_upload_faults(proxy, operation, dropped, slowed):
    """Parts in ``dropped`` reset, parts in ``slowed`` get 503, one time too many."""
    times = BOTOCORE_ATTEMPTS + 1
    return [
        proxy.add_rule(
            Rule(Drop(), operation=operation, match=FirstAttempts(dropped, times))
        ),
        proxy.add_rule(
            Rule(slow_down(), operation=operation, match=FirstAttempts(slowed, times))
        ),
    ]


def test_100mib_upload_completes_with_part_retries(
    s3_client, bucket, proxy, client, tmp_path
):
    data = os.urandom(BIG)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    rules = add_upload_faults(proxy, 'UploadPart', dropped={3}, slowed={7, 13})
    progress = ProgressBound()

    with TransferManager(client, config(PART, part_retry_attempts=RETRIES_ON)) as m:
        result_within(m.upload(str(path), bucket, 'obj', subscribers=[progress]), 100)

    assert [rule.applied for rule in rules] == [3, 6]
    body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert sha256(body) == sha256(data)
    assert_counted_once(progress, BIG)
    assert open_uploads(s3_client, bucket) == []


def test_in_memory_parts_are_kept_until_confirmed(
    small_parts, s3_client, bucket, proxy, client
):
    data = os.urandom(6 * small_parts + 17)
    rules = add_upload_faults(proxy, 'UploadPart', dropped={2}, slowed={5})
    progress = ProgressBound()

    cfg = config(small_parts, part_retry_attempts=RETRIES_ON)
    with TransferManager(client, cfg) as m:
        source = ReadOnly(io.BytesIO(data))  # non-seekable: parts live in memory
        result_within(m.upload(source, bucket, 'obj', subscribers=[progress]), 60)

    assert [rule.applied for rule in rules] == [3, 3]
    body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
    assert sha256(body) == sha256(data)
    assert_counted_once(progress, len(data))


@pytest.mark.parametrize(
    'dropped, slowed, error',
    [({2}, set(), ConnectionClosedError), (set(), {2}, ClientError)],
    ids=['reset', '503'],
)
def test_upload_fails_as_the_spec_says_when_off(
    small_parts, s3_client, bucket, proxy, client, tmp_path, dropped, slowed, error
):
    path = tmp_path / 'source.bin'
    path.write_bytes(os.urandom(4 * small_parts))
    add_upload_faults(proxy, 'UploadPart', dropped=dropped, slowed=slowed)

    with TransferManager(client, config(small_parts)) as m:
        future = m.upload(str(path), bucket, 'obj')
    with pytest.raises(error):
        result_within(future, 60)

    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []


# ------------------------------------------------------------------ downloads

STREAM_FAILURES = 6  # one more than the default num_download_attempts (5)


def add_download_faults(proxy, reset_at, truncated_at, slowed_at, after_bytes=MiB):
    """Ranged GETs starting at the given offsets fail one time too many each."""
    return [
        proxy.add_rule(
            Rule(
                Reset(after_bytes=after_bytes, pause_before_reset=0.05),
                operation='GetObject',
                match=FirstAttempts(reset_at, STREAM_FAILURES, key=range_start),
            )
        ),
        proxy.add_rule(
            Rule(
                Truncate(after_bytes=after_bytes),
                operation='GetObject',
                match=FirstAttempts(truncated_at, STREAM_FAILURES, key=range_start),
            )
        ),
        proxy.add_rule(
            Rule(
                slow_down(),
                operation='GetObject',
                match=FirstAttempts(slowed_at, BOTOCORE_ATTEMPTS + 1, key=range_start),
            )
        ),
    ]


def test_100mib_download_completes_with_part_retries(
    s3_client, bucket, proxy, client, tmp_path
):
    data = put_random(s3_client, bucket, BIG)
    rules = add_download_faults(
        proxy, reset_at={3 * PART}, truncated_at={9 * PART}, slowed_at={6 * PART}
    )
    target = tmp_path / 'out.bin'
    progress = ProgressBound()

    with TransferManager(client, config(PART, part_retry_attempts=RETRIES_ON)) as m:
        future = m.download(bucket, 'obj', str(target), subscribers=[progress])
        result_within(future, 100)

    assert [rule.applied for rule in rules] == [STREAM_FAILURES, STREAM_FAILURES, 3]
    assert sha256(target.read_bytes()) == sha256(data)
    assert_counted_once(progress, BIG)


@pytest.mark.parametrize(
    'fault, error',
    [('reset', RetriesExceededError), ('truncated', RetriesExceededError)]
    + [('503', ClientError)],
)
def test_download_fails_as_the_spec_says_when_off(
    s3_client, bucket, proxy, client, tmp_path, fault, error
):
    part = 256 * 1024
    put_random(s3_client, bucket, 4 * part)
    offsets = {'reset': set(), 'truncated': set(), '503': set()}
    offsets[fault] = {part}
    add_download_faults(
        proxy, offsets['reset'], offsets['truncated'], offsets['503'], part // 2
    )
    target = tmp_path / 'out.bin'

    with TransferManager(client, config(part)) as m:
        future = m.download(bucket, 'obj', str(target))
    with pytest.raises(error):
        result_within(future, 60)

    assert sorted(os.listdir(tmp_path)) == []  # neither the file nor a temp file


# ------------------------------------------------------------------ copies


def test_100mib_multipart_copy_completes_with_part_retries(
    s3_client, bucket, proxy, client
):
    data = put_random(s3_client, bucket, BIG, key='src')
    rules = add_upload_faults(proxy, 'UploadPartCopy', dropped={2}, slowed={5, 11})
    progress = ProgressBound()

    with TransferManager(client, config(PART, part_retry_attempts=RETRIES_ON)) as m:
        future = m.copy(
            {'Bucket': bucket, 'Key': 'src'}, bucket, 'dst', subscribers=[progress]
        )
        result_within(future, 100)

    assert [rule.applied for rule in rules] == [3, 6]
    body = s3_client.get_object(Bucket=bucket, Key='dst')['Body'].read()
    assert sha256(body) == sha256(data)
    assert_counted_once(progress, BIG)
    assert open_uploads(s3_client, bucket) == []


@pytest.mark.parametrize(
    'dropped, slowed, error',
    [({2}, set(), ConnectionClosedError), (set(), {2}, ClientError)],
    ids=['reset', '503'],
)
def test_copy_fails_as_the_spec_says_when_off(
    small_parts, s3_client, bucket, proxy, client, dropped, slowed, error
):
    put_random(s3_client, bucket, 4 * small_parts, key='src')
    add_upload_faults(proxy, 'UploadPartCopy', dropped=dropped, slowed=slowed)

    with TransferManager(client, config(small_parts)) as m:
        future = m.copy({'Bucket': bucket, 'Key': 'src'}, bucket, 'dst')
    with pytest.raises(error):
        result_within(future, 60)

    assert len(aborted_upload_ids(proxy)) == 1
    assert open_uploads(s3_client, bucket) == []


# ------------------------------------------------------------------ command line


def run_cli(proxy_url, state_dir, *args):
    # Two botocore attempts per request, as in the tests above.
    env = dict(os.environ, AWS_MAX_ATTEMPTS='2', AWS_RETRY_MODE='standard')
    env.update(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing')
    env['XDG_STATE_HOME'] = str(state_dir)  # never the user's own state folder
    command = [sys.executable, '-m', 's3transfer', 'cp', *args]
    # No resume journal: a failed run then aborts its upload, as the library does.
    command += ['--endpoint-url', proxy_url, '--quiet', '--no-resume']
    return subprocess.run(command, capture_output=True, text=True, timeout=90, env=env)


@pytest.mark.parametrize(
    'flags, succeeds', [([], True), (['--part-retries', '0'], False)]
)
def test_command_line_retries_parts_by_default(
    s3_client, bucket, proxy, tmp_path, flags, succeeds
):
    data = os.urandom(3 * PART)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    rule = proxy.add_rule(
        Rule(
            slow_down(),
            operation='UploadPart',
            match=FirstAttempts({2}, BOTOCORE_ATTEMPTS + 1),
        )
    )
    options = ['--multipart-chunksize', str(PART), '--multipart-threshold', str(PART)]

    state = tmp_path / 'state'
    done = run_cli(proxy.url, state, str(path), f's3://{bucket}/obj', *options, *flags)

    assert (done.returncode == 0) is succeeds, done.stderr
    if succeeds:
        assert rule.applied == BOTOCORE_ATTEMPTS + 1
        body = s3_client.get_object(Bucket=bucket, Key='obj')['Body'].read()
        assert sha256(body) == sha256(data)
    else:
        assert 'SlowDown' in done.stderr
    assert open_uploads(s3_client, bucket) == []
