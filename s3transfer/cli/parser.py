"""The argument parser, built from the registry of commands.

To add a command: write ``s3transfer/cli/<name>.py`` with a ``COMMAND`` record
(``common.Command``) and append it to ``COMMANDS``. To add a flag to every command
that moves data, add it to a group in ``options.py``; a flag of one command goes in
that command's ``add_arguments``.
"""

from __future__ import annotations

import argparse
import textwrap

from s3transfer import __version__
from s3transfer.cli import bench, completion, cp, ls, mv, resume, rm, sync
from s3transfer.cli.common import Command
from s3transfer.cli.options import GROUPS

COMMANDS: tuple[Command, ...] = (
    cp.COMMAND,
    mv.COMMAND,
    rm.COMMAND,
    sync.COMMAND,
    ls.COMMAND,
    resume.COMMAND,
    bench.COMMAND,
    completion.COMMAND,
)

EXIT_CODES = (
    '0: everything succeeded; 1: a transfer failed or a file was refused; '
    '2: bad usage (nothing was sent); 130: interrupted (Ctrl-C), transfers cancelled '
    'and cleaned up'
)


def command(name: str) -> Command:
    """The registered command called ``name``."""
    return {entry.name: entry for entry in COMMANDS}[name]


def epilog(entry: Command) -> str:
    """The examples and exit codes shown under a command's ``--help``."""
    lines = ['examples:']
    for example, meaning in entry.examples:
        lines += [f'  {example}', f'      {meaning}']
    codes = EXIT_CODES + (f'; {entry.exit_codes}' if entry.exit_codes else '')
    lines += [
        '',
        'exit codes:',
        *textwrap.wrap(codes, 76, initial_indent='  ', subsequent_indent='  '),
    ]
    return '\n'.join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s3transfer`` command (no abbreviations)."""
    parser = argparse.ArgumentParser(
        prog='s3transfer',
        description='Copy files to, from and within Amazon S3. Credentials come from '
        'the usual botocore chain; --local needs none. Settings in the s3 section '
        'of ~/.aws/config apply unless a flag overrides them.',
        epilog='Run "s3transfer COMMAND --help" for a command\'s flags and examples.',
        allow_abbrev=False,
    )
    parser.add_argument('--version', action='version', version=__version__)
    subparsers = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    for entry in COMMANDS:
        sub = subparsers.add_parser(
            entry.name,
            help=entry.help,
            description=entry.description,
            epilog=epilog(entry),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        entry.add_arguments(sub)
        for name in entry.options:
            title, add = GROUPS[name]
            add(sub.add_argument_group(title))
    return parser
