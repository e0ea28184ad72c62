"""The ``s3transfer`` command line: one module per command, registered in ``parser``.

Everything goes through the public library API (``TransferManager``,
``TransferConfig``, subscribers, futures) and ``s3transfer.directory``.
Exit codes: 0 success, 1 a transfer failed or was refused, 2 bad usage, 130 Ctrl-C,
143 SIGTERM, 129 SIGHUP (128 + the signal number).

Modules: ``parser`` (the registry of commands), ``common`` (exit codes, argument
types, the ``Command`` record), ``options`` (shared option groups), ``config``
(transfer settings), ``endpoint`` (the client and ``--local``), ``output`` (what is
printed), and one module per command (``cp``, ``bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from s3transfer.cli import output
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Context,
    UsageError,
    printable,
)
from s3transfer.cli.config import profile_settings, transfer_config
from s3transfer.cli.cp import to_stdout
from s3transfer.cli.endpoint import endpoint, make_client
from s3transfer.cli.errors import describe_error
from s3transfer.cli.integrity import with_integrity
from s3transfer.cli.parser import build_parser, command
from s3transfer.cli.resume import interrupted_message

__all__ = ['main', 'build_parser']


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(_glue_option_like_values(argv))
    try:
        with _signals_interrupt():
            return _run(args)
    except Terminated as stop:
        # As for Ctrl-C: cancelled and cleaned up, or the journals kept.
        name = signal.Signals(stop.signum).name
        message = interrupted_message(args).removeprefix('interrupted: ')
        print(f'\n{name}: {message}', file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        # The TransferManager context has already cancelled (and, without
        # journals, cleaned up); with journals the unfinished parts were kept.
        print(f'\n{interrupted_message(args)}', file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as error:
        print(f's3transfer: error: {printable(str(error))}', file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        message = printable(describe_error(error))
        print(f's3transfer: error: {message}', file=sys.stderr)
        return EXIT_FAILED


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a run like Ctrl-C (journals kept; exit 128 + signal).

    Only from the main thread (signal handlers cannot be set elsewhere); the
    previous handlers come back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in ('SIGTERM', 'SIGHUP'):
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, _raise_interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C: cancel, abort, clean up, exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise Terminated(signum)


# A value that looks like an option ("-5MB") after a long option: glue it to that
# option so argparse hands it to the option's parser, which says what is wrong with
# it (argparse itself said only "expected one argument").
_OPTION_LIKE_VALUE = re.compile(r'-\d')


def _glue_option_like_values(argv: Sequence[str]) -> list[str]:
    glued: list[str] = []
    for arg in argv:
        previous = glued[-1] if glued else ''
        if (
            _OPTION_LIKE_VALUE.match(arg)
            and previous.startswith('--')
            and '=' not in previous
        ):
            glued[-1] = f'{previous}={arg}'
        else:
            glued.append(arg)
    return glued


def _run(args: argparse.Namespace) -> int:
    entry = command(args.command)
    out = output.from_args(args, data_on_stdout=to_stdout(args))
    if not entry.needs_s3:
        return entry.run(Context(None, transfer_config(args), args, out))
    if args.local and args.endpoint_url:
        raise UsageError('--local and --endpoint-url exclude each other')
    config = with_integrity(transfer_config(args, profile_settings(args)), args)
    with endpoint(args) as endpoint_url:
        client = make_client(args, endpoint_url, config)
        if args.local:
            for bucket in entry.buckets(args):
                client.create_bucket(Bucket=bucket)
        return entry.run(Context(client, config, args, out))
