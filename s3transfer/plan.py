"""A transfer's part plan: which bytes go in which part, as one frozen value.

Built once per multipart transfer (upload, ranged download, multipart copy) and
passed on: submission, part retries, resume journals and checksum verification
all read the same plan instead of redoing the chunk math.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from s3transfer.utils import calculate_num_parts


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
