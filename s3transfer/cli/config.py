"""Transfer settings of a run: flags, then the ``s3`` section of ``~/.aws/config``,
then ``TransferConfig``'s defaults (the AWS CLI's precedence).

The file's keys and units are the AWS CLI's (``max_concurrent_requests``,
``max_queue_size``, ``multipart_threshold``, ``multipart_chunksize``,
``max_bandwidth``; sizes such as ``8MB`` = 8 MiB, rates such as ``50MB/s``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from s3transfer import sizes
from s3transfer._progress import format_size
from s3transfer.cli.common import (
    UsageError,
    non_negative_int,
    parse_size,
    positive_int,
)
from s3transfer.manager import TransferConfig
from s3transfer.resume import default_state_dir


def _parse_rate(text: str) -> int:
    try:
        return sizes.parse_rate(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


@dataclass(frozen=True)
class Setting:
    """One ``TransferConfig`` setting: its flag, its ``~/.aws/config`` s3 key."""

    flag: str
    attribute: str
    parse: Callable[[str], int]
    help: str
    config_key: str | None = None
    # The command line's own default where it differs from TransferConfig's
    # (an opt-in library feature the command line turns on).
    cli_default: int | None = None

    @property
    def is_size(self) -> bool:
        """Whether the value is a byte count (shown and parsed with units)."""
        return self.parse in (parse_size, _parse_rate)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        '--multipart-threshold',
        'multipart_threshold',
        parse_size,
        'files from this size go in parts',
        'multipart_threshold',
    ),
    Setting(
        '--multipart-chunksize',
        'multipart_chunksize',
        parse_size,
        'part size',
        'multipart_chunksize',
    ),
    Setting(
        '--max-concurrency',
        'max_request_concurrency',
        positive_int,
        'requests in flight',
        'max_concurrent_requests',
    ),
    Setting(
        '--max-submission-concurrency',
        'max_submission_concurrency',
        positive_int,
        'submission threads',
    ),
    Setting(
        '--max-queue-size',
        'max_request_queue_size',
        positive_int,
        'queued requests',
        'max_queue_size',
    ),
    Setting('--io-chunksize', 'io_chunksize', parse_size, 'bytes per download write'),
    Setting(
        '--num-download-attempts', 'num_download_attempts', positive_int, 'per GET'
    ),
    Setting(
        '--max-in-memory-upload-chunks',
        'max_in_memory_upload_chunks',
        positive_int,
        'buffered upload parts',
    ),
    Setting(
        '--max-in-memory-download-chunks',
        'max_in_memory_download_chunks',
        positive_int,
        'buffered download chunks',
    ),
    Setting(
        '--max-bandwidth',
        'max_bandwidth',
        _parse_rate,
        'bytes per second, e.g. 50MB/s',
        'max_bandwidth',
    ),
    Setting(
        '--part-retries',
        'part_retry_attempts',
        non_negative_int,
        'more tries of a part that still fails after the per-request retries, '
        'with backoff; 0 = off',
        cli_default=5,
    ),
)
# The same as (flag, attribute, parser, help) tuples.
CONFIG_FLAGS = tuple((s.flag, s.attribute, s.parse, s.help) for s in SETTINGS)


def help_text(setting: Setting) -> str:
    """The flag's help with its default and the ``~/.aws/config`` key that sets it."""
    default = setting.cli_default
    if default is None:
        default = getattr(TransferConfig(), setting.attribute)
    if default is None:
        shown = 'none'
    elif setting.is_size:
        shown = format_size(default).replace(' ', '').replace('.0', '')
    else:
        shown = str(default)
    text = f'{setting.help} (default {shown}'
    if setting.config_key:
        text += f'; ~/.aws/config s3.{setting.config_key}'
    return text + ')'


def profile_settings(args: argparse.Namespace) -> Mapping[str, Any]:
    """The ``s3`` section of the run's profile in the AWS config file (or ``{}``).

    With ``--local`` only an explicit ``--profile`` is read.
    """
    import botocore.session

    if args.local and not args.profile:
        return {}
    session = botocore.session.Session(profile=args.profile)
    name = args.profile or session.profile or 'default'
    profile = session.full_config.get('profiles', {}).get(name, {})
    section = profile.get('s3', {})
    return section if isinstance(section, dict) else {}


def transfer_config(
    args: argparse.Namespace, file_settings: Mapping[str, Any] | None = None
) -> TransferConfig:
    """A ``TransferConfig``: a flag beats the profile's s3 setting beats the default."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        flag_value = getattr(args, setting.attribute, None)
        if flag_value is not None:
            values[setting.attribute] = flag_value
            continue
        raw = (file_settings or {}).get(setting.config_key or '')
        if raw is None or setting.config_key is None:
            if setting.cli_default is not None:
                values[setting.attribute] = setting.cli_default
            continue
        try:
            values[setting.attribute] = setting.parse(str(raw))
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise UsageError(f'~/.aws/config s3.{setting.config_key}: {error}')
    if 'multipart_chunksize' not in values:
        # Big downloads in fewer, larger ranges (docs/performance.md); a part size
        # the user chose is used as given.
        values['download_part_size'] = 'auto'
    folder = resume_dir(args)
    if folder is not None:
        values['resume_dir'] = folder
        values['strict_resume'] = bool(getattr(args, 'strict_resume', False))
    return TransferConfig(**values)


def resume_dir(args: argparse.Namespace) -> str | None:
    """The journal folder of a command with the resume options (``None``: off)."""
    if not hasattr(args, 'no_resume') or args.no_resume:
        return None
    return args.resume_dir or default_state_dir()
