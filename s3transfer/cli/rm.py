"""``s3transfer rm``: delete an object or, with ``--recursive``, every selected key
under a prefix. Each deletion is one ``TransferManager.delete``."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from s3transfer.cli import output
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Context,
    S3Location,
    UsageError,
    add_switches,
    parse_location,
    s3_buckets,
)
from s3transfer.cli.options import add_dryrun_option, add_filter_options
from s3transfer.directory import (
    CONTINUE,
    Plan,
    is_selected,
    list_objects,
    relative_key,
    s3_url,
)
from s3transfer.manager import TransferManager


@dataclasses.dataclass(frozen=True)
class ObjectDelete:
    """Deletion of ``bucket``/``key`` (a planned item like the file transfers)."""

    operation = 'delete'

    bucket: str
    key: str
    size: int = 0
    extra_args: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return s3_url(self.bucket, self.key)

    @property
    def destination(self) -> str:
        return ''

    def submit(self, manager: TransferManager, subscribers: list[Any]) -> Any:
        """Start the DeleteObject."""
        return manager.delete(
            self.bucket,
            self.key,
            extra_args=dict(self.extra_args) or None,
            subscribers=subscribers,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``rm s3://bucket/key [--recursive] [filters] [--dryrun]``."""
    parser.add_argument('path', help='s3://bucket/key, or a prefix with --recursive')
    add_switches(parser, {'--recursive': 'every selected key under the prefix'})
    add_filter_options(parser)
    add_dryrun_option(parser)
    parser.add_argument(
        '--request-payer', nargs='?', const='requester', help='requester pays'
    )


def plan_rm(client: Any, args: argparse.Namespace) -> Plan:
    """The deletions ``rm`` asks for (listing the prefix with --recursive)."""
    location = parse_location(args.path)
    if not isinstance(location, S3Location):
        raise UsageError('rm needs an s3:// location')
    extra = {'RequestPayer': args.request_payer} if args.request_payer else {}
    if not args.recursive:
        if args.filters:
            raise UsageError('--include/--exclude need --recursive')
        if not location.key or location.key.endswith('/'):
            raise UsageError(f'{args.path} names a folder: add --recursive')
        return Plan((ObjectDelete(location.bucket, location.key, 0, extra),))
    items = []
    for entry in list_objects(client, location.bucket, location.key):
        relative = relative_key(entry['Key'], location.key)
        if not is_selected(relative, args.filters):
            continue
        items.append(ObjectDelete(location.bucket, entry['Key'], 0, extra))
    return Plan(tuple(items))


def run(ctx: Context) -> int:
    """Delete, one line per object as it goes; exit 1 if any deletion failed."""
    plan = plan_rm(ctx.client, ctx.args)
    if ctx.args.dryrun:
        return _dry_run(ctx, plan)
    result, elapsed = output.run_plan(ctx.client, ctx.config, plan, CONTINUE, ctx.out)
    ctx.out.summary(result, elapsed)
    return EXIT_OK if result.ok else EXIT_FAILED


def delete_objects(
    ctx: Context, objects: Sequence[ObjectDelete], out: output.Output
) -> bool:
    """Delete ``objects`` (each attempted, reported on ``out``); whether all went."""
    if not objects:
        return True
    removed, _ = output.run_plan(
        ctx.client, ctx.config, Plan(tuple(objects)), CONTINUE, out
    )
    return removed.ok


def _dry_run(ctx: Context, plan: Plan) -> int:
    for item in plan.items:
        ctx.out.event(
            'dryrun', f'(dryrun) delete: {item.source}', operation='delete',
            source=item.source,
        )  # fmt: skip
    return EXIT_OK


COMMAND = Command(
    name='rm',
    help='delete an object or (--recursive) a prefix',
    description='Delete an object or, with --recursive, every selected key under a '
    'prefix; one line per deleted object.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: s3_buckets(args.path),
    options=('endpoint', 'transfer', 'output'),
    examples=(
        ('s3transfer rm s3://bucket/old.log', 'one object'),
        (
            's3transfer rm s3://bucket/tmp/ --recursive --exclude "*.keep"',
            'a prefix, keeping some keys',
        ),
        ('s3transfer rm s3://bucket/tmp/ --recursive --dryrun', 'only show'),
    ),
)
