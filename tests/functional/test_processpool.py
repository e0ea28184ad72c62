"""Functional tests for s3transfer.processpool with botocore's Stubber.

The submitter and worker run in-process (``run()``) against one stubbed client, so the
whole request sequence of a download is pinned; the last tests run the real
``ProcessPoolDownloader`` (fork) with stubbed clients created inside the children.
"""

import errno
import io
import multiprocessing
import os
import queue

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from s3transfer import processpool, utils
from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS
from s3transfer.exceptions import CancelledError
from s3transfer.processpool import (
    SHUTDOWN_SIGNAL,
    DownloadFileRequest,
    GetObjectSubmitter,
    GetObjectWorker,
    ProcessPoolDownloader,
    ProcessTransferConfig,
    TransferMonitor,
)
from s3transfer.utils import OSUtils
from tests.helpers import offline_client

BUCKET, KEY = 'mybucket', 'mykey'


class FixedClientFactory:
    def __init__(self, client):
        self._client = client

    def create_client(self):
        return self._client


class BrokenBody:
    """A response body whose stream breaks on the first read."""

    def read(self, amount=None):
        raise ResponseStreamingError(error='connection reset')


def body(data):
    return StreamingBody(io.BytesIO(data), len(data))


class Pipeline:
    """Submitter and one worker driven in-process, sharing a stubbed client."""

    def __init__(self, config=None):
        self.client = offline_client()
        self.stubber = Stubber(self.client)
        self.monitor = TransferMonitor()
        self.config = config or ProcessTransferConfig()
        self._requests, self._jobs = queue.Queue(), queue.Queue()

    def request(self, filename, expected_size=None, extra_args=None, key=KEY):
        transfer_id = self.monitor.notify_new_transfer()
        self._requests.put(
            DownloadFileRequest(
                transfer_id=transfer_id,
                bucket=BUCKET,
                key=key,
                filename=str(filename),
                extra_args=extra_args or {},
                expected_size=expected_size,
            )
        )
        return transfer_id

    def add_head(self, size, **params):
        self.stubber.add_response(
            'head_object',
            {'ContentLength': size},
            {'Bucket': BUCKET, 'Key': KEY, **params},
        )

    def add_get(self, data, key=KEY, **params):
        self.stubber.add_response(
            'get_object',
            {'Body': data if isinstance(data, BrokenBody) else body(data)},
            {'Bucket': BUCKET, 'Key': key, **params},
        )

    def submit(self):
        self._requests.put(SHUTDOWN_SIGNAL)
        with self.stubber:
            self._process(GetObjectSubmitter)

    def work(self):
        self._jobs.put(SHUTDOWN_SIGNAL)
        with self.stubber:
            self._process(GetObjectWorker)
        self.stubber.assert_no_pending_responses()

    def run(self):
        self.submit()
        self.work()

    def _process(self, process_cls):
        factory = FixedClientFactory(self.client)
        if process_cls is GetObjectSubmitter:
            process = GetObjectSubmitter(
                self.config,
                factory,
                self.monitor,
                OSUtils(),
                self._requests,
                self._jobs,
            )
        else:
            process = GetObjectWorker(self._jobs, factory, self.monitor, OSUtils())
        process.run()


def test_ranged_download_heads_then_gets_each_range(tmp_path):
    pipeline = Pipeline(
        ProcessTransferConfig(multipart_threshold=4, multipart_chunksize=4)
    )
    transfer_id = pipeline.request(tmp_path / 'f')
    pipeline.add_head(10)
    for range_param, data in [('bytes=0-3', b'0123'), ('bytes=4-7', b'4567')]:
        pipeline.add_get(data, Range=range_param)
    pipeline.add_get(b'89', Range='bytes=8-')
    pipeline.run()
    assert pipeline.monitor.poll_for_result(transfer_id) is None
    assert (tmp_path / 'f').read_bytes() == b'0123456789'
    assert os.listdir(tmp_path) == ['f']


