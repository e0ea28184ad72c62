"""Checksums: CRC selection, CRC combination, whole-object and per-part verification.

The CRCs themselves come from maintained implementations (``zlib.crc32``;
``awscrt.checksums`` for CRC32C and CRC64NVME, from the ``crt`` extra). The one piece
written here is *combination*: the CRC of ``a + b`` from ``crc(a)``, ``crc(b)`` and
``len(b)``, so ranges downloaded in parallel are checked as one object without a
second pass over the file.
"""

from __future__ import annotations

import base64
import bisect
import functools
import logging
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS
from s3transfer.exceptions import S3DownloadFailedError

logger = logging.getLogger(__name__)

try:
    from awscrt import checksums as _crt_checksums
except ImportError:  # the crt extra is not installed
    _crt_checksums = None


CrcFunction = Callable[[Any, int], int]


class ChecksumMismatchError(S3DownloadFailedError):
    """The downloaded bytes do not match the checksum S3 stored for the object."""


class UnsupportedChecksumError(ValueError):
    """A CRC algorithm this installation cannot compute (e.g. no awscrt)."""


@dataclass(frozen=True)
class CrcAlgorithm:
    """One reflected CRC: its S3 name, width in bits and reflected polynomial."""

    name: str
    width: int
    poly: int

    @property
    def response_member(self) -> str:
        """The botocore member carrying this checksum (``ChecksumCRC32``...)."""
        return f'Checksum{self.name}'

    def compute(self, data: bytes | memoryview, previous: int = 0) -> int:
        """The CRC of ``data`` continuing from ``previous`` (0 for a fresh one)."""
        return crc_function(self.name)(data, previous)

    def combine(self, crc1: int, crc2: int, len2: int) -> int:
        """``crc(a + b)`` from ``crc(a)``, ``crc(b)`` and ``len2 = len(b)``."""
        return _combine(self, crc1, crc2, len2)

    def encode(self, value: int) -> str:
        """The base64 form S3 uses (big-endian, ``width / 8`` bytes)."""
        return base64.b64encode(value.to_bytes(self.width // 8, 'big')).decode('ascii')

    def decode(self, text: str) -> int:
        """The integer of a base64 checksum as S3 sends it."""
        raw = base64.b64decode(text)
        if len(raw) != self.width // 8:
            raise ValueError(f'not a {self.name} checksum: {text!r}')
        return int.from_bytes(raw, 'big')


CRC32 = CrcAlgorithm('CRC32', 32, 0xEDB88320)
CRC32C = CrcAlgorithm('CRC32C', 32, 0x82F63B78)
CRC64NVME = CrcAlgorithm('CRC64NVME', 64, 0x9A6C9329AC4BC9B5)

CRC_ALGORITHMS: dict[str, CrcAlgorithm] = {
    algorithm.name: algorithm for algorithm in (CRC64NVME, CRC32C, CRC32)
}


def has_crt_checksums() -> bool:
    """Whether awscrt's CRC32C and CRC64NVME are available."""
    return _crt_checksums is not None


def crc_function(name: str) -> CrcFunction:
    """The maintained implementation of CRC ``name``; raises if it is unavailable."""
    if name == 'CRC32':
        return zlib.crc32
    if name in ('CRC32C', 'CRC64NVME') and _crt_checksums is not None:
        return getattr(_crt_checksums, name.lower())
    if name in CRC_ALGORITHMS:
        raise UnsupportedChecksumError(
            f'{name} needs awscrt: pip install "s3transfer[crt]"'
        )
    raise UnsupportedChecksumError(f'{name} is not a CRC algorithm this supports')


def get_algorithm(name: str) -> CrcAlgorithm:
    """The CRC named ``name`` (case-insensitive), if it can be computed here."""
    algorithm = CRC_ALGORITHMS.get(name.upper())
    if algorithm is None:
        raise UnsupportedChecksumError(
            f'{name!r} is not one of {", ".join(CRC_ALGORITHMS)}'
        )
    crc_function(algorithm.name)  # raises if unavailable
    return algorithm


def default_upload_algorithm() -> CrcAlgorithm:
    """CRC64NVME when awscrt is installed (S3's default), CRC32 otherwise."""
    return CRC64NVME if has_crt_checksums() else CRC32


def resolve_upload_algorithm(option: bool | str) -> CrcAlgorithm | None:
    """The algorithm a ``full_object_checksum`` setting asks for (``None``: off)."""
    if option is False or option is None:
        return None
    if option is True:
        return default_upload_algorithm()
    if isinstance(option, str):
        return get_algorithm(option)
    raise TypeError(
        f'full_object_checksum must be a bool or an algorithm name, not {option!r}'
    )


# --- combination --------------------------------------------------------------
#
# A reflected CRC is the remainder of the message polynomial times x^width, so
# crc(a + b) = crc(a) * x^(8 * len(b)) mod P  xor  crc(b)   (zlib's crc32_combine).
# Polynomials are stored reflected: bit (width - 1) is x^0, bit 0 is x^(width - 1).


def _multiply_mod(algorithm: CrcAlgorithm, a: int, b: int) -> int:
    """``a * b mod P`` for reflected polynomials of ``algorithm``'s width."""
    top = 1 << (algorithm.width - 1)
    product = 0
    mask = top
    while mask and a:
        if a & mask:
            product ^= b
            a ^= mask
        mask >>= 1
        b = (b >> 1) ^ algorithm.poly if b & 1 else b >> 1
    return product


_POWER_TABLES: dict[str, list[int]] = {}
_POWER_LOCK = threading.Lock()


def _powers(algorithm: CrcAlgorithm) -> list[int]:
    """``x^(2^k) mod P`` for k = 0..66 (enough for any byte count below 2^64)."""
    table = _POWER_TABLES.get(algorithm.name)
    if table is None:
        power = 1 << (algorithm.width - 2)  # x^1
        table = [power]
        for _ in range(66):
            power = _multiply_mod(algorithm, power, power)
            table.append(power)
        with _POWER_LOCK:
            _POWER_TABLES[algorithm.name] = table
    return table


@functools.lru_cache(maxsize=256)
def _x_to_the_bits(algorithm: CrcAlgorithm, length: int) -> int:
    """``x^(8 * length) mod P`` (cached: a download's ranges share one length)."""
    table = _powers(algorithm)
    result = 1 << (algorithm.width - 1)  # x^0
    exponent, k = length, 3  # 8 * length = length << 3
    while exponent:
        if exponent & 1:
            result = _multiply_mod(algorithm, table[k], result)
        exponent >>= 1
        k += 1
    return result


def _combine(algorithm: CrcAlgorithm, crc1: int, crc2: int, len2: int) -> int:
    if len2 < 0:
        raise ValueError(f'length must not be negative, got {len2}')
    if len2 == 0:
        return crc1
    return _multiply_mod(algorithm, _x_to_the_bits(algorithm, len2), crc1) ^ crc2


def combine_all(algorithm: CrcAlgorithm, pieces: Iterable[tuple[int, int]]) -> int:
    """The CRC of consecutive pieces given as ``(crc, length)`` pairs, in order."""
    total = 0
    for crc, length in pieces:
        total = algorithm.combine(total, crc, length)
    return total


# --- what S3 says about an object --------------------------------------------

_COMPOSITE_SUFFIX = re.compile(r'-(\d+)$')
_MULTIPART_ETAG = re.compile(r'^"?[0-9a-fA-F]+-(\d+)"?$')


@dataclass(frozen=True)
class ObjectChecksum:
    """An object's stored checksum: algorithm, base64 value, and its kind.

    ``composite`` objects carry a checksum of their parts' checksums (``value-N``);
    their parts must be checked one by one.
    """

    algorithm: CrcAlgorithm
    value: str
    composite: bool
    parts_count: int | None = None


def object_checksum_from_head(response: Mapping[str, Any]) -> ObjectChecksum | None:
    """The CRC checksum a HEAD/GET response (``ChecksumMode=ENABLED``) reports.

    ``None`` when it reports none, or only non-CRC ones (SHA*, MD5), which cannot be
    combined from ranges. Composite: ``ChecksumType=COMPOSITE`` or a ``-N`` value;
    without a type, a multipart ETag (``"...-N"``) means composite too, as it did
    before S3 had full-object multipart checksums.
    """
    for algorithm in CRC_ALGORITHMS.values():
        raw = response.get(algorithm.response_member)
        if not raw:
            continue
        suffix = _COMPOSITE_SUFFIX.search(raw)
        value = raw[: suffix.start()] if suffix else raw
        kind = response.get('ChecksumType')
        etag_parts = _MULTIPART_ETAG.search(response.get('ETag') or '')
        composite = kind == 'COMPOSITE' or bool(suffix)
        if kind is None and etag_parts:
            composite = True
        parts = suffix or etag_parts
        return ObjectChecksum(
            algorithm=algorithm,
            value=value,
            composite=composite,
            parts_count=int(parts.group(1)) if parts and composite else None,
        )
    return None


@dataclass(frozen=True)
class ObjectPart:
    """One part of a composite-checksum object: where it is and its checksum."""

    number: int
    offset: int
    size: int
    checksum: str


# --- verification --------------------------------------------------------------


@dataclass(frozen=True)
class VerificationResult:
    """What verifying a download established (``meta.checksum_verification``).

    ``verified`` is ``False`` when nothing could be checked; ``reason`` says why.
    """

    verified: bool
    kind: str  # 'FULL_OBJECT', 'COMPOSITE' or 'NONE'
    algorithm: str | None = None
    checksum: str | None = None
    parts_checked: int = 0
    reason: str = ''


def unverified(reason: str) -> VerificationResult:
    """The result of a download nothing could be checked for."""
    return VerificationResult(verified=False, kind='NONE', reason=reason)


@dataclass(frozen=True)
class _Segment:
    """A run of bytes with one expected CRC: the whole object, or one part."""

    offset: int
    size: int
    expected: int
    label: str


class DownloadVerifier:
    """Collects CRCs of downloaded ranges and checks them against S3's checksums.

    Each ranged GET attempt feeds its bytes in order through a :meth:`range_crc`
    accumulator and commits it only once the range completed, so failed attempts
    leave no trace. Pieces are split at segment boundaries (object parts), so ranges
    need not be aligned to parts. Thread-safe: ranges commit from request threads.
    """

    def __init__(
        self,
        bucket: str,
        key: str,
        algorithm: CrcAlgorithm,
        segments: list[_Segment],
        result: VerificationResult,
    ) -> None:
        self._bucket = bucket
        self._key = key
        self.algorithm = algorithm
        self._segments = segments
        self._starts = [segment.offset for segment in segments]
        self._result = result
        self._lock = threading.Lock()
        # segment index -> {piece offset: (piece size, crc)}
        self._pieces: dict[int, dict[int, tuple[int, int]]] = {
            index: {} for index in range(len(segments))
        }
        # Told the result once verify() succeeds (e.g. TransferMeta's recorder).
        self.on_verified: Callable[[VerificationResult], None] | None = None

    @classmethod
    def for_full_object(
        cls, bucket: str, key: str, checksum: ObjectChecksum, size: int
    ) -> DownloadVerifier:
        """Check the whole object against its full-object checksum."""
        algorithm = checksum.algorithm
        segment = _Segment(0, size, algorithm.decode(checksum.value), 'object')
        result = VerificationResult(
            verified=True,
            kind='FULL_OBJECT',
            algorithm=algorithm.name,
            checksum=checksum.value,
        )
        return cls(bucket, key, algorithm, [segment], result)

    @classmethod
    def for_parts(
        cls,
        bucket: str,
        key: str,
        checksum: ObjectChecksum,
        size: int,
        parts: list[ObjectPart],
    ) -> DownloadVerifier:
        """Check every part of a composite-checksum object against its own CRC."""
        _check_parts(bucket, key, checksum, size, parts)
        algorithm = checksum.algorithm
        segments = [
            _Segment(
                part.offset,
                part.size,
                algorithm.decode(part.checksum),
                f'part {part.number}',
            )
            for part in parts
        ]
        result = VerificationResult(
            verified=True,
            kind='COMPOSITE',
            algorithm=algorithm.name,
            checksum=f'{checksum.value}-{len(parts)}',
            parts_checked=len(parts),
        )
        return cls(bucket, key, algorithm, segments, result)

    @property
    def result(self) -> VerificationResult:
        """What a successful :meth:`verify` establishes."""
        return self._result

    def range_crc(self, offset: int) -> RangeCrc:
        """A fresh accumulator for one attempt at a range starting at ``offset``."""
        return RangeCrc(self, offset)

    def _commit(self, pieces: list[tuple[int, int, int, int]]) -> None:
        with self._lock:
            for index, offset, size, crc in pieces:
                self._pieces[index][offset] = (size, crc)

    def _segment_index(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset) - 1

    def verify(self) -> VerificationResult:
        """Raise :class:`ChecksumMismatchError` unless every segment's CRC matches."""
        for index, segment in enumerate(self._segments):
            with self._lock:
                pieces = dict(self._pieces[index])
            actual = self._segment_crc(segment, pieces)
            if actual is None:
                raise ChecksumMismatchError(
                    f'Could not verify "{self._key}" in bucket "{self._bucket}": '
                    f'the downloaded ranges do not cover its {segment.label}; the '
                    f'download was discarded.'
                )
            if actual != segment.expected:
                raise ChecksumMismatchError(
                    f'Checksum mismatch for "{self._key}" in bucket '
                    f'"{self._bucket}": the downloaded {segment.label} has '
                    f'{self.algorithm.name} {self.algorithm.encode(actual)} but S3 '
                    f'stored {self.algorithm.encode(segment.expected)}; the '
                    f'download was discarded.'
                )
        logger.debug(
            'Verified %s s3://%s/%s (%s)',
            self._result.kind,
            self._bucket,
            self._key,
            self.algorithm.name,
        )
        if self.on_verified is not None:
            self.on_verified(self._result)
        return self._result

    def _segment_crc(
        self, segment: _Segment, pieces: dict[int, tuple[int, int]]
    ) -> int | None:
        """The combined CRC of a segment's pieces; ``None`` if they do not tile it."""
        position, crc = segment.offset, 0
        end = segment.offset + segment.size
        while position < end:
            piece = pieces.get(position)
            if piece is None:
                return None
            size, piece_crc = piece
            crc = self.algorithm.combine(crc, piece_crc, size)
            position += size
        return crc if position == end else None


class RangeCrc:
    """The CRC of one attempt at one range, fed in order, split at segment edges."""

    def __init__(self, verifier: DownloadVerifier, offset: int) -> None:
        self._verifier = verifier
        self._compute = crc_function(verifier.algorithm.name)
        self._position = offset
        self._index = verifier._segment_index(offset)
        self._piece_offset = offset
        self._crc = 0
        self._pieces: list[tuple[int, int, int, int]] = []
        segments = verifier._segments
        self._segment_end = (
            segments[self._index].offset + segments[self._index].size
            if self._index < len(segments)
            else self._position
        )

    def update(self, data: bytes | memoryview) -> None:
        """Add the next bytes of the range."""
        size = len(data)
        if self._position + size <= self._segment_end:
            # The common case: the chunk lies within the current segment.
            self._crc = self._compute(data, self._crc)
            self._position += size
            return
        view = memoryview(data)
        while len(view):
            room = self._segment_end - self._position
            if room <= 0 and not self._next_segment():
                raise ChecksumMismatchError(
                    f'Downloaded more bytes than the object has (at offset '
                    f'{self._position}).'
                )
            room = self._segment_end - self._position
            chunk = view[:room]
            self._crc = self._compute(chunk, self._crc)
            self._position += len(chunk)
            view = view[len(chunk) :]

    def _next_segment(self) -> bool:
        self._close_piece()
        self._index += 1
        segments = self._verifier._segments
        if self._index >= len(segments):
            return False
        segment = segments[self._index]
        self._segment_end = segment.offset + segment.size
        return True

    def _close_piece(self) -> None:
        size = self._position - self._piece_offset
        if size:
            self._pieces.append((self._index, self._piece_offset, size, self._crc))
        self._piece_offset = self._position
        self._crc = 0

    def commit(self) -> None:
        """Record this range's CRCs: call once the range was fully received."""
        self._close_piece()
        self._verifier._commit(self._pieces)
        self._pieces = []


def _check_parts(
    bucket: str, key: str, checksum: ObjectChecksum, size: int, parts: list[ObjectPart]
) -> None:
    """The parts must tile the object and their CRCs must give its composite CRC."""
    position = 0
    for part in parts:
        if part.offset != position:
            raise S3DownloadFailedError(
                f'Parts of "{key}" in bucket "{bucket}" do not tile the object '
                f'(part {part.number} at {part.offset}, expected {position}).'
            )
        position += part.size
    if position != size:
        raise S3DownloadFailedError(
            f'Parts of "{key}" in bucket "{bucket}" cover {position} bytes, '
            f'the object has {size}.'
        )
    algorithm = checksum.algorithm
    raw = b''.join(base64.b64decode(part.checksum) for part in parts)
    if algorithm.encode(algorithm.compute(raw)) != checksum.value:
        raise ChecksumMismatchError(
            f'The part checksums of "{key}" in bucket "{bucket}" do not add up to '
            f'its composite {algorithm.name} {checksum.value}.'
        )


# --- asking S3 (the download's submission calls these) ------------------------

# Parameters of a download's extra_args that also address GetObjectAttributes and
# HeadObject (SSE-C, requester pays, owner, version).
_LOOKUP_ARGS = tuple(arg for arg in ALLOWED_DOWNLOAD_ARGS if arg != 'ChecksumMode')
_ATTRIBUTES_PAGE = 1000


def build_download_verifier(
    client: Any,
    bucket: str,
    key: str,
    extra_args: Mapping[str, Any],
    head_response: Mapping[str, Any],
) -> DownloadVerifier | VerificationResult:
    """A verifier for the object a HEAD (``ChecksumMode=ENABLED``) described.

    Returns an unverified :class:`VerificationResult` instead when S3 stores no CRC
    checksum for it. Composite objects cost one GetObjectAttributes per 1,000 parts
    (or, where that is refused or unsupported, one ``PartNumber`` HEAD per part).
    """
    size = head_response['ContentLength']
    checksum = object_checksum_from_head(head_response)
    if checksum is None:
        others = sorted(
            name
            for name in head_response
            if name.startswith('Checksum') and name != 'ChecksumType'
        )
        found = ', '.join(others) if others else 'no checksum'
        return unverified(
            f'S3 stores no CRC checksum for this object ({found}); nothing could '
            f'be verified'
        )
    try:
        crc_function(checksum.algorithm.name)
    except UnsupportedChecksumError as error:
        return unverified(f'{error}; nothing could be verified')
    if not checksum.composite:
        return DownloadVerifier.for_full_object(bucket, key, checksum, size)
    lookup_args = {
        name: extra_args[name] for name in _LOOKUP_ARGS if name in extra_args
    }
    parts = _parts_from_attributes(client, bucket, key, lookup_args, checksum)
    if parts is None:
        parts = _parts_from_heads(client, bucket, key, lookup_args, checksum)
    return DownloadVerifier.for_parts(bucket, key, checksum, size, parts)


def _parts_from_attributes(
    client: Any,
    bucket: str,
    key: str,
    lookup_args: dict[str, Any],
    checksum: ObjectChecksum,
) -> list[ObjectPart] | None:
    """Every part's size and CRC from GetObjectAttributes; ``None`` if unavailable."""
    from botocore.exceptions import ClientError

    parts: list[ObjectPart] = []
    marker = 0
    member = checksum.algorithm.response_member
    for _ in range(10_000 // _ATTRIBUTES_PAGE + 1):  # at most 10,000 parts
        try:
            response = client.get_object_attributes(
                Bucket=bucket,
                Key=key,
                ObjectAttributes=['ObjectParts'],
                MaxParts=_ATTRIBUTES_PAGE,
                PartNumberMarker=marker,
                **lookup_args,
            )
        except ClientError as error:
            logger.debug('GetObjectAttributes refused (%s); using part HEADs', error)
            return None
        page = response.get('ObjectParts') or {}
        for part in page.get('Parts') or []:
            if not part.get(member):
                return None
            offset = parts[-1].offset + parts[-1].size if parts else 0
            parts.append(
                ObjectPart(part['PartNumber'], offset, part['Size'], part[member])
            )
        if not page.get('IsTruncated'):
            break
        marker = page['NextPartNumberMarker']
    return parts or None


def _parts_from_heads(
    client: Any,
    bucket: str,
    key: str,
    lookup_args: dict[str, Any],
    checksum: ObjectChecksum,
) -> list[ObjectPart]:
    """Every part's size and CRC from one ``HeadObject(PartNumber=n)`` per part."""
    parts: list[ObjectPart] = []
    count = checksum.parts_count
    number, offset = 1, 0
    member = checksum.algorithm.response_member
    while count is None or number <= count:
        response = client.head_object(
            Bucket=bucket,
            Key=key,
            PartNumber=number,
            ChecksumMode='ENABLED',
            **lookup_args,
        )
        if count is None:
            count = min(int(response.get('PartsCount') or 1), 10_000)
        value = response.get(member)
        if not value:
            raise S3DownloadFailedError(
                f'S3 reports no {checksum.algorithm.name} for part {number} of '
                f'"{key}" in bucket "{bucket}"; cannot verify its composite checksum.'
            )
        size = response['ContentLength']
        parts.append(ObjectPart(number, offset, size, value))
        number, offset = number + 1, offset + size
    return parts


# --- uploads ---------------------------------------------------------------------


class FullObjectCrc:
    """The full-object CRC of a multipart upload, combined from its parts' CRCs.

    Part tasks add their CRCs as they read their parts (in any order, from request
    threads); completion asks for the combined value once every part is in.
    """

    def __init__(self, algorithm: CrcAlgorithm) -> None:
        self.algorithm = algorithm
        self._parts: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def part_crc(self, body: Any, read_size: int = 1024 * 1024) -> tuple[int, int]:
        """``(crc, size)`` of a request body read to its end, then rewound."""
        compute = crc_function(self.algorithm.name)
        crc, size = 0, 0
        while chunk := body.read(read_size):
            crc = compute(chunk, crc)
            size += len(chunk)
        body.seek(0)
        return crc, size

    def add(self, part_number: int, crc: int, size: int) -> None:
        """Record part ``part_number``'s CRC and size (a retry replaces it)."""
        with self._lock:
            self._parts[part_number] = (crc, size)

    def value(self, part_numbers: Iterable[int]) -> str:
        """The base64 CRC of the parts ``part_numbers``, in that order."""
        with self._lock:
            parts = [self._parts[number] for number in part_numbers]
        return self.algorithm.encode(combine_all(self.algorithm, parts))


class PendingVerifier:
    """Verification of a single GET whose checksum comes with the GET itself.

    When size and ETag are already known (e.g. from a listing), a HEAD would be an
    extra request per file: the GET carries ``ChecksumMode=ENABLED`` instead, and the
    verifier is built from its response headers before the body is read.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        extra_args: Mapping[str, Any],
        on_result: Callable[[VerificationResult], None],
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._extra_args = extra_args
        self._on_result = on_result
        self._resolved: DownloadVerifier | None = None
        self._lock = threading.Lock()

    def resolve(self, response: Mapping[str, Any]) -> DownloadVerifier | None:
        """The verifier for the object this GET response describes (once)."""
        with self._lock:
            if self._resolved is not None:
                return self._resolved
            found = build_download_verifier(
                self._client, self._bucket, self._key, self._extra_args, response
            )
            if isinstance(found, DownloadVerifier):
                found.on_verified = self._on_result
                self._resolved = found
                return found
            self._on_result(found)
            logger.warning(
                'Not verified: s3://%s/%s: %s',
                self._bucket,
                self._key,
                found.reason,
                extra={'unverified': f's3://{self._bucket}/{self._key}'},
            )
            return None

    def range_crc(self, offset: int) -> RangeCrc | None:
        """An accumulator, once :meth:`resolve` found something to verify."""
        return self._resolved.range_crc(offset) if self._resolved else None

    def verify(self) -> VerificationResult | None:
        """Check what :meth:`resolve` found (nothing to check: ``None``)."""
        return self._resolved.verify() if self._resolved else None
