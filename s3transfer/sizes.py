"""Byte sizes written by people (``'8MB'``, ``'8MiB'``, ``'50MB/s'``): the one parser.

Used by the command line, the ``~/.aws/config`` s3 settings and ``benchmarks/``. The
units mean what the AWS CLI documents for its s3 settings: ``KB`` and ``KiB`` are both
1024 bytes, ``MB`` and ``MiB`` both 2**20, and so on up to ``TB``; a bare number is
bytes; the case does not matter. A rate may end in ``/s`` (``max_bandwidth``).
"""

from __future__ import annotations

import re

_POWERS = {'': 0, 'k': 1, 'm': 2, 'g': 3, 't': 4}
_PATTERN = re.compile(r'\s*(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(i?b)?)?\s*', re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse ``'8MB'`` (= ``'8MiB'`` = 8388608), ``'1.5KiB'``, ``'1024'`` into bytes.

    Raises ``ValueError`` naming the text unless it is a whole number of bytes > 0.
    """
    match = _PATTERN.fullmatch(text)
    if not match or (
        match.group(3) and match.group(3).lower() == 'ib' and not match.group(2)
    ):
        raise ValueError(f'invalid size: {text!r} (e.g. 1048576, 512KB, 8MB, 1GiB)')
    value = int(float(match.group(1)) * 1024 ** _POWERS[match.group(2).lower()])
    if value <= 0:
        raise ValueError(f'size must be greater than 0: {text!r}')
    return value


def parse_rate(text: str) -> int:
    """Parse a bandwidth such as ``'50MB/s'`` or ``'1048576'`` into bytes per second."""
    stripped = text.strip()
    if stripped[-2:].lower() == '/s':
        stripped = stripped[:-2]
    try:
        return parse_size(stripped)
    except ValueError:
        raise ValueError(f'invalid rate: {text!r} (e.g. 1048576, 512KB/s, 50MB/s)')