def test_expected_size_skips_head_object(tmp_path):
    pipeline = Pipeline()
    transfer_id = pipeline.request(tmp_path / 'f', expected_size=3)
    pipeline.add_get(b'abc')
    pipeline.run()
    assert pipeline.monitor.poll_for_result(transfer_id) is None
    assert (tmp_path / 'f').read_bytes() == b'abc'


def test_extra_args_reach_head_and_every_get(tmp_path):
    extra_args = {'VersionId': 'v1', 'RequestPayer': 'requester'}
    pipeline = Pipeline(
        ProcessTransferConfig(multipart_threshold=2, multipart_chunksize=2)
    )
    transfer_id = pipeline.request(tmp_path / 'f', extra_args=extra_args)
    pipeline.add_head(3, **extra_args)
    pipeline.add_get(b'ab', Range='bytes=0-1', **extra_args)
    pipeline.add_get(b'c', Range='bytes=2-', **extra_args)
    pipeline.run()
    assert pipeline.monitor.poll_for_result(transfer_id) is None
    assert (tmp_path / 'f').read_bytes() == b'abc'


def test_missing_key_fails_without_files_and_others_continue(tmp_path):
    pipeline = Pipeline()
    missing = pipeline.request(tmp_path / 'missing')
    good = pipeline.request(tmp_path / 'good', expected_size=2, key='other')
    pipeline.stubber.add_client_error(
        'head_object',
        '404',
        'Not Found',
        404,
        expected_params={'Bucket': BUCKET, 'Key': KEY},
    )
    pipeline.add_get(b'ok', key='other')
    pipeline.run()
    with pytest.raises(ClientError, match='Not Found'):
        pipeline.monitor.poll_for_result(missing)
    assert pipeline.monitor.poll_for_result(good) is None
    assert os.listdir(tmp_path) == ['good']


def test_failed_part_skips_remaining_parts(tmp_path):
    pipeline = Pipeline(
        ProcessTransferConfig(multipart_threshold=2, multipart_chunksize=2)
    )
    failing = pipeline.request(tmp_path / 'f')
    good = pipeline.request(tmp_path / 'g', expected_size=1, key='other')
    pipeline.add_head(6)
    pipeline.stubber.add_client_error(
        'get_object',
        'NoSuchKey',
        expected_params={'Bucket': BUCKET, 'Key': KEY, 'Range': 'bytes=0-1'},
    )
    # Were the two remaining parts requested, they would take this response instead.
    pipeline.add_get(b'g', key='other')
    pipeline.run()
    with pytest.raises(ClientError, match='NoSuchKey'):
        pipeline.monitor.poll_for_result(failing)
    assert pipeline.monitor.poll_for_result(good) is None
    assert os.listdir(tmp_path) == ['g']


def test_cancel_before_jobs_run_makes_no_get_requests(tmp_path):
    pipeline = Pipeline()
    transfer_id = pipeline.request(tmp_path / 'f', expected_size=5)
    pipeline.submit()
    assert len(os.listdir(tmp_path)) == 1  # the pre-allocated temp file
    pipeline.monitor.notify_exception(transfer_id, CancelledError())
    pipeline.work()
    with pytest.raises(CancelledError):
        pipeline.monitor.poll_for_result(transfer_id)
    assert os.listdir(tmp_path) == []


def zero_length_rejected(fileobj, size):
    """fallocate as on 0.19.3 with posix_fallocate: a zero length is EINVAL."""
    if size == 0:
        raise OSError(errno.EINVAL, 'Invalid argument')
    fileobj.truncate(size)


@pytest.mark.parametrize('strict_fallocate', [False, True])
def test_zero_byte_object_downloads_to_empty_file(
    tmp_path, monkeypatch, strict_fallocate
):
    # Quirk fix: 0.19.3 failed this download with OSError from posix_fallocate.
    if strict_fallocate:
        monkeypatch.setattr(utils, 'fallocate', zero_length_rejected)
    pipeline = Pipeline()
    transfer_id = pipeline.request(tmp_path / 'empty')
    pipeline.add_head(0)
    pipeline.add_get(b'')
    pipeline.run()
    assert pipeline.monitor.poll_for_result(transfer_id) is None
    assert (tmp_path / 'empty').read_bytes() == b''
    assert os.listdir(tmp_path) == ['empty']


