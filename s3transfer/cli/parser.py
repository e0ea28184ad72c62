"""The argument parser, built from the registry of commands.

To add a command: write ``s3transfer/cli/<name>.py`` with a ``COMMAND`` record
(``common.Command``) and append it to ``COMMANDS``. To add a flag to every command
that moves data, add it to a group in ``options.py``.
"""

from __future__ import annotations

import argparse

from s3transfer import __version__
from s3transfer.cli import bench, cp
from s3transfer.cli.common import Command
from s3transfer.cli.options import GROUPS

COMMANDS: tuple[Command, ...] = (cp.COMMAND, bench.COMMAND)


def command(name: str) -> Command:
    """The registered command called ``name``."""
    return {entry.name: entry for entry in COMMANDS}[name]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s3transfer`` command."""
    parser = argparse.ArgumentParser(
        prog='s3transfer',
        description='Copy files to, from and within Amazon S3. Credentials come from '
        'the usual botocore chain; --local needs none.',
    )
    parser.add_argument('--version', action='version', version=__version__)
    subparsers = parser.add_subparsers(dest='command', required=True)
    for entry in COMMANDS:
        sub = subparsers.add_parser(
            entry.name, help=entry.help, description=entry.description
        )
        entry.add_arguments(sub)
        for name in entry.options:
            title, add = GROUPS[name]
            add(sub.add_argument_group(title))
    return parser
