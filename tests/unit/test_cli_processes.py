"""s3transfer.cli.processes: splitting, adding up, relaying (no process started)."""

import io
import pickle
from concurrent.futures import CancelledError

from botocore.exceptions import ClientError

from s3transfer._progress import ProgressSnapshot
from s3transfer.cli import processes
from s3transfer.cli.output import Output
from s3transfer.directory import FileUpload, Plan, Refused


def _plan(count):
    items = tuple(FileUpload(f'/src/{i}', 'b', f'k{i}', 10 + i) for i in range(count))
    return Plan(items, (Refused('/src/bad', 'cannot be read'),))


def test_split_only_with_two_files_per_worker():
    assert processes.can_split(_plan(4), 2)
    assert not processes.can_split(_plan(3), 2)
    assert not processes.can_split(_plan(100), 1)


def test_results_in_plan_order_and_unreported_files_cancelled():
    plan = _plan(5)
    gathered = processes._Gathered(plan, started=0.0)
    error = RuntimeError('boom')
    gathered.succeeded.update({4, 0})
    gathered.failed[2] = error
    gathered.cancelled.add(1)
    result = gathered.result()
    assert result.succeeded == [plan.items[0], plan.items[4]]
    assert [(f.item, f.error) for f in result.failed] == [(plan.items[2], error)]
    assert result.cancelled == [plan.items[1], plan.items[3]]  # 3: never reported
    assert result.refused == list(plan.refused)
    assert not result.ok


def test_progress_of_the_workers_adds_up():
    plan = _plan(4)
    gathered = processes._Gathered(plan, started=0.0)
    gathered.progress[0] = ProgressSnapshot(10, 21, 1, 0, 2, 1.0)
    gathered.progress[1] = ProgressSnapshot(11, 25, 0, 1, 2, 1.0, bytes_failed=11)
    total = gathered.snapshot()
    assert (total.bytes_done, total.bytes_total) == (21, 10 + 11 + 12 + 13)
    assert (total.files_done, total.files_failed, total.files_total) == (1, 1, 4)
    assert total.bytes_failed == 11


def test_errors_travel_pickled_or_as_their_words():
    error = ClientError({'Error': {'Code': 'NoSuchKey', 'Message': 'x'}}, 'GetObject')
    back = processes._loads(processes._dumps(error))
    assert isinstance(back, ClientError)
    assert back.response['Error']['Code'] == 'NoSuchKey'

    class Local(Exception):  # not importable by pickle
        pass

    back = processes._loads(processes._dumps(Local('the words')))
    assert isinstance(back, RuntimeError) and str(back) == 'the words'
    assert isinstance(pickle.loads(processes._dumps(CancelledError())), CancelledError)


class _Conn:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def test_a_workers_output_goes_to_the_parent_whole_lines():
    conn = _Conn()
    lock = processes.threading.Lock()
    out = Output(stdout=io.StringIO(), stderr=io.StringIO())
    out.redirect(
        processes._ToParent(conn, lock, 'stdout'),
        processes._ToParent(conn, lock, 'stderr'),
    )
    out.event('done', 'upload: a to s3://b/a')
    out.warning('s3://b/x: not verified')
    assert conn.sent == [
        ('text', 'stdout', 'upload: a to s3://b/a\n'),
        ('text', 'stderr', 'warning: s3://b/x: not verified\n'),
    ]


def test_relayed_lines_clear_the_bar_first():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stdout, stderr = Tty(), io.StringIO()
    out = Output(stdout=stdout, stderr=stderr, width=lambda stream: 80)
    out.progress(ProgressSnapshot(1, 10, 0, 0, 1, 1.0))
    assert stdout.getvalue()  # the bar
    out.relay('stdout', 'upload: a to s3://b/a\n')
    out.relay('stderr', 'upload failed: x\n')
    assert stdout.getvalue().endswith('\r\x1b[Kupload: a to s3://b/a\n')
    assert stderr.getvalue() == 'upload failed: x\n'


def test_bandwidth_is_shared_out_and_other_settings_kept():
    from s3transfer.manager import TransferConfig

    config = TransferConfig(max_bandwidth=10 * 1024**2, max_request_concurrency=7)
    share = processes._share_of(config, 3)
    assert share.max_bandwidth == 10 * 1024**2 // 3
    assert share.max_request_concurrency == 7
    assert config.max_bandwidth == 10 * 1024**2  # the run's own is unchanged
    unlimited = TransferConfig()
    assert processes._share_of(unlimited, 3) is unlimited
