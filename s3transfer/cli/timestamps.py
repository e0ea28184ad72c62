"""Fast parsing of the two timestamp forms S3 sends, for the command line's client.

botocore parses every timestamp (``LastModified`` of each listed key and of each
GetObject's headers) with dateutil's general parser, about 0.1 ms each: a tenth of
a small file's whole cost. S3 sends only ISO 8601 in XML (``2026-12-08T03:29:17.000Z``)
and RFC 1123 in headers (``Tue, 08 Dec 2026 03:29:17 GMT``); those two are parsed here
into the same instant botocore returns (an aware ``datetime`` in UTC), anything
else by botocore's own parser.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from botocore.utils import parse_timestamp as botocore_parse_timestamp

from s3transfer.fastpaths import SelfCheck

_ISO = re.compile(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z\Z')
_RFC1123 = re.compile(
    r'(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z]{2}) (\d{4}) '
    r'(\d\d):(\d\d):(\d\d) GMT\Z'
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun')
        + ('Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'),
        1,
    )
}
_UTC = datetime.timezone.utc


def parse_timestamp(value: Any) -> datetime.datetime:
    """``value`` as botocore's parser returns it (an aware ``datetime`` in UTC)."""
    if isinstance(value, str) and _CHECK.passed():
        parsed = _parse_known(value)
        if parsed is not None:
            return parsed
    return botocore_parse_timestamp(value)


def _parse_known(value: str) -> datetime.datetime | None:
    try:
        match = _ISO.match(value)
        if match:
            year, month, day, hour, minute, second, fraction = match.groups()
            micro = int((fraction or '0').ljust(6, '0'))
            return datetime.datetime(
                int(year), int(month), int(day), int(hour), int(minute),
                int(second), micro, tzinfo=_UTC,
            )  # fmt: skip
        match = _RFC1123.match(value)
        if match and match.group(2) in _MONTHS:
            day, month_name, year, hour, minute, second = match.groups()
            return datetime.datetime(
                int(year), _MONTHS[month_name], int(day), int(hour), int(minute),
                int(second), tzinfo=_UTC,
            )  # fmt: skip
    except ValueError:  # e.g. day 31 of a 30-day month: let botocore say so
        return None
    return None


_SAMPLES = (
    '2026-12-08T03:29:17.000Z',
    '2024-02-29T23:59:59.5Z',
    'Tue, 08 Dec 2026 03:29:17 GMT',
    'Thu, 29 Feb 2024 00:00:01 GMT',
)


def _agrees_with_botocore() -> bool:
    """The fast path's self-check: the same instants as botocore for S3's forms."""
    return all(_parse_known(v) == botocore_parse_timestamp(v) for v in _SAMPLES)


#: A fast path (docs/performance.md): off with S3TRANSFER_NO_FAST_PATHS=1.
_CHECK = SelfCheck('fast S3 timestamps', _agrees_with_botocore)


def use_fast_timestamps(session: Any) -> None:
    """Make every client of ``session`` parse S3's timestamps with this module."""
    factory = session.get_component('response_parser_factory')
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
