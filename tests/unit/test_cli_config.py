"""~/.aws/config s3 settings: flag > profile setting > default (the AWS CLI's order)."""

import pytest

from s3transfer.cli import build_parser
from s3transfer.cli.common import UsageError
from s3transfer.cli.config import SETTINGS, profile_settings, transfer_config
from s3transfer.manager import TransferConfig

FILE = {
    'max_concurrent_requests': '20',
    'max_queue_size': '10000',
    'multipart_threshold': '64MB',
    'multipart_chunksize': '16MB',
    'max_bandwidth': '50MB/s',
}


def _args(*flags):
    return build_parser().parse_args(['cp', 'a', 's3://b/', *flags])


def test_the_documented_aws_cli_example_is_honoured():
    config = transfer_config(_args(), FILE)
    assert config.max_request_concurrency == 20
    assert config.max_request_queue_size == 10000
    assert config.multipart_threshold == 64 * 1024**2
    assert config.multipart_chunksize == 16 * 1024**2
    assert config.max_bandwidth == 50 * 1024**2


def test_a_flag_beats_the_file_and_the_file_beats_the_default():
    config = transfer_config(_args('--max-concurrency', '3'), FILE)
    assert config.max_request_concurrency == 3
    assert config.multipart_chunksize == 16 * 1024**2
    default = transfer_config(_args(), {})
    assert default.max_request_concurrency == TransferConfig().max_request_concurrency


def test_a_bad_file_value_is_a_usage_error_naming_the_key():
    with pytest.raises(UsageError, match='s3.multipart_chunksize'):
        transfer_config(_args(), {'multipart_chunksize': 'lots'})


def test_every_setting_names_a_transfer_config_attribute():
    default = TransferConfig()
    assert all(hasattr(default, setting.attribute) for setting in SETTINGS)


def test_profile_settings_reads_the_profiles_s3_section(tmp_path, monkeypatch):
    config = tmp_path / 'config'
    config.write_text(
        '[default]\ns3 =\n  multipart_chunksize = 16MB\n'
        '[profile other]\ns3 =\n  max_concurrent_requests = 4\n'
    )
    monkeypatch.setenv('AWS_CONFIG_FILE', str(config))
    monkeypatch.delenv('AWS_PROFILE', raising=False)
    assert profile_settings(_args()) == {'multipart_chunksize': '16MB'}
    other = profile_settings(_args('--profile', 'other'))
    assert other == {'max_concurrent_requests': '4'}
    assert profile_settings(_args('--local')) == {}  # --local: only an explicit one


def test_part_retries_are_on_by_default_in_the_command_line():
    assert TransferConfig().part_retry_attempts == 0  # the library stays faithful
    assert transfer_config(_args(), {}).part_retry_attempts == 5
    assert transfer_config(_args('--part-retries', '0'), {}).part_retry_attempts == 0
    assert transfer_config(_args('--part-retries', '2'), {}).part_retry_attempts == 2


def test_part_retries_must_not_be_negative(capsys):
    with pytest.raises(SystemExit):
        _args('--part-retries', '-1')
    assert 'must be 0 or more' in capsys.readouterr().err


def test_big_downloads_use_auto_ranges_unless_a_part_size_was_chosen():
    assert transfer_config(_args(), {}).download_part_size == 'auto'
    chosen = transfer_config(_args('--multipart-chunksize', '16MB'), {})
    assert chosen.download_part_size is None
    assert transfer_config(_args(), FILE).download_part_size is None
