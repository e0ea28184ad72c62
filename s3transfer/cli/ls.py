"""``s3transfer ls``: list buckets, or the objects and folders under a prefix."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from s3transfer._progress import format_size
from s3transfer.cli.common import (
    EXIT_OK,
    Command,
    Context,
    S3Location,
    UsageError,
    add_switches,
    parse_location,
    s3_buckets,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ls [s3://bucket/prefix] [--recursive] [--human-readable] [--summarize]``."""
    parser.add_argument(
        'path', nargs='?', default='s3://', help='s3://bucket/prefix (none: buckets)'
    )
    add_switches(
        parser,
        {
            '--recursive': 'every key, not one folder level',
            '--human-readable': 'sizes in KiB, MiB, GiB',
            '--summarize': 'end with the count and total size',
        },
    )
    parser.add_argument(
        '--request-payer', nargs='?', const='requester', help='requester pays'
    )


def _time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime('%Y-%m-%d %H:%M:%S')
    return str(value)


def _size(size: int, human: bool) -> str:
    return format_size(size) if human else str(size)


def list_buckets(ctx: Context) -> int:
    """One line per bucket: creation time and name."""
    for bucket in ctx.client.list_buckets().get('Buckets', []):
        created = bucket.get('CreationDate')
        ctx.out.event(
            'bucket',
            f'{_time(created)} {bucket["Name"]}',
            name=bucket['Name'],
            created=created.isoformat() if isinstance(created, datetime) else None,
        )
    return EXIT_OK


def run(ctx: Context) -> int:
    """List like ``aws s3 ls``: ``PRE folder/`` lines, then objects (time, size)."""
    args = ctx.args
    if args.path in ('s3://', ''):
        return list_buckets(ctx)
    location = parse_location(args.path)
    if not isinstance(location, S3Location):
        raise UsageError('ls needs an s3:// location')
    params: dict[str, Any] = {'Bucket': location.bucket, 'Prefix': location.key}
    if not args.recursive:
        params['Delimiter'] = '/'
    if args.request_payer:
        params['RequestPayer'] = args.request_payer
    # Without --recursive a prefix not ending in '/' still lists that folder level.
    base = location.key.rsplit('/', 1)[0] + '/' if '/' in location.key else ''
    count = total = 0
    for page in ctx.client.get_paginator('list_objects_v2').paginate(**params):
        for prefix in page.get('CommonPrefixes', []):
            shown = prefix['Prefix'][len(base) :]
            ctx.out.event('prefix', f'{"PRE":>30} {shown}', prefix=prefix['Prefix'])
        for entry in page.get('Contents', []):
            count += 1
            total += entry['Size']
            key = entry['Key']
            shown = key if args.recursive else key[len(base) :]
            ctx.out.event(
                'object',
                f'{_time(entry["LastModified"])} '
                f'{_size(entry["Size"], args.human_readable):>10} {shown}',
                key=key,
                size=entry['Size'],
                last_modified=entry['LastModified'].isoformat(),
                etag=entry.get('ETag'),
                storage_class=entry.get('StorageClass'),
            )
    if args.summarize:
        ctx.out.event(
            'summary',
            f'\nTotal Objects: {count}\n   Total Size: '
            f'{_size(total, args.human_readable)}',
            objects=count,
            bytes=total,
        )
    return EXIT_OK


COMMAND = Command(
    name='ls',
    help='list buckets, or objects and folders under a prefix',
    description='List your buckets, or the objects and folders (PRE) under an '
    's3:// prefix, like "aws s3 ls".',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: [] if args.path in ('s3://', '') else s3_buckets(args.path),
    options=('endpoint', 'output'),
    examples=(
        ('s3transfer ls', 'your buckets'),
        ('s3transfer ls s3://bucket/logs/', 'one folder level'),
        (
            's3transfer ls s3://bucket --recursive --human-readable --summarize',
            'every key, sizes in KiB/MiB, totals at the end',
        ),
    ),
)
