"""CRC combination against known vectors, selection, and range verification."""

import base64
import random
import zlib

import pytest

from s3transfer import checksums
from s3transfer.checksums import (
    CRC32,
    CRC32C,
    CRC64NVME,
    ChecksumMismatchError,
    DownloadVerifier,
    ObjectChecksum,
    ObjectPart,
    combine_all,
    object_checksum_from_head,
)
from s3transfer.exceptions import S3DownloadFailedError

ALGORITHMS = [CRC32, CRC32C, CRC64NVME]
# Published check values: the CRC of b'123456789'.
CHECK_VALUES = {
    'CRC32': 0xCBF43926,
    'CRC32C': 0xE3069283,
    'CRC64NVME': 0xAE8B14860A799888,
}

needs_crt = pytest.mark.skipif(
    not checksums.has_crt_checksums(), reason='awscrt (the crt extra) not installed'
)


def reference_crc(algorithm, data):
    """A bit-at-a-time reflected CRC: slow, obviously right, for small inputs."""
    mask = (1 << algorithm.width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ algorithm.poly if crc & 1 else crc >> 1
    return crc ^ mask


@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_reference_matches_published_check_value(algorithm):
    assert reference_crc(algorithm, b'123456789') == CHECK_VALUES[algorithm.name]


@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_combine_matches_crc_of_concatenation(algorithm):
    rng = random.Random(16)
    for _ in range(20):
        a = rng.randbytes(rng.randrange(0, 300))
        b = rng.randbytes(rng.randrange(0, 300))
        combined = algorithm.combine(
            reference_crc(algorithm, a), reference_crc(algorithm, b), len(b)
        )
        assert combined == reference_crc(algorithm, a + b)


@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_combine_of_check_string_pieces(algorithm):
    pieces = [b'1', b'2345', b'', b'6789']
    crcs = [(reference_crc(algorithm, p), len(p)) for p in pieces]
    assert combine_all(algorithm, crcs) == CHECK_VALUES[algorithm.name]


def test_combine_crc32_with_zlib_over_large_lengths():
    a, b = b'x' * 100_000, bytes(range(256)) * 4099
    assert CRC32.combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_combine_with_zero_length_is_identity(algorithm):
    assert algorithm.combine(0x1234, 0, 0) == 0x1234


def test_combine_rejects_negative_length():
    with pytest.raises(ValueError):
        CRC32.combine(1, 2, -1)


@needs_crt
@pytest.mark.parametrize('algorithm', ALGORITHMS, ids=lambda a: a.name)
def test_maintained_crc_matches_check_value_and_combine(algorithm):
    assert algorithm.compute(b'123456789') == CHECK_VALUES[algorithm.name]
    a, b = random.Random(1).randbytes(70_001), random.Random(2).randbytes(1 << 20)
    combined = algorithm.combine(algorithm.compute(a), algorithm.compute(b), len(b))
    assert combined == algorithm.compute(a + b)


@needs_crt
def test_combine_agrees_with_awscrt_combine_for_huge_lengths():
    from awscrt import checksums as crt

    for length in (1, 5 << 20, (5 << 40) - 3):
        assert CRC64NVME.combine(0xDEADBEEF, 0x1234, length) == crt.combine_crc64nvme(
            0xDEADBEEF, 0x1234, length
        )
        assert CRC32C.combine(0xDEADBEEF, 0x1234, length) == crt.combine_crc32c(
            0xDEADBEEF, 0x1234, length
        )


def test_crc32_is_always_available_and_check_value():
    assert CRC32.compute(b'123456789') == CHECK_VALUES['CRC32']


def test_crt_algorithms_without_awscrt_raise_clearly(monkeypatch):
    monkeypatch.setattr(checksums, '_crt_checksums', None)
    with pytest.raises(checksums.UnsupportedChecksumError, match='awscrt'):
        checksums.crc_function('CRC64NVME')
    assert checksums.default_upload_algorithm() is CRC32
    assert checksums.resolve_upload_algorithm(True) is CRC32


def test_resolve_upload_algorithm():
    assert checksums.resolve_upload_algorithm(False) is None
    assert checksums.resolve_upload_algorithm('crc32') is CRC32
    with pytest.raises(checksums.UnsupportedChecksumError):
        checksums.resolve_upload_algorithm('SHA256')
    with pytest.raises(TypeError):
        checksums.resolve_upload_algorithm(3)


def test_encode_decode_round_trip():
    assert (
        CRC32.encode(0xCBF43926) == base64.b64encode(bytes.fromhex('cbf43926')).decode()
    )
    assert CRC64NVME.decode(CRC64NVME.encode(2**63 + 5)) == 2**63 + 5
    with pytest.raises(ValueError):
        CRC64NVME.decode(CRC32.encode(1))


class TestObjectChecksumFromHead:
    def test_full_object(self):
        found = object_checksum_from_head(
            {
                'ChecksumCRC32': 'AAAAAQ==',
                'ChecksumType': 'FULL_OBJECT',
                'ETag': '"a-3"',
            }
        )
        assert found == ObjectChecksum(CRC32, 'AAAAAQ==', composite=False)

    def test_composite_by_suffix(self):
        found = object_checksum_from_head({'ChecksumCRC32C': 'AAAAAQ==-4'})
        assert found == ObjectChecksum(CRC32C, 'AAAAAQ==', True, parts_count=4)

    def test_composite_by_type(self):
        found = object_checksum_from_head(
            {'ChecksumCRC32': 'AAAAAQ==', 'ChecksumType': 'COMPOSITE', 'ETag': '"e-2"'}
        )
        assert found.composite and found.parts_count == 2

    def test_untyped_multipart_etag_means_composite(self):
        found = object_checksum_from_head(
            {'ChecksumCRC32': 'AAAAAQ==', 'ETag': '"e-2"'}
        )
        assert found.composite and found.parts_count == 2

    def test_untyped_single_part_is_full_object(self):
        found = object_checksum_from_head({'ChecksumCRC32': 'AAAAAQ==', 'ETag': '"e"'})
        assert not found.composite

    def test_none_or_sha_only(self):
        assert object_checksum_from_head({'ETag': '"e"'}) is None
        assert object_checksum_from_head({'ChecksumSHA256': 'x'}) is None


def _feed(verifier, data, ranges):
    for start, end in ranges:
        accumulator = verifier.range_crc(start)
        for offset in range(start, end, 7):
            accumulator.update(data[offset : min(offset + 7, end)])
        accumulator.commit()


DATA = random.Random(5).randbytes(1000)
RANGES = [(0, 300), (300, 600), (600, 900), (900, 1000)]


def test_full_object_verifier_accepts_matching_ranges_in_any_order():
    checksum = ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(DATA)), False)
    verifier = DownloadVerifier.for_full_object('b', 'k', checksum, len(DATA))
    _feed(verifier, DATA, list(reversed(RANGES)))
    result = verifier.verify()
    assert result.verified and result.kind == 'FULL_OBJECT'


