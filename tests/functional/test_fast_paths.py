"""Whole transfers through the fake S3 with fast paths on, off, and stepping aside.

The fake S3 (tests/fakes3.py) answers over an https endpoint, so uploads carry
aws-chunked bodies with a CRC32 trailer, as in production. A simulated botocore change
(a private attribute renamed) must make a fast path step aside, never fail a transfer.
"""

import zlib

import pytest
from botocore.context import ClientContext
from botocore.httpchecksum import AwsChunkedWrapper

from s3transfer import _awschunked, fastpaths, tasks
from s3transfer.manager import TransferConfig, TransferManager
from tests.fakes3 import NULL_ENDPOINT, byte_pattern, null_client
from tests.helpers import rename_private_attribute

KiB = 1024
MiB = 1024 * KiB
SIZE = 12 * MiB + 5
CONFIG = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)


@pytest.fixture(autouse=True)
def fresh_self_checks():
    _awschunked.OFFSET_READS.reset()
    tasks.CHEAP_CONTEXT_COPY.reset()
    yield
    _awschunked.OFFSET_READS.reset()
    tasks.CHEAP_CONTEXT_COPY.reset()


def upload_and_check(tmp_path):
    """Upload SIZE pattern bytes in three parts; return the body classes sent."""
    source = tmp_path / 'source'
    source.write_bytes(byte_pattern(0, SIZE))
    client, server = null_client(endpoint_url=NULL_ENDPOINT)
    sent = []
    client.meta.events.register(
        'before-send.s3.UploadPart',
        lambda request, **kwargs: sent.append(type(request.body)),
        unique_id='record-body-class',
    )
    with TransferManager(client, CONFIG) as manager:
        manager.upload(str(source), 'bucket', 'key').result()
    parts = server.results['key']
    assert [size for _, size, _ in parts] == [5 * MiB, 5 * MiB, 2 * MiB + 5]
    data = byte_pattern(0, SIZE)
    offsets = [0, 5 * MiB, 10 * MiB]
    for (_, size, crc), offset in zip(parts, offsets, strict=True):
        assert crc == zlib.crc32(data[offset : offset + size])
    return sent


def download_and_check(tmp_path):
    client, server = null_client(endpoint_url=NULL_ENDPOINT)
    server.add_object('key', 7, SIZE)
    folder = tmp_path / 'downloads'
    folder.mkdir()
    target = folder / 'target'
    with TransferManager(client, CONFIG) as manager:
        manager.download('bucket', 'key', str(target)).result()
    assert target.read_bytes() == byte_pattern(7, SIZE)
    assert [p.name for p in folder.iterdir()] == ['target']  # no temp file left


def test_upload_uses_offset_reads_when_on(tmp_path, fast_paths_on):
    sent = upload_and_check(tmp_path)
    assert sent == [_awschunked._OffsetAwsChunkedWrapper] * 3


def test_upload_and_download_take_the_plain_way_when_off(tmp_path, monkeypatch):
    monkeypatch.setenv(fastpaths.ENV_VAR, '1')
    assert upload_and_check(tmp_path) == [AwsChunkedWrapper] * 3
    download_and_check(tmp_path)


def test_download_with_fast_paths_on(tmp_path, fast_paths_on):
    download_and_check(tmp_path)


@pytest.mark.parametrize('private', ['_make_chunk', '_remaining', '_complete'])
def test_a_renamed_private_attribute_of_the_encoder_never_fails_an_upload(
    tmp_path, monkeypatch, fast_paths_on, private
):
    rename_private_attribute(monkeypatch, AwsChunkedWrapper, private)
    assert upload_and_check(tmp_path) == [AwsChunkedWrapper] * 3


def test_a_botocore_context_with_its_own_deepcopy_never_fails_a_transfer(
    tmp_path, monkeypatch, fast_paths_on
):
    copies = []

    def deepcopy(self, memo):
        copies.append(1)
        clone = object.__new__(type(self))
        clone.__dict__.update(features=set(self.features))
        return clone

    monkeypatch.setattr(ClientContext, '__deepcopy__', deepcopy, raising=False)
    upload_and_check(tmp_path)
    download_and_check(tmp_path)
    assert copies  # botocore's own copy ran: the cheap copy stepped aside
    assert tasks.CHEAP_CONTEXT_COPY.passed() is False
