"""``s3transfer resume list|discard``: the journals of unfinished transfers.

``cp`` keeps a journal per unfinished multipart upload or ranged download (see
docs/resume.md); running the same ``cp`` again continues it. This command shows
them and discards stale ones (aborting their multipart uploads, removing temp files).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from s3transfer._progress import format_size
from s3transfer.cli.common import EXIT_FAILED, EXIT_OK, Command, Context, UsageError
from s3transfer.cli.config import resume_dir
from s3transfer.cli.output import error
from s3transfer.resume import (
    JournalEntry,
    JournalStore,
    ResumeError,
    default_state_dir,
    discard,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``resume list`` / ``resume discard ID... | --all`` [--resume-dir DIR]."""
    parser.add_argument('action', choices=('list', 'discard'))
    parser.add_argument(
        'ids', nargs='*', metavar='ID', help='journal ids (from "resume list")'
    )
    parser.add_argument('--all', action='store_true', help='discard every journal')
    parser.add_argument(
        '--resume-dir',
        metavar='DIR',
        default=None,
        help='folder of the journals (default: $XDG_STATE_HOME/s3transfer/resume)',
    )


def journal_id(entry: JournalEntry) -> str:
    """The short name ``list`` prints and ``discard`` accepts."""
    return os.path.basename(entry.path)[: -len(JournalStore.SUFFIX)]


def describe(entry: JournalEntry) -> str:
    """One line per journal: id, what, how far, and whether it is in use."""
    if entry.token is None:
        line = f'{journal_id(entry)}  unreadable: {entry.error}'
    else:
        token = entry.token
        done = format_size(token.confirmed_bytes)
        total = format_size(token.plan.total_size)
        line = f'{journal_id(entry)}  {token.describe()}, {done} of {total}'
    if entry.locked_by:
        line += f'  [in use by {entry.locked_by}]'
    return line


def run(ctx: Context) -> int:
    """List, or discard the chosen journals (their uploads aborted, temp files gone)."""
    args = ctx.args
    store = JournalStore(args.resume_dir or default_state_dir())
    entries = list(store.entries())
    if args.action == 'list':
        if args.ids or args.all:
            raise UsageError('resume list takes no ids and no --all')
        for entry in entries:
            print(describe(entry), flush=True)
        if not entries:
            print(f'no unfinished transfers in {store.folder}', flush=True)
        return EXIT_OK
    return _discard(ctx.client, entries, args)


def _discard(client: Any, entries: list[JournalEntry], args: Any) -> int:
    if not args.all and not args.ids:
        raise UsageError('resume discard needs journal ids or --all')
    chosen = entries if args.all else [e for e in entries if journal_id(e) in args.ids]
    unknown = set(args.ids) - {journal_id(e) for e in entries}
    if unknown:
        raise UsageError(f'no such journal: {", ".join(sorted(unknown))}')
    status = EXIT_OK
    for entry in chosen:
        try:
            discard(client, entry.token, entry.path)
        except (ResumeError, OSError, Exception) as failure:
            error(f'failed: {journal_id(entry)}: {failure}')
            status = EXIT_FAILED
            continue
        print(f'discarded {describe(entry)}', flush=True)
    return status


def interrupted_message(args: argparse.Namespace) -> str:
    """What Ctrl-C prints: how to resume or discard, when journals were kept."""
    folder = resume_dir(args)
    if folder is None or not any(True for _ in JournalStore(folder).entries()):
        return 'interrupted: transfers cancelled'
    extra = '' if args.resume_dir is None else f' --resume-dir {args.resume_dir}'
    return (
        f'interrupted: unfinished transfers kept their progress in {folder}\n'
        f'  to resume: run the same command again\n'
        f'  to discard: s3transfer resume discard --all{extra}'
        f' (or "s3transfer resume list{extra}" to see them)'
    )


COMMAND = Command(
    name='resume',
    help='list or discard the journals of unfinished transfers',
    description='Show the unfinished transfers that "cp" can continue (run the same '
    'cp again to continue one), or discard them: their multipart uploads are '
    'aborted and their partly downloaded temp files removed.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: [],
    options=('endpoint',),
)
