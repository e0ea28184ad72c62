"""Range sizes of multipart downloads (``download_part_size``) and their temp files.

The default sends the spec's ranges (``multipart_chunksize``); the option only changes
how many ranged GETs cover the object, never anything else in them.
"""

import os

import pytest

from s3transfer import download
from s3transfer.manager import TransferConfig, TransferManager
from tests.functional.test_download import BUCKET, ETAG, KEY, add_get, add_head

DATA = bytes(range(256)) * 4  # 1,024 bytes


def _ranges(stubber, data, part_size):
    starts = range(0, len(data), part_size)
    for start in starts:
        last = start + part_size >= len(data)
        end = len(data) if last else start + part_size
        header = f'bytes={start}-' if last else f'bytes={start}-{end - 1}'
        add_get(
            stubber,
            data[start:end],
            {'Range': header, 'IfMatch': ETAG},
            content_range=f'bytes {start}-{end - 1}/{len(data)}',
        )
    return len(starts)


def _download(client, tmp_path, **config):
    config.setdefault('max_request_concurrency', 1)
    target = tmp_path / 'out'
    with TransferManager(client, TransferConfig(**config)) as manager:
        manager.download(BUCKET, KEY, str(target)).result()
    return target.read_bytes()


def test_default_ranges_are_the_multipart_chunksize(client, stubber, tmp_path):
    assert TransferConfig().download_part_size is None
    add_head(stubber, len(DATA))
    assert _ranges(stubber, DATA, 256) == 4
    got = _download(client, tmp_path, multipart_threshold=256, multipart_chunksize=256)
    stubber.assert_no_pending_responses()
    assert got == DATA


def test_a_download_part_size_sets_the_range_size(client, stubber, tmp_path):
    add_head(stubber, len(DATA))
    assert _ranges(stubber, DATA, 300) == 4
    got = _download(
        client,
        tmp_path,
        multipart_threshold=256,
        multipart_chunksize=256,
        download_part_size=300,
    )
    stubber.assert_no_pending_responses()
    assert got == DATA


def test_auto_keeps_the_configured_ranges_for_an_object_one_wave_covers(
    client, stubber, tmp_path
):
    # 1,024 bytes in ranges of 256 with 4 request threads: one wave already.
    add_head(stubber, len(DATA))
    assert _ranges(stubber, DATA, 256) == 4
    got = _download(
        client,
        tmp_path,
        multipart_threshold=256,
        multipart_chunksize=256,
        max_request_concurrency=4,
        download_part_size='auto',
    )
    stubber.assert_no_pending_responses()
    assert got == DATA


def test_auto_uses_the_plan_for_the_object_size(client, stubber, tmp_path, monkeypatch):
    seen = []

    def fake_auto(size, minimum, concurrency):
        seen.append((size, minimum, concurrency))
        return 512

    monkeypatch.setattr(download, 'auto_download_part_size', fake_auto)
    add_head(stubber, len(DATA))
    assert _ranges(stubber, DATA, 512) == 2
    got = _download(
        client,
        tmp_path,
        multipart_threshold=256,
        multipart_chunksize=256,
        max_request_concurrency=3,
        download_part_size='auto',
    )
    stubber.assert_no_pending_responses()
    assert got == DATA
    assert seen == [(len(DATA), 256, 3)]


@pytest.mark.parametrize('value', [0, -1, 'big', 1.5, True])
def test_a_bad_download_part_size_is_refused(value):
    with pytest.raises(ValueError):
        TransferConfig(download_part_size=value)


# --- preallocated temp files (fast path) ----------------------------------------------


@pytest.fixture
def fast_paths_on(monkeypatch):
    """Preallocation is a fast path: these tests run it switched on (CI also runs
    the suite with S3TRANSFER_NO_FAST_PATHS=1)."""
    monkeypatch.delenv('S3TRANSFER_NO_FAST_PATHS', raising=False)


def _record_preallocations(monkeypatch):
    calls = []
    monkeypatch.setattr(download, '_preallocate', lambda fd, size: calls.append(size))
    return calls


def test_a_ranged_download_reserves_its_size_once(
    client, stubber, tmp_path, monkeypatch, fast_paths_on
):
    calls = _record_preallocations(monkeypatch)
    add_head(stubber, len(DATA))
    _ranges(stubber, DATA, 256)
    got = _download(client, tmp_path, multipart_threshold=256, multipart_chunksize=256)
    assert got == DATA
    assert calls == [len(DATA)]


def test_no_preallocation_with_fast_paths_off(client, stubber, tmp_path, monkeypatch):
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    calls = _record_preallocations(monkeypatch)
    add_head(stubber, len(DATA))
    _ranges(stubber, DATA, 256)
    got = _download(client, tmp_path, multipart_threshold=256, multipart_chunksize=256)
    assert got == DATA
    assert calls == []


def test_a_single_get_reserves_nothing(client, stubber, tmp_path, monkeypatch):
    calls = _record_preallocations(monkeypatch)
    add_head(stubber, len(DATA))
    add_get(stubber, DATA)
    assert _download(client, tmp_path) == DATA
    assert calls == []


@pytest.mark.skipif(not hasattr(os, 'pwrite'), reason='positional writes need pwrite')
def test_preallocation_gives_the_temp_file_its_size(tmp_path, fast_paths_on):
    temp = download._PositionalTempFile(str(tmp_path / 'temp'), open)
    temp.reserve(1000)
    assert temp.write_at(b'abc', 10)
    size = os.fstat(temp._fd).st_size
    temp.close()
    if download._load_fallocate() is None:
        pytest.skip('no fallocate on this platform: the writes allocate as before')
    assert size == 1000


def test_a_platform_without_fallocate_still_downloads(
    client, stubber, tmp_path, monkeypatch
):
    monkeypatch.setattr(download, '_fallocate', None)
    monkeypatch.setattr(download, '_fallocate_loaded', True)
    add_head(stubber, len(DATA))
    _ranges(stubber, DATA, 256)
    got = _download(client, tmp_path, multipart_threshold=256, multipart_chunksize=256)
    assert got == DATA


def test_a_failing_fallocate_is_ignored(client, stubber, tmp_path, monkeypatch):
    def refuse(fd, size):
        raise OSError(95, 'Operation not supported')

    monkeypatch.setattr(download, '_fallocate', refuse)
    monkeypatch.setattr(download, '_fallocate_loaded', True)
    add_head(stubber, len(DATA))
    _ranges(stubber, DATA, 256)
    got = _download(client, tmp_path, multipart_threshold=256, multipart_chunksize=256)
    assert got == DATA


def test_a_temp_file_opened_to_continue_is_not_preallocated(
    tmp_path, monkeypatch, fast_paths_on
):
    calls = _record_preallocations(monkeypatch)
    (tmp_path / 'temp').write_bytes(b'kept')
    resumed = download._PositionalTempFile(str(tmp_path / 'temp'), open, mode='r+b')
    resumed.reserve(1000)
    assert resumed.write_at(b'!', 4)
    resumed.close()
    fresh = download._PositionalTempFile(str(tmp_path / 'new'), open)
    fresh.reserve(1000)
    assert fresh.write_at(b'!', 4)
    fresh.close()
    assert calls == [1000]
    assert (tmp_path / 'temp').read_bytes() == b'kept!'
