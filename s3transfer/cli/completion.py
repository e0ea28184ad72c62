"""``s3transfer completion SHELL``: print a shell completion script (via ``shtab``).

Install: ``s3transfer completion bash > ~/.local/share/bash-completion/completions/
s3transfer`` (bash), or ``s3transfer completion zsh > ~/.zfunc/_s3transfer`` (zsh).
"""

from __future__ import annotations

import argparse

from s3transfer.cli.common import EXIT_OK, Command, Context, UsageError

SHELLS = ('bash', 'zsh', 'tcsh')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``completion {bash,zsh,tcsh}``."""
    parser.add_argument('shell', choices=SHELLS, help='the shell to complete in')


def script(shell: str) -> str:
    """The completion script of the whole command line for ``shell``."""
    try:
        import shtab
    except ImportError:
        raise UsageError(
            "completion needs the 'cli' extra: pip install 's3transfer[cli]'"
        )
    from s3transfer.cli.parser import build_parser

    return str(shtab.complete(build_parser(), shell=shell))


def run(ctx: Context) -> int:
    """Print the script on stdout."""
    print(script(ctx.args.shell))
    return EXIT_OK


COMMAND = Command(
    name='completion',
    help='print a shell completion script (bash, zsh, tcsh)',
    description='Print a completion script for the whole command line, generated '
    'from its parser with shtab (the cli extra).',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: [],
    options=(),
    examples=(
        (
            's3transfer completion bash > '
            '~/.local/share/bash-completion/completions/s3transfer',
            'bash',
        ),
        ('s3transfer completion zsh > ~/.zfunc/_s3transfer', 'zsh (fpath+=~/.zfunc)'),
    ),
    needs_s3=False,
)
