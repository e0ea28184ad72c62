"""``s3transfer cp``: copy a file, a stream (``-``) or, with ``--recursive``, a folder
or prefix, with the AWS CLI's object-attribute flags. ``mv`` reuses its planning.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import stat
import sys
from collections.abc import Mapping
from typing import Any, BinaryIO

from s3transfer.cli import attributes, integrity, output
from s3transfer.cli.attributes import COPY, DOWNLOAD, UPLOAD
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Context,
    S3Location,
    UsageError,
    parse_location,
    parse_size,
    s3_buckets,
)
from s3transfer.cli.errors import ObjectError
from s3transfer.cli.options import add_dryrun_option, add_filter_options
from s3transfer.cli.processes import (
    add_processes_option,
    can_split,
    run_plan_in_processes,
)
from s3transfer.cli.scale import add_scale_options, run_on_cluster, wants_cluster
from s3transfer.directory import (
    CONTINUE,
    STOP,
    DirectoryResult,
    FileCopy,
    FileDownload,
    FileUpload,
    Plan,
    download_item,
    normalize_prefix,
    plan_copy,
    plan_download,
    plan_upload,
    s3_url,
    upload_item,
)
from s3transfer.manager import TransferConfig, TransferManager
from s3transfer.utils import ChunksizeAdjuster, file_kind

STREAM = '-'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``cp SOURCE DESTINATION [--recursive] [filters] [--fail-fast] …``."""
    parser.add_argument('source', help="local path, s3://bucket/key, or - (stdin)")
    parser.add_argument(
        'destination', help='local path, s3://bucket/key, or - (stdout)'
    )
    parser.add_argument('--recursive', action='store_true', help='copy a folder/prefix')
    add_filter_options(parser)
    add_dryrun_option(parser)
    parser.add_argument(
        '--fail-fast', action='store_true', help='stop at the first failed file'
    )
    parser.add_argument(
        '--expected-size',
        type=parse_size,
        metavar='SIZE',
        help='size of a stream from stdin, to choose its part size (> 50 GiB streams)',
    )
    add_processes_option(parser)
    add_scale_options(parser)


# -- Streams ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StreamUpload:
    """Upload of a non-seekable stream (stdin) to ``bucket``/``key``."""

    operation = 'upload'

    stream: BinaryIO
    bucket: str
    key: str
    size: int = 0
    extra_args: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return STREAM

    @property
    def destination(self) -> str:
        return s3_url(self.bucket, self.key)

    def submit(self, manager: TransferManager, subscribers: list[Any]) -> Any:
        """Start the streaming upload."""
        return upload_item(manager, self.stream, self, subscribers)


@dataclasses.dataclass(frozen=True)
class StreamDownload:
    """Download of ``bucket``/``key`` written in order to a stream (stdout)."""

    operation = 'download'

    bucket: str
    key: str
    stream: BinaryIO
    size: int
    extra_args: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return s3_url(self.bucket, self.key)

    @property
    def destination(self) -> str:
        return STREAM

    def submit(self, manager: TransferManager, subscribers: list[Any]) -> Any:
        """Start the download into the stream."""
        return download_item(manager, self, self.stream, subscribers)


# -- Planning -----------------------------------------------------------------------


def plan_cp(client: Any, args: argparse.Namespace) -> Plan:
    """Turn ``cp SRC DST`` (and --recursive, filters, attributes) into a plan."""
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if not isinstance(source, S3Location) and not isinstance(destination, S3Location):
        raise UsageError('cp needs at least one s3:// location')
    requested = {**attributes.requested(args), **integrity.conditional_args(args)}
    if STREAM in (source, destination):
        return Plan((_plan_stream(client, source, destination, args, requested),))
    if args.recursive:
        follow = getattr(args, 'follow_symlinks', True)
        plan = _plan_recursive(client, source, destination, args.filters, follow)
    elif args.filters:
        raise UsageError('--include/--exclude need --recursive')
    else:
        plan = Plan((_plan_single(client, source, destination, requested),))
    return with_attributes(plan, requested, getattr(args, 'guess_mime_type', True))


