"""Streams of unknown size with ``grow_stream_part_size``: parts grow, within limits."""

import random
import zlib

import pytest
from botocore.awsrequest import AWSResponse

import s3transfer.subscribers
import s3transfer.upload
from s3transfer import plan
from s3transfer.checksums import CRC32, combine_all
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.utils import ChunksizeAdjuster
from tests.helpers import offline_client

FIRST = 64 * 1024
LIMITS = plan.S3Limits(
    max_parts=100,
    min_part_size=FIRST,
    max_part_size=5 * 1024**3,
    max_object_size=4000 * FIRST,
)


class _SmallParts(ChunksizeAdjuster):
    def __init__(self) -> None:
        super().__init__(min_size=FIRST)


@pytest.fixture
def small_limits(monkeypatch):
    """A 100-part limit and 64 KiB parts, so the growth path runs in seconds."""
    monkeypatch.setattr(plan, 'S3_LIMITS', LIMITS)
    monkeypatch.setattr(s3transfer.upload, 'ChunksizeAdjuster', _SmallParts)


class RandomStream:
    """A read-only stream of ``size`` random bytes; remembers their CRC32."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._random = random.Random(2000)
        self.crc = 0

    def read(self, amount: int = -1) -> bytes:
        if amount is None or amount < 0:
            amount = self._left
        data = self._random.randbytes(min(amount, self._left))
        self._left -= len(data)
        self.crc = zlib.crc32(data, self.crc)
        return data

    def readable(self) -> bool:
        return True


class FakeS3:
    """Answers a multipart upload in-process, keeping each part's size and CRC32."""

    def __init__(self, client) -> None:
        self.parts: dict[int, tuple[int, int]] = {}
        self.completed: list[dict] = []
        client.meta.events.register_first('before-call.s3', self._answer)

    def _answer(self, model, params, **kwargs):
        name = model.name
        if name == 'CreateMultipartUpload':
            return _ok({'UploadId': 'upload'})
        if name == 'UploadPart':  # params: the serialized request
            body = params['body']
            data = body.read() if hasattr(body, 'read') else bytes(body)
            number = int(params['query_string']['partNumber'])
            self.parts[number] = (zlib.crc32(data), len(data))
            return _ok({'ETag': f'"{number}"'})
        if name == 'CompleteMultipartUpload':
            self.completed = params['body']
            return _ok({})
        raise AssertionError(f'unexpected {name}')

    def sizes(self) -> list[int]:
        return [self.parts[number][1] for number in sorted(self.parts)]

    def crc(self) -> int:
        return combine_all(CRC32, [self.parts[n] for n in sorted(self.parts)])


def _ok(parsed):
    return AWSResponse(None, 200, {}, None), parsed


def upload_stream(stream, **config_kwargs):
    client = offline_client()
    fake = FakeS3(client)
    config = TransferConfig(
        multipart_threshold=FIRST, multipart_chunksize=FIRST, **config_kwargs
    )
    with TransferManager(client, config) as manager:
        manager.upload(stream, 'bucket', 'key').result()
    return fake


def test_stream_of_2000_first_size_parts_fits_in_the_part_limit(small_limits):
    stream = RandomStream(2000 * FIRST)
    fake = upload_stream(stream, grow_stream_part_size=True)

    sizes = fake.sizes()
    assert sum(sizes) == 2000 * FIRST
    assert fake.crc() == stream.crc  # byte-identical, in part order
    assert len(sizes) <= LIMITS.max_parts
    assert all(size >= LIMITS.min_part_size for size in sizes[:-1])
    assert sizes[0] == FIRST and sizes == sorted(sizes[:-1]) + sizes[-1:]
    assert fake.completed.count(b'<PartNumber>') == len(sizes)


def test_growth_is_off_by_default(small_limits):
    stream = RandomStream(150 * FIRST + 5)
    fake = upload_stream(stream)
    assert fake.sizes() == [FIRST] * 150 + [5]  # the spec's fixed part size


def test_a_provided_size_is_still_honoured(small_limits):
    class SizeHint(s3transfer.subscribers.BaseSubscriber):
        def on_queued(self, future, **kwargs):
            future.meta.provide_transfer_size(150 * FIRST)

    client = offline_client()
    fake = FakeS3(client)
    config = TransferConfig(
        multipart_threshold=FIRST, multipart_chunksize=FIRST, grow_stream_part_size=True
    )
    with TransferManager(client, config) as manager:
        manager.upload(RandomStream(150 * FIRST), 'b', 'k', None, [SizeHint()]).result()
    assert fake.sizes() == [FIRST] * 150
