"""The one size parser: the AWS CLI's documented meaning of its s3 settings."""

import pytest

from s3transfer.sizes import parse_rate, parse_size


@pytest.mark.parametrize(
    'text, expected',
    [
        # The AWS CLI's S3 configuration page: "8MB" is the default threshold
        # (8388608 bytes), "16MB" a chunk size, "64MB" a threshold.
        ('8MB', 8 * 1024**2),
        ('8388608', 8388608),
        ('16MB', 16 * 1024**2),
        ('64MB', 64 * 1024**2),
        # KB/KiB, MB/MiB, GB/GiB, TB/TiB mean the same; any case.
        ('512KB', 512 * 1024),
        ('512KiB', 512 * 1024),
        ('8MiB', 8 * 1024**2),
        ('8mb', 8 * 1024**2),
        ('1GB', 1024**3),
        ('1GiB', 1024**3),
        ('1TB', 1024**4),
        ('64K', 64 * 1024),
        ('256M', 256 * 1024**2),
        ('1.5KiB', 1536),
        (' 3 kb ', 3072),
    ],
)
def test_parse_size_follows_the_aws_cli(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    'text', ['', 'MiB', '0', '-1', '5 parsecs', '0.0001B', '8iB', '50MB/s']
)
def test_parse_size_rejects_nonsense_with_an_example(text):
    with pytest.raises(ValueError, match=repr(text).replace('.', r'\.')):
        parse_size(text)


@pytest.mark.parametrize(
    'text, expected',
    [('50MB/s', 50 * 1024**2), ('1048576', 1048576), ('512KB/s', 512 * 1024)],
)
def test_parse_rate_accepts_the_documented_max_bandwidth(text, expected):
    # The AWS CLI documents max_bandwidth = 50MB/s.
    assert parse_rate(text) == expected


def test_parse_rate_rejects_nonsense():
    with pytest.raises(ValueError, match='invalid rate'):
        parse_rate('fast/s')
