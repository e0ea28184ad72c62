"""Cancelling transfers that are really in flight: CancelledError, nothing left over."""

import io
import os
import threading

import pytest
from botocore.exceptions import ClientError

from s3transfer.exceptions import CancelledError
from s3transfer.manager import TransferConfig, TransferManager
from tests.faults.proxy import Delay, Hook, Rule
from tests.faults.scenarios import (
    Gate,
    PatternStream,
    ReadOnly,
    aborted_upload_ids,
    call_within,
    error_response,
    null_client,
    open_uploads,
    put_random,
    result_within,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

PART = 256 * 1024
DELAY = 0.5


def config(concurrency=2):
    return TransferConfig(
        multipart_threshold=PART,
        multipart_chunksize=PART,
        max_request_concurrency=concurrency,
    )


def slow(proxy, operation):
    """Delay every ``operation`` request so the transfer is still running."""
    proxy.add_rule(Rule(Delay(DELAY), operation=operation))


def in_flight(proxy, operation):
    """Wait until the proxy has seen the first ``operation`` request."""
    wait_until(lambda: proxy.events_for(operation), seconds=15)


@pytest.mark.parametrize('source_kind', ['filename', 'non-seekable'])
def test_cancel_running_multipart_upload(
    small_parts, s3_client, bucket, proxy, proxied_client, tmp_path, source_kind
):
    data = os.urandom(12 * small_parts)
    path = tmp_path / 'source.bin'
    path.write_bytes(data)
    source = str(path) if source_kind == 'filename' else ReadOnly(io.BytesIO(data))
    slow(proxy, 'UploadPart')
    with TransferManager(proxied_client, config()) as manager:
        future = manager.upload(source, bucket, 'obj')
        in_flight(proxy, 'UploadPart')
        future.cancel()
        with pytest.raises(CancelledError):
            result_within(future, 15)

    assert len(proxy.events_for('UploadPart')) < 12
    assert len(aborted_upload_ids(proxy)) == 1
    assert proxy.events_for('CompleteMultipartUpload') == []
    assert open_uploads(s3_client, bucket) == []
    assert os.listdir(tmp_path) == ['source.bin']


def test_cancel_running_download_removes_temp_file(
    s3_client, bucket, proxy, proxied_client, tmp_path
):
    put_random(s3_client, bucket, 12 * PART)
    slow(proxy, 'GetObject')
    target = tmp_path / 'out.bin'
    with TransferManager(proxied_client, config()) as manager:
        future = manager.download(bucket, 'obj', str(target))
        in_flight(proxy, 'GetObject')
        future.cancel()
        with pytest.raises(CancelledError):
            result_within(future, 15)

    assert len(proxy.events_for('GetObject')) < 12
    assert os.listdir(tmp_path) == []


def test_cancel_running_download_into_file_object(
    s3_client, bucket, proxy, proxied_client
):
    put_random(s3_client, bucket, 12 * PART)
    slow(proxy, 'GetObject')
    target = io.BytesIO()
    with TransferManager(proxied_client, config()) as manager:
        future = manager.download(bucket, 'obj', target)
        in_flight(proxy, 'GetObject')
        future.cancel()
        with pytest.raises(CancelledError):
            result_within(future, 15)

    assert len(proxy.events_for('GetObject')) < 12
    assert len(target.getvalue()) < 12 * PART


def test_shutdown_cancel_with_transfers_in_flight(
    small_parts, s3_client, bucket, proxy, proxied_client, tmp_path
):
    put_random(s3_client, bucket, 12 * PART)
    source = tmp_path / 'source.bin'
    source.write_bytes(os.urandom(12 * small_parts))
    gate = Gate()
    proxy.add_rule(Rule(Hook(gate), operation='GetObject'))
    proxy.add_rule(Rule(Hook(gate), operation='UploadPart'))
    # Enough threads for every request at once: all three transfers are running.
    manager = TransferManager(proxied_client, config(concurrency=40))
    futures = [
        manager.upload(str(source), bucket, 'uploaded'),
        manager.upload(ReadOnly(io.BytesIO(b'x' * 12 * PART)), bucket, 'streamed'),
        manager.download(bucket, 'obj', str(tmp_path / 'out.bin')),
    ]
    in_flight(proxy, 'GetObject')
    in_flight(proxy, 'UploadPart')
    shutting_down = threading.Thread(target=manager.shutdown, args=(True,))

    shutting_down.start()
    wait_until(lambda: all(future.done() for future in futures))  # cancelled
    gate.open()
    shutting_down.join(20)

    assert not shutting_down.is_alive()
    for future in futures:
        with pytest.raises(CancelledError):
            future.result()
    assert open_uploads(s3_client, bucket) == []
    assert os.listdir(tmp_path) == ['source.bin']
    assert proxy.events_for('CompleteMultipartUpload') == []
    with pytest.raises(RuntimeError, match='shut down'):
        manager.upload(str(source), bucket, 'late')


def test_shutdown_cancel_message_reaches_the_futures(
    small_parts, s3_client, bucket, proxy, proxied_client, tmp_path
):
    source = tmp_path / 'source.bin'
    source.write_bytes(os.urandom(12 * small_parts))
    slow(proxy, 'UploadPart')
    manager = TransferManager(proxied_client, config())
    future = manager.upload(str(source), bucket, 'obj')
    in_flight(proxy, 'UploadPart')

    call_within(lambda: manager.shutdown(True, 'stop now'), 20)

    with pytest.raises(CancelledError, match='stop now'):
        future.result()
    assert open_uploads(s3_client, bucket) == []


class CountingStream(PatternStream):
    """A practically endless stream that counts its reads.

    It does end after ``MAX_READS`` reads, so a manager that keeps reading fails
    the test instead of hanging it.
    """

    MAX_READS = 100

    def __init__(self):
        super().__init__(1 << 50)
        self.reads = 0

    def read(self, amount=None):
        self.reads += 1
        if self.reads > self.MAX_READS:
            return b''
        return super().read(amount)


@pytest.mark.parametrize('how', ['cancel', 'failure'])
def test_endless_stream_upload_stops_reading_once_the_transfer_ends(how):
    # Like `producer | aws s3 cp - s3://...`: the source never ends by itself.
    latency = {'UploadPart': 0.02}
    client, endpoint = null_client(latency)
    if how == 'failure':
        fail_third_part(client)
    stream = CountingStream()
    config = TransferConfig(max_in_memory_upload_chunks=4)
    manager = TransferManager(client, config)
    future = manager.upload(stream, 'bucket', 'key')
    wait_until(lambda: endpoint.operations['UploadPart'] >= 3)
    if how == 'cancel':
        future.cancel()
    expected = CancelledError if how == 'cancel' else ClientError

    with pytest.raises(expected):
        result_within(future, 20)

    reads_when_done = stream.reads
    call_within(manager.shutdown, 20)
    assert stream.reads == reads_when_done
    assert reads_when_done < 3 + config.max_in_memory_upload_chunks + 3
    assert endpoint.operations['AbortMultipartUpload'] == 1
    assert endpoint.operations['CompleteMultipartUpload'] == 0


def fail_third_part(client):
    """Make the third UploadPart answer 403 AccessDenied."""
    seen = []

    def deny(request, event_name, **kwargs):
        if event_name.endswith('.UploadPart'):
            seen.append(event_name)
            if len(seen) == 3:
                return error_response(request.url, 403, 'AccessDenied')
        return None

    client.meta.events.register_first('before-send.s3', deny)
