"""Option groups shared by several commands (endpoint, transfer settings, output).

A command lists the group names it accepts in ``Command.options``; a flag added to a
group here appears on every such command, in its own section of ``--help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from s3transfer.cli.attributes import add_attribute_options
from s3transfer.cli.common import add_switches, endpoint_url
from s3transfer.cli.config import SETTINGS, help_text
from s3transfer.cli.integrity import add_integrity_options
from s3transfer.directory import EXCLUDE, INCLUDE


def add_endpoint_options(group: Any) -> None:
    """Where S3 is and who we are: endpoint, region, profile, ``--local``."""
    group.add_argument(
        '--endpoint-url', metavar='URL', type=endpoint_url, help='S3 endpoint URL'
    )
    group.add_argument('--region', help='AWS region')
    group.add_argument('--profile', help='profile from the AWS config files')
    group.add_argument(
        '--local',
        action='store_true',
        help='run against an embedded S3 server on 127.0.0.1 (needs the local extra)',
    )


def add_transfer_options(group: Any) -> None:
    """``TransferConfig`` settings (part sizes, concurrency, bandwidth)."""
    for setting in SETTINGS:
        group.add_argument(
            setting.flag,
            dest=setting.attribute,
            type=setting.parse,
            metavar='SIZE' if setting.is_size else 'N',
            help=help_text(setting),
        )


def add_output_options(group: Any) -> None:
    """What is printed while a command runs."""
    add_switches(
        group,
        {
            '--quiet': 'print errors and warnings only',
            '--only-show-errors': (
                'print errors and warnings only (the AWS CLI\'s name for --quiet)'
            ),
            '--no-progress': 'no progress bar or progress lines (file lines stay)',
        },
    )
    group.add_argument(
        '--output',
        choices=('text', 'json'),
        default='text',
        help='text lines, or one JSON object per event (default: text)',
    )


def add_dryrun_option(parser: Any) -> None:
    """``--dryrun``: print what would be done, do nothing."""
    add_switches(parser, {'--dryrun': 'show what would be done, do nothing'})


def add_resume_options(group: Any) -> None:
    """Journals of unfinished transfers (on by default; see docs/resume.md)."""
    add_switches(
        group,
        {
            '--no-resume': (
                'keep no journal: an interrupted transfer starts over next time'
            )
        },
    )
    group.add_argument(
        '--resume-dir',
        metavar='DIR',
        default=None,
        help='folder of the journals (default: $XDG_STATE_HOME/s3transfer/resume)',
    )
    add_switches(
        group,
        {
            '--strict-resume': (
                'fail instead of starting over when a journal no longer matches'
            )
        },
    )


def add_filter_options(parser: Any) -> None:
    """``--include``/``--exclude`` globs, kept in command-line order."""
    for kind in (INCLUDE, EXCLUDE):
        parser.add_argument(
            f'--{kind}',
            dest='filters',
            action=FilterAction,
            metavar='GLOB',
            default=[],
            help=f'{kind} matching paths (in order; the last match wins)',
        )


class FilterAction(argparse.Action):
    """Appends ``(kind, pattern)`` so --include/--exclude keep their order."""

    def __call__(
        self, parser: Any, namespace: Any, values: Any, option: Any = None
    ) -> None:
        kind = INCLUDE if option == '--include' else EXCLUDE
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), (kind, values)])


# name -> (section title in --help, function adding the flags)
GROUPS: dict[str, tuple[str, Callable[[Any], None]]] = {
    'endpoint': ('endpoint and credentials', add_endpoint_options),
    'transfer': ('transfer settings', add_transfer_options),
    'output': ('output', add_output_options),
    'attributes': ('object attributes (AWS CLI names)', add_attribute_options),
    'resume': ('resuming interrupted transfers', add_resume_options),
    'integrity': ('integrity and safe writes', add_integrity_options),
}
