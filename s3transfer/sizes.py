"""Byte sizes written by people (``'8MiB'``, ``'5MB'``, ``'1024'``): the one parser.

Used by the command line, the ``~/.aws/config`` s3 settings and ``benchmarks/``.
"""

from __future__ import annotations

import re

_UNITS = {
    '': 1,
    'b': 1,
    'k': 1000,
    'kb': 1000,
    'kib': 1024,
    'm': 1000**2,
    'mb': 1000**2,
    'mib': 1024**2,
    'g': 1000**3,
    'gb': 1000**3,
    'gib': 1024**3,
}
_PATTERN = re.compile(r'\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*')


def parse_size(text: str) -> int:
    """Parse ``'8MiB'``, ``'5MB'``, ``'1024'`` … into a positive byte count.

    Raises ``ValueError`` naming the text when it is not a size greater than 0.
    """
    match = _PATTERN.fullmatch(text)
    unit = match.group(2).lower() if match else ''
    if not match or unit not in _UNITS:
        raise ValueError(f'invalid size: {text!r}')
    value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise ValueError(f'size must be greater than 0: {text!r}')
    return value