def test_streaming_error_retries_the_get(tmp_path):
    pipeline = Pipeline()
    transfer_id = pipeline.request(tmp_path / 'f', expected_size=4)
    pipeline.add_get(BrokenBody())
    pipeline.add_get(b'data')
    pipeline.run()
    assert pipeline.monitor.poll_for_result(transfer_id) is None
    assert (tmp_path / 'f').read_bytes() == b'data'


# --- the real downloader, children forked with stubbed clients ----------------------


class RoleStubbedClientFactory:
    """Creates, inside each child, a client stubbed with that child's responses."""

    def __init__(self, submitter_stubs, worker_stubs):
        self._stubs = {
            GetObjectSubmitter: submitter_stubs,
            GetObjectWorker: worker_stubs,
        }

    def create_client(self):
        client = offline_client()
        stubber = Stubber(client)
        for operation, response, params in self._stubs[
            type(multiprocessing.current_process())
        ]:
            stubber.add_response(operation, response, params)
        stubber.activate()
        return client


@pytest.fixture
def stubbed_downloader(monkeypatch):
    assert multiprocessing.get_start_method() == 'fork'  # the stubs travel by fork

    def make(submitter_stubs=(), worker_stubs=()):
        factory = RoleStubbedClientFactory(list(submitter_stubs), list(worker_stubs))
        monkeypatch.setattr(processpool, 'ClientFactory', lambda client_kwargs: factory)
        config = ProcessTransferConfig(max_request_processes=1)
        return ProcessPoolDownloader(config=config)

    return make


def child_pids():
    """PIDs of this process's live children, read from /proc."""
    pids = set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                pids.add(int(entry))
    return pids


def test_downloader_runs_a_download_through_child_processes(
    tmp_path, stubbed_downloader
):
    before = child_pids()
    worker_stubs = [
        ('get_object', {'Body': body(b'hello')}, {'Bucket': BUCKET, 'Key': KEY})
    ]
    with stubbed_downloader(worker_stubs=worker_stubs) as downloader:
        future = downloader.download_file(
            BUCKET, KEY, str(tmp_path / 'f'), expected_size=5
        )
        assert future.result() is None
        assert future.done()
        assert future.meta.call_args.expected_size == 5
        assert future.meta.transfer_id == 0
        assert len(child_pids() - before) == 3  # manager, submitter, one worker
    assert (tmp_path / 'f').read_bytes() == b'hello'
    assert child_pids() - before == set()


def test_downloader_rejects_unknown_extra_args(tmp_path, stubbed_downloader):
    with stubbed_downloader() as downloader:
        with pytest.raises(ValueError) as exc_info:
            downloader.download_file(
                BUCKET, KEY, str(tmp_path / 'f'), extra_args={'Range': 'x'}
            )
    assert str(exc_info.value) == (
        "Invalid extra_args key 'Range', must be one of: "
        + ', '.join(ALLOWED_DOWNLOAD_ARGS)
    )
    assert os.listdir(tmp_path) == []


def test_downloader_reports_stub_mismatch_as_failure(tmp_path, stubbed_downloader):
    # The worker's stub expects another key, so the request never reaches "S3".
    worker_stubs = [
        ('get_object', {'Body': body(b'x')}, {'Bucket': BUCKET, 'Key': 'other'})
    ]
    with stubbed_downloader(worker_stubs=worker_stubs) as downloader:
        future = downloader.download_file(
            BUCKET, KEY, str(tmp_path / 'f'), expected_size=1
        )
        with pytest.raises(Exception, match='other'):
            future.result()
    assert os.listdir(tmp_path) == []