def with_attributes(
    plan: Plan, requested: dict[str, Any], guess_mime_type: bool = True
) -> Plan:
    """``plan`` with each file's ``extra_args`` (and guessed content type) filled in."""
    items = []
    for item in plan.items:
        if isinstance(item, FileUpload):
            guess = item.path if guess_mime_type else None
            extra = attributes.extra_args_for(requested, UPLOAD, guess)
        elif isinstance(item, FileDownload):
            extra = attributes.extra_args_for(requested, DOWNLOAD)
        elif isinstance(item, FileCopy):
            extra = attributes.extra_args_for(requested, COPY)
        else:
            items.append(item)
            continue
        items.append(dataclasses.replace(item, extra_args=extra))
    return Plan(tuple(items), plan.refused, plan.skipped)


def _plan_stream(
    client: Any, source: Any, destination: Any, args: Any, requested: dict
) -> Any:
    if args.recursive:
        raise UsageError('- (a stream) cannot be used with --recursive')
    if source == STREAM:
        if not isinstance(destination, S3Location) or not destination.key:
            raise UsageError('cp - needs a destination s3://bucket/key')
        if destination.key.endswith('/'):
            raise UsageError('cp - needs a full key, not a folder, as destination')
        extra = attributes.extra_args_for(requested, UPLOAD)
        return StreamUpload(
            sys.stdin.buffer, destination.bucket, destination.key, 0, extra
        )
    if not isinstance(source, S3Location) or not source.key:
        raise UsageError('cp … - needs a source s3://bucket/key')
    head = head_object(client, source, {})
    extra = attributes.extra_args_for(requested, DOWNLOAD)
    return StreamDownload(
        source.bucket, source.key, sys.stdout.buffer, head['ContentLength'], extra
    )


def _plan_recursive(
    client: Any, source: Any, destination: Any, filters: list, follow_symlinks: bool
) -> Plan:
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
    return plan_upload(
        source,
        destination.bucket,
        destination.key,
        filters,
        follow_symlinks=follow_symlinks,
    )


def _plan_single(client: Any, source: Any, destination: Any, requested: dict) -> Any:
    if not isinstance(source, S3Location):
        if not os.path.isfile(source):
            raise UsageError(f'not a file: {source}{_what_it_is(source)}')
        key = target_key(destination.key, os.path.basename(source))
        return FileUpload(source, destination.bucket, key, os.path.getsize(source))
    if not source.key or (source.key.endswith('/') and not _names_a_file(destination)):
        url = f's3://{source.bucket}/{source.key}'
        raise UsageError(
            f'{url} names a folder: add --recursive (to download an object whose '
            'key ends in "/", name the destination file)'
        )
    head_args = attributes.extra_args_for(requested, DOWNLOAD)
    head_args.pop('ChecksumMode', None)
    head = head_object(client, source, head_args)
    name = source.key.rstrip('/').rsplit('/', 1)[-1]
    if isinstance(destination, S3Location):
        key = target_key(destination.key, name)
        return FileCopy(
            source.bucket, source.key, destination.bucket, key, head['ContentLength']
        )
    path = destination
    if os.path.isdir(path) or path.endswith(('/', os.sep)):
        path = os.path.join(path, name)
    kind = _what_it_is(path)
    if kind and not os.path.isfile(path):
        raise UsageError(f'not downloading into {path}{kind}: use - to write to stdout')
    return FileDownload(
        source.bucket, source.key, path, head['ContentLength'], head.get('ETag')
    )


def _names_a_file(destination: Any) -> bool:
    """Whether a download destination names a file (not a folder to download into)."""
    if isinstance(destination, S3Location):
        return bool(destination.key) and not destination.key.endswith('/')
    return not (os.path.isdir(destination) or destination.endswith(('/', os.sep)))


