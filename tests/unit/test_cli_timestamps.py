"""The command line's fast timestamp parser returns what botocore's parser returns."""

import datetime

import botocore.session
import pytest
from botocore.utils import parse_timestamp as botocore_parse

from s3transfer.cli import timestamps

VALUES = [
    '2026-12-08T03:29:17.000Z',
    '2026-12-08T03:29:17Z',
    '2026-12-08T03:29:17.123456Z',
    '2026-12-08T03:29:17.12Z',
    '1999-01-31T23:59:59.999Z',
    'Tue, 08 Dec 2026 03:29:17 GMT',
    'Sun, 01 Jan 2023 00:00:00 GMT',
    '2026-12-08T03:29:17+01:00',  # not S3's form: botocore's parser
    '2026-12-08 03:29:17',
    1700000000,
    '1700000000',
]


@pytest.mark.parametrize('value', VALUES)
def test_same_instant_as_botocore(value):
    ours = timestamps.parse_timestamp(value)
    theirs = botocore_parse(value)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()


def test_s3_forms_take_the_fast_path(monkeypatch):
    def fail(value):
        raise AssertionError(f'botocore parser called for {value!r}')

    monkeypatch.delenv('S3TRANSFER_NO_FAST_PATHS', raising=False)
    assert timestamps._CHECK.passed()
    monkeypatch.setattr(timestamps, 'botocore_parse_timestamp', fail)
    parsed = timestamps.parse_timestamp('2026-12-08T03:29:17.5Z')
    assert parsed == datetime.datetime(
        2026, 12, 8, 3, 29, 17, 500000, tzinfo=datetime.timezone.utc
    )
    parsed = timestamps.parse_timestamp('Tue, 08 Dec 2026 03:29:17 GMT')
    assert parsed == datetime.datetime(
        2026, 12, 8, 3, 29, 17, tzinfo=datetime.timezone.utc
    )


@pytest.mark.parametrize(
    'value',
    [
        '2027-02-29T00:00:00Z',
        'Mon, 29 Feb 2027 03:29:17 GMT',
        'Foo, 01 Bar 2026 00:00:00 GMT',
        'not a time',
    ],
)
def test_invalid_values_fail_as_botocore_says(value):
    with pytest.raises(ValueError) as ours:
        timestamps.parse_timestamp(value)
    with pytest.raises(ValueError) as theirs:
        botocore_parse(value)
    assert str(ours.value) == str(theirs.value)


def test_installed_on_a_session_only():
    session = botocore.session.Session()
    timestamps.use_fast_timestamps(session)
    factory = session.get_component('response_parser_factory')
    parser = factory.create_parser('rest-xml')
    assert parser._timestamp_parser is timestamps.parse_timestamp
    other = botocore.session.Session().get_component('response_parser_factory')
    assert other.create_parser('rest-xml')._timestamp_parser is not (
        timestamps.parse_timestamp
    )


def test_switched_off_with_the_other_fast_paths(monkeypatch):
    calls = []

    def plain(value):
        calls.append(value)
        return botocore_parse(value)

    monkeypatch.setattr(timestamps, 'botocore_parse_timestamp', plain)
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    timestamps.parse_timestamp('2026-12-08T03:29:17.000Z')
    assert calls == ['2026-12-08T03:29:17.000Z']


def test_steps_aside_when_botocore_disagrees(monkeypatch):
    monkeypatch.setattr(timestamps, 'botocore_parse_timestamp', lambda value: None)
    timestamps._CHECK.reset()
    try:
        assert timestamps.parse_timestamp('2026-12-08T03:29:17.000Z') is None
    finally:
        timestamps._CHECK.reset()
