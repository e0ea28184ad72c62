"""``s3transfer mv``: ``cp``, then delete each source whose copy succeeded.

A source is deleted only after its own transfer finished; a failed transfer keeps it.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from s3transfer.cli import cp, output
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Context,
    UsageError,
    s3_buckets,
)
from s3transfer.cli.rm import ObjectDelete, delete_objects
from s3transfer.directory import FileCopy, FileDownload, FileUpload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``cp``."""
    cp.add_arguments(parser)


def source_deletion(item: Any) -> ObjectDelete | str | None:
    """What deleting ``item``'s source means: an object, a local path, or nothing."""
    if isinstance(item, FileUpload):
        return item.path
    if isinstance(item, FileDownload):
        return ObjectDelete(item.bucket, item.key)
    if isinstance(item, FileCopy):
        return ObjectDelete(item.source_bucket, item.source_key)
    return None


def run(ctx: Context) -> int:
    """Transfer like ``cp`` (printing ``move:`` lines), then delete the sources."""
    args = ctx.args
    if getattr(args, 'cluster', None) or getattr(args, 'workers', None):
        raise UsageError('--cluster/--workers apply to cp only')
    if cp.STREAM in (args.source, args.destination):
        raise UsageError('mv cannot move a stream (-): use cp')
    plan = cp.plan_cp(ctx.client, args)
    if args.dryrun:
        return cp.dry_run(ctx.out, plan, 'move')
    result = cp.execute(ctx, plan, 'move')
    deletions = [source_deletion(item) for item in result.succeeded]
    ok = result.ok
    for path in [d for d in deletions if isinstance(d, str)]:
        try:
            os.remove(path)
        except OSError as error:
            ok = False
            ctx.out.failure(f'move: could not remove {path}', error)
    objects = [d for d in deletions if isinstance(d, ObjectDelete)]
    quiet = output.Output(
        mode=ctx.out.mode, show='errors', progress=False, file_lines=False
    )
    ok = delete_objects(ctx, objects, quiet) and ok
    return EXIT_OK if ok else EXIT_FAILED


COMMAND = Command(
    name='mv',
    help='move a file or (--recursive) a folder: copy, then delete the source',
    description='Move like "aws s3 mv": copy each file as cp does, then delete its '
    'source once its copy succeeded. A failed copy keeps its source.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: s3_buckets(args.source, args.destination),
    options=cp.COMMAND.options,
    examples=(
        ('s3transfer mv report.csv s3://bucket/reports/', 'upload, then remove'),
        (
            's3transfer mv s3://bucket/in/ s3://bucket/done/ --recursive',
            'move a prefix within S3',
        ),
    ),
)
