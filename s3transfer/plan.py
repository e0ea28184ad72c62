"""A transfer's part plan: which bytes go in which part, as one frozen value.

Built once per multipart transfer (upload, ranged download, multipart copy) and
passed on: submission, part retries, resume journals and checksum verification
all read the same plan instead of redoing the chunk math.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from s3transfer.utils import (
    MAX_PARTS,
    MAX_SINGLE_UPLOAD_SIZE,
    MIN_UPLOAD_CHUNKSIZE,
    calculate_num_parts,
)


@dataclass(frozen=True)
class Part:
    """One part: S3 part ``number`` (1-based) covering ``size`` bytes at ``offset``."""

    number: int
    offset: int
    size: int

    @property
    def index(self) -> int:
        """The 0-based position of this part in its plan."""
        return self.number - 1

    @property
    def end(self) -> int:
        """One past the last byte of this part."""
        return self.offset + self.size

    def range_header(self, open_ended: bool = False) -> str:
        """The HTTP ``Range``/``CopySourceRange`` value (``bytes=a-b``).

        ``open_ended`` leaves the end out (``bytes=a-``), as the spec's ranged
        download does for the last part.
        """
        end = '' if open_ended else str(self.end - 1)
        return f'bytes={self.offset}-{end}'


@dataclass(frozen=True)
class PartPlan:
    """``total_size`` bytes cut into ``part_size`` parts (the last may be shorter)."""

    total_size: int
    part_size: int

    def __post_init__(self) -> None:
        if self.part_size <= 0:
            raise ValueError(f'part_size must be positive, got {self.part_size}')
        if self.total_size < 0:
            raise ValueError(f'total_size must not be negative, got {self.total_size}')

    @property
    def num_parts(self) -> int:
        """How many parts cover the object (0 for an empty object)."""
        return calculate_num_parts(self.total_size, self.part_size)

    def part(self, number: int) -> Part:
        """Part ``number`` (1-based); ``IndexError`` outside the plan."""
        if not 1 <= number <= self.num_parts:
            raise IndexError(f'part {number} is outside 1..{self.num_parts}')
        offset = (number - 1) * self.part_size
        return Part(number, offset, min(self.part_size, self.total_size - offset))

    def parts(self, first: int = 1) -> Iterator[Part]:
        """Every part from number ``first`` on, in order."""
        for number in range(first, self.num_parts + 1):
            yield self.part(number)

    def __iter__(self) -> Iterator[Part]:
        return self.parts()

    def __len__(self) -> int:
        return self.num_parts

    def is_last(self, part: Part) -> bool:
        """Whether ``part`` is the plan's final part."""
        return part.number == self.num_parts

    def to_dict(self) -> dict[str, int]:
        """A JSON-ready form (for journals)."""
        return {'total_size': self.total_size, 'part_size': self.part_size}

    @classmethod
    def from_dict(cls, data: Any) -> PartPlan:
        """Rebuild a plan from :meth:`to_dict`; ``ValueError`` on anything else."""
        try:
            total_size, part_size = data['total_size'], data['part_size']
        except (TypeError, KeyError) as error:
            raise ValueError(f'not a part plan: {data!r}') from error
        if type(total_size) is not int or type(part_size) is not int:
            raise ValueError(f'not a part plan: {data!r}')
        return cls(total_size=total_size, part_size=part_size)


# --- ranged downloads ------------------------------------------------------------

# The largest range ``download_part_size='auto'`` picks: big enough that a 1 GiB
# download takes ~20 GETs instead of 128, small enough that a retried range is cheap.
AUTO_DOWNLOAD_MAX_PART_SIZE = 64 * 1024**2
_MIB = 1024**2


def auto_download_part_size(
    size: int,
    minimum: int,
    concurrency: int,
    maximum: int = AUTO_DOWNLOAD_MAX_PART_SIZE,
) -> int:
    """The range size of ``download_part_size='auto'`` for a ``size``-byte object.

    Ranges are never smaller than ``minimum`` (the configured part size); above
    that, the object is cut into whole waves of ``concurrency`` ranges of at most
    ``maximum`` bytes (rounded up to a MiB), so every request thread stays busy
    until the end while each GET (a request's fixed CPU cost) moves more bytes.
    """
    if concurrency < 1 or size <= minimum * concurrency:
        return minimum
    waves = -(-size // (max(maximum, minimum) * concurrency))
    part = -(-size // (waves * concurrency))
    part = -(-part // _MIB) * _MIB
    return max(minimum, min(part, max(maximum, minimum)))


# --- streams of unknown size --------------------------------------------------------


@dataclass(frozen=True)
class S3Limits:
    """The S3 limits a multipart upload lives within (injectable for tests)."""

    max_parts: int = MAX_PARTS
    min_part_size: int = MIN_UPLOAD_CHUNKSIZE
    max_part_size: int = MAX_SINGLE_UPLOAD_SIZE
    max_object_size: int = 5 * 1024**4  # 5 TiB


S3_LIMITS = S3Limits()


@dataclass(frozen=True)
class GrowthSchedule:
    """Part sizes for a stream of unknown size: equal tiers of doubling parts.

    The first ``tier_parts`` parts have ``first_part_size``, the next tier twice that,
    and so on (capped at ``limits.max_part_size``), with as few tiers as let
    ``limits.max_parts`` parts hold ``limits.max_object_size``: small streams keep
    the configured part size, and any stream up to S3's object limit fits.
    """

    first_part_size: int
    limits: S3Limits = S3_LIMITS

    def __post_init__(self) -> None:
        if not self.limits.min_part_size <= self.first_part_size:
            raise ValueError(
                f'first part size {self.first_part_size} is below the minimum '
                f'{self.limits.min_part_size}'
            )
        if self.first_part_size > self.limits.max_part_size:
            raise ValueError(
                f'first part size {self.first_part_size} is above the maximum '
                f'{self.limits.max_part_size}'
            )

    @cached_property
    def tiers(self) -> int:
        """How many part sizes the schedule uses."""
        for tiers in range(1, self.limits.max_parts + 1):
            if self._capacity(tiers) >= self.limits.max_object_size:
                return tiers
            if self._tier_size(tiers - 1) >= self.limits.max_part_size:
                break  # more tiers only add capped parts, in fewer per tier
        raise ValueError(
            f'{self.limits.max_parts} parts starting at {self.first_part_size} bytes '
            f'cannot hold {self.limits.max_object_size} bytes'
        )

    @property
    def tier_parts(self) -> int:
        """How many parts each tier has."""
        return self.limits.max_parts // self.tiers

    @property
    def capacity(self) -> int:
        """The most bytes the schedule's ``max_parts`` parts hold."""
        return self._capacity(self.tiers)

    def part_size(self, number: int) -> int:
        """The size of part ``number`` (1-based); ``ValueError`` past the limit."""
        if not 1 <= number <= self.limits.max_parts:
            raise ValueError(
                f'part {number} is outside 1..{self.limits.max_parts}: the stream is '
                f'larger than {self.capacity} bytes'
            )
        tier = min((number - 1) // self.tier_parts, self.tiers - 1)
        return self._tier_size(tier)

    def _tier_size(self, tier: int) -> int:
        return min(self.first_part_size << tier, self.limits.max_part_size)

    def _capacity(self, tiers: int) -> int:
        per_tier = self.limits.max_parts // tiers
        sizes = sum(self._tier_size(tier) for tier in range(tiers))
        # Parts left over by the integer division belong to the last tier.
        leftover = self.limits.max_parts - per_tier * tiers
        return per_tier * sizes + leftover * self._tier_size(tiers - 1)
