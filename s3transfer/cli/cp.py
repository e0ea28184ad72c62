"""``s3transfer cp``: copy a file or, with ``--recursive``, a folder or prefix."""

from __future__ import annotations

import argparse
import os
from typing import Any

from s3transfer.cli import output
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Context,
    S3Location,
    UsageError,
    parse_location,
    s3_buckets,
)
from s3transfer.cli.options import add_filter_options
from s3transfer.directory import (
    CONTINUE,
    STOP,
    FileCopy,
    FileDownload,
    FileUpload,
    Plan,
    normalize_prefix,
    plan_copy,
    plan_download,
    plan_upload,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``cp SOURCE DESTINATION [--recursive] [filters] [--fail-fast]``."""
    parser.add_argument('source', help='local path or s3://bucket/key')
    parser.add_argument('destination', help='local path or s3://bucket/key')
    parser.add_argument('--recursive', action='store_true', help='copy a folder/prefix')
    add_filter_options(parser)
    parser.add_argument(
        '--fail-fast', action='store_true', help='stop at the first failed file'
    )


def plan_cp(client: Any, args: argparse.Namespace) -> Plan:
    """Turn ``cp SRC DST`` (and --recursive, filters) into a plan of file transfers."""
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if not isinstance(source, S3Location) and not isinstance(destination, S3Location):
        raise UsageError('cp needs at least one s3:// location')
    if args.recursive:
        return _plan_recursive(client, source, destination, args.filters)
    if args.filters:
        raise UsageError('--include/--exclude need --recursive')
    return Plan((_plan_single(client, source, destination),))


def _plan_recursive(client: Any, source: Any, destination: Any, filters: list) -> Plan:
    if isinstance(source, S3Location) and isinstance(destination, S3Location):
        return plan_copy(
            client,
            source.bucket,
            source.key,
            destination.bucket,
            destination.key,
            filters,
        )
    if isinstance(source, S3Location):
        return plan_download(client, source.bucket, source.key, destination, filters)
    if not os.path.isdir(source):
        raise UsageError(f'not a folder: {source}')
    return plan_upload(source, destination.bucket, destination.key, filters)


def _plan_single(client: Any, source: Any, destination: Any) -> Any:
    if not isinstance(source, S3Location):
        if not os.path.isfile(source):
            raise UsageError(f'not a file: {source}')
        key = target_key(destination.key, os.path.basename(source))
        return FileUpload(source, destination.bucket, key, os.path.getsize(source))
    if not source.key or source.key.endswith('/'):
        url = f's3://{source.bucket}/{source.key}'
        raise UsageError(f'{url} names a folder: add --recursive')
    head = client.head_object(Bucket=source.bucket, Key=source.key)
    name = source.key.rsplit('/', 1)[-1]
    if isinstance(destination, S3Location):
        key = target_key(destination.key, name)
        return FileCopy(
            source.bucket, source.key, destination.bucket, key, head['ContentLength']
        )
    path = destination
    if os.path.isdir(path) or path.endswith(('/', os.sep)):
        path = os.path.join(path, name)
    return FileDownload(
        source.bucket, source.key, path, head['ContentLength'], head.get('ETag')
    )


def target_key(key: str, name: str) -> str:
    """A destination key ending in ``/`` (or empty) means "into this folder"."""
    return normalize_prefix(key) + name if not key or key.endswith('/') else key


def run(ctx: Context) -> int:
    """Plan, transfer, report; exit 1 if any file failed or was refused."""
    args = ctx.args
    plan = plan_cp(ctx.client, args)
    policy = STOP if args.fail_fast else CONTINUE
    result, elapsed = output.run_plan(ctx.client, ctx.config, plan, policy, args.quiet)
    output.report(result, elapsed, args.quiet)
    return EXIT_OK if result.ok else EXIT_FAILED


COMMAND = Command(
    name='cp',
    help='copy a file or, with --recursive, a folder',
    description='Copy a file or, with --recursive, a folder or prefix, between the '
    'local disk and S3 or within S3.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: s3_buckets(args.source, args.destination),
)
