"""Fixtures of the fault suite: a proxy in front of the local server, small parts."""

import moto.s3.models
import pytest

import s3transfer.copies
import s3transfer.upload
from s3transfer.utils import ChunksizeAdjuster
from tests.faults.proxy import FaultProxy

# Parts this small keep multipart scenarios cheap on the (slow) local server; the
# fault handling under test does not depend on the part size.
SMALL_PART = 256 * 1024


class SmallPartAdjuster(ChunksizeAdjuster):
    """Allows parts down to ``SMALL_PART`` instead of S3's 5 MiB minimum."""

    def __init__(self) -> None:
        super().__init__(min_size=SMALL_PART)


@pytest.fixture
def small_parts(monkeypatch):
    """Let uploads and copies (and the local server) use parts of ``SMALL_PART``."""
    monkeypatch.setattr(moto.s3.models, 'S3_UPLOAD_PART_MIN_SIZE', SMALL_PART)
    monkeypatch.setattr(s3transfer.upload, 'ChunksizeAdjuster', SmallPartAdjuster)
    monkeypatch.setattr(s3transfer.copies, 'ChunksizeAdjuster', SmallPartAdjuster)
    return SMALL_PART


@pytest.fixture
def proxy(s3_endpoint):
    """A fault proxy in front of the local server, with no rules yet."""
    with FaultProxy(s3_endpoint) as running:
        yield running


@pytest.fixture
def proxied_client(proxy, make_s3_client):
    """A client through ``proxy`` whose retries absorb transient 5xx answers."""
    return make_s3_client(
        endpoint_url=proxy.url, retries={'max_attempts': 10, 'mode': 'standard'}
    )