def _what_it_is(path: str) -> str:
    """`` (a FIFO (named pipe))`` for special files, ``''`` for others or none."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ''
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ''
    return f' (a {file_kind(mode)})'


def head_object(client: Any, source: S3Location, params: dict) -> dict:
    """HeadObject of ``source``; a failure names the object and says why."""
    try:
        return client.head_object(Bucket=source.bucket, Key=source.key, **params)
    except Exception as error:
        raise ObjectError(s3_url(source.bucket, source.key), error)


def target_key(key: str, name: str) -> str:
    """A destination key ending in ``/`` (or empty) means "into this folder"."""
    return normalize_prefix(key) + name if not key or key.endswith('/') else key


def stream_config(config: TransferConfig, expected_size: int | None) -> TransferConfig:
    """``config`` with a part size that fits a stream of ``expected_size`` bytes."""
    if expected_size is None:
        return config
    chunksize = ChunksizeAdjuster().adjust_chunksize(
        config.multipart_chunksize, expected_size
    )
    if chunksize == config.multipart_chunksize:
        return config
    adjusted = copy.copy(config)
    adjusted.multipart_chunksize = chunksize
    return adjusted


# -- Running ------------------------------------------------------------------------


def dry_run(out: output.Output, plan: Plan, operation: str = '') -> int:
    """Print what ``plan`` would do; do nothing."""
    for refused in plan.refused:
        out.refused(refused.source, refused.reason)
    for item in plan.items:
        op = operation or output.operation_of(item)
        text = f'(dryrun) {op}: {item.source} to {item.destination}'
        out.file_event('dryrun', text, op, item)
    return EXIT_OK if not plan.refused else EXIT_FAILED


def execute(ctx: Context, plan: Plan, operation: str = '') -> DirectoryResult:
    """Run ``plan`` with the run's output and failure policy; print the summary."""
    args = ctx.args
    config = ctx.config
    if any(isinstance(item, StreamUpload) for item in plan.items):
        config = stream_config(config, getattr(args, 'expected_size', None))
    policy = STOP if getattr(args, 'fail_fast', False) else CONTINUE
    processes = getattr(args, 'processes', 1)
    with integrity.reporting_unverified(ctx.out):
        if can_split(plan, processes):
            result, elapsed = run_plan_in_processes(
                ctx.client, config, plan, policy, ctx.out, operation, processes
            )
        else:
            result, elapsed = output.run_plan(
                ctx.client, config, plan, policy, ctx.out, operation
            )
    if not any(item.destination == STREAM for item in plan.items):
        ctx.out.summary(result, elapsed)
    return result


def run(ctx: Context) -> int:
    """Plan, transfer, report; exit 1 if any file failed or was refused."""
    if wants_cluster(ctx.args):
        return run_on_cluster(ctx)
    plan = plan_cp(ctx.client, ctx.args)
    if ctx.args.dryrun:
        return dry_run(ctx.out, plan)
    result = execute(ctx, plan)
    return EXIT_OK if result.ok else EXIT_FAILED


def to_stdout(args: argparse.Namespace) -> bool:
    """Whether the command writes object data to stdout (so messages go to stderr)."""
    return getattr(args, 'destination', None) == STREAM


COMMAND = Command(
    name='cp',
    help='copy a file, a stream or (--recursive) a folder',
    description='Copy a file, a stream (-) or, with --recursive, a folder or prefix, '
    'between the local disk and S3 or within S3. Content types are guessed from file '
    'names unless --no-guess-mime-type; one line is printed per file as it finishes.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: s3_buckets(args.source, args.destination),
    options=('attributes', 'integrity', 'endpoint', 'transfer', 'output', 'resume'),
    examples=(
        ('s3transfer cp report.csv s3://bucket/reports/', 'upload one file'),
        ('s3transfer cp s3://bucket/big.bin .', 'download into this folder'),
        (
            's3transfer cp --recursive ./site s3://bucket/www --exclude "*.tmp"',
            'a folder',
        ),
        ('tar c dir | s3transfer cp - s3://bucket/dir.tar', 'upload from stdin'),
        ('s3transfer cp s3://bucket/dir.tar - | tar x', 'download to stdout'),
    ),
)
