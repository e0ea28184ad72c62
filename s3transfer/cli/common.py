"""What every command shares: exit codes, usage errors, argument types, locations,
and the ``Command`` record that registers a command with the parser.
"""

from __future__ import annotations

import argparse
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s3transfer import sizes
from s3transfer.manager import TransferConfig

if TYPE_CHECKING:
    from s3transfer.cli.output import Output

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line names something impossible (exit code 2)."""


# -- Argument types (argparse ``type=``) --------------------------------------------


def parse_size(text: str) -> int:
    """``sizes.parse_size`` for argparse: a bad size is a usage error."""
    try:
        return sizes.parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def endpoint_url(text: str) -> str:
    """An ``http(s)://host[:port]`` URL; anything else is a usage error."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ('http', 'https') or not parsed.netloc:
        raise argparse.ArgumentTypeError(
            f'not an http:// or https:// URL: {text!r} (e.g. http://127.0.0.1:9000)'
        )
    return text


def add_switches(group: Any, switches: dict[str, str]) -> None:
    """Add on/off flags (``store_true``), one per ``{flag: help}`` entry, in order."""
    for flag, help in switches.items():
        group.add_argument(flag, action='store_true', help=help)


def positive_int(text: str) -> int:
    """Parse a whole number greater than zero."""
    return _whole_number(text, 1, 'must be greater than 0')


def non_negative_int(text: str) -> int:
    """Parse a whole number, 0 or more."""
    return _whole_number(text, 0, 'must be 0 or more')


def _whole_number(text: str, minimum: int, rule: str) -> int:
    """``int(text)``, refused (``rule: 'text'``) below ``minimum``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid number: {text!r}')
    if value < minimum:
        raise argparse.ArgumentTypeError(f'{rule}: {text!r}')
    return value


# -- Locations ----------------------------------------------------------------------


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://bucket/key`` argument."""

    bucket: str
    key: str


def parse_location(text: str) -> S3Location | str:
    """Return an ``S3Location`` for ``s3://…`` arguments, else the local path."""
    if not text:
        raise UsageError(
            'an empty path was given: name a file, a folder or s3://bucket/key'
        )
    if not text.startswith('s3://'):
        return text
    bucket, _, key = text[len('s3://') :].partition('/')
    if not bucket:
        raise UsageError(f'no bucket in {text!r}')
    return S3Location(bucket, key)


def s3_buckets(*texts: str) -> list[str]:
    """The distinct buckets named by the ``s3://`` arguments among ``texts``."""
    locations = [parse_location(text) for text in texts]
    buckets = [loc.bucket for loc in locations if isinstance(loc, S3Location)]
    return list(dict.fromkeys(buckets))


def printable(text: str) -> str:
    """``text`` with control characters escaped, safe to print on one line."""
    return ''.join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


# -- Commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What a running command gets: the S3 client, its transfer settings, the flags,
    and where to report what happens."""

    client: Any
    config: TransferConfig
    args: argparse.Namespace
    out: Output


@dataclass(frozen=True)
class Command:
    """One sub-command: its help, its own arguments, and how to run it.

    ``options`` names the shared option groups (``options.GROUPS``) it accepts;
    ``buckets`` returns the buckets that ``--local`` creates before ``run``;
    ``examples`` are ``(command line, what it does)`` pairs shown by ``--help``;
    ``exit_codes`` explains the codes it returns beyond the common ones;
    ``needs_s3=False`` runs it without an endpoint or client.
    """

    name: str
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Context], int]
    buckets: Callable[[argparse.Namespace], list[str]]
    options: Sequence[str] = ('endpoint', 'transfer', 'output')
    examples: Sequence[tuple[str, str]] = field(default=())
    exit_codes: str = ''
    needs_s3: bool = True  # False: run without a client (ctx.client is None)