def test_full_object_verifier_catches_one_flipped_byte():
    checksum = ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(DATA)), False)
    verifier = DownloadVerifier.for_full_object('b', 'k', checksum, len(DATA))
    corrupted = bytearray(DATA)
    corrupted[450] ^= 1
    _feed(verifier, bytes(corrupted), RANGES)
    with pytest.raises(ChecksumMismatchError, match='Checksum mismatch'):
        verifier.verify()


def test_missing_range_fails_verification():
    checksum = ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(DATA)), False)
    verifier = DownloadVerifier.for_full_object('b', 'k', checksum, len(DATA))
    _feed(verifier, DATA, RANGES[:-1])
    with pytest.raises(ChecksumMismatchError):
        verifier.verify()


def test_uncommitted_attempt_is_ignored_and_retry_counts():
    checksum = ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(DATA)), False)
    verifier = DownloadVerifier.for_full_object('b', 'k', checksum, len(DATA))
    failed = verifier.range_crc(300)
    failed.update(b'garbage')  # never committed: a failed attempt
    _feed(verifier, DATA, RANGES)
    assert verifier.verify().verified


def _parts(data, sizes):
    parts, offset = [], 0
    for number, size in enumerate(sizes, 1):
        crc = CRC32.encode(zlib.crc32(data[offset : offset + size]))
        parts.append(ObjectPart(number, offset, size, crc))
        offset += size
    raw = b''.join(base64.b64decode(p.checksum) for p in parts)
    return parts, ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(raw)), True, len(parts))


def test_composite_verifier_with_ranges_not_aligned_to_parts():
    parts, checksum = _parts(DATA, [250, 250, 250, 250])
    verifier = DownloadVerifier.for_parts('b', 'k', checksum, len(DATA), parts)
    _feed(verifier, DATA, RANGES)
    result = verifier.verify()
    assert result.kind == 'COMPOSITE' and result.parts_checked == 4


def test_composite_verifier_names_the_corrupted_part():
    parts, checksum = _parts(DATA, [400, 400, 200])
    verifier = DownloadVerifier.for_parts('b', 'k', checksum, len(DATA), parts)
    corrupted = bytearray(DATA)
    corrupted[850] ^= 0x80
    _feed(verifier, bytes(corrupted), RANGES)
    with pytest.raises(ChecksumMismatchError, match='part 3'):
        verifier.verify()


def test_composite_parts_must_add_up_to_object_checksum():
    parts, checksum = _parts(DATA, [500, 500])
    wrong = ObjectChecksum(CRC32, CRC32.encode(1), True, 2)
    with pytest.raises(ChecksumMismatchError, match='do not add up'):
        DownloadVerifier.for_parts('b', 'k', wrong, len(DATA), parts)
    with pytest.raises(S3DownloadFailedError, match='cover'):
        DownloadVerifier.for_parts('b', 'k', checksum, len(DATA) + 1, parts)


def test_more_bytes_than_the_object_has():
    checksum = ObjectChecksum(CRC32, CRC32.encode(zlib.crc32(DATA)), False)
    verifier = DownloadVerifier.for_full_object('b', 'k', checksum, len(DATA))
    accumulator = verifier.range_crc(900)
    with pytest.raises(ChecksumMismatchError, match='more bytes'):
        accumulator.update(DATA[900:] + b'x')


class _Body:
    def __init__(self, data):
        self._data, self._pos = data, 0

    def read(self, amount):
        chunk = self._data[self._pos : self._pos + amount]
        self._pos += len(chunk)
        return chunk

    def seek(self, position):
        self._pos = position


def test_full_object_crc_combines_parts_of_any_size_in_part_order():
    full = checksums.FullObjectCrc(CRC32)
    pieces = [DATA[:100], DATA[100:700], DATA[700:]]
    for number in (3, 1, 2):  # parts finish in any order
        body = _Body(pieces[number - 1])
        crc, size = full.part_crc(body, read_size=64)
        assert body.read(10) == pieces[number - 1][:10]  # rewound for the request
        full.add(number, crc, size)
    assert full.value([1, 2, 3]) == CRC32.encode(zlib.crc32(DATA))
