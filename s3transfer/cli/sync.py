"""``s3transfer sync``: make a destination folder or prefix match a source.

The listing and the content digests are read here (I/O); what to send or delete is
decided by ``s3transfer.sync`` (pure); the transfers run as ``cp`` runs them.
``--checksum`` compares a local CRC with the object's stored full-object checksum,
or a local MD5 with a single-part ETag; where S3 has neither, size and time decide
and a warning says so.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Iterable, Iterator
from typing import Any

from s3transfer import sync as rules_
from s3transfer.checksums import crc_function
from s3transfer.cli import cp
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
from s3transfer.cli.processes import add_processes_option
from s3transfer.cli.rm import ObjectDelete, delete_objects
from s3transfer.directory import (
    FileCopy,
    FileDownload,
    FileUpload,
    Plan,
    Refused,
    is_folder_marker,
    is_selected,
    iter_copy,
    iter_download,
    iter_upload,
    list_objects,
    relative_key,
)
from s3transfer.sync import Decision, Entry, Rules

_READ = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``sync SOURCE DESTINATION`` and the comparison flags."""
    parser.add_argument('source', help='local folder or s3://bucket/prefix')
    parser.add_argument('destination', help='local folder or s3://bucket/prefix')
    add_filter_options(parser)
    add_dryrun_option(parser)
    add_processes_option(parser)
    add_switches(
        parser,
        {
            '--delete': (
                'delete destination files that the source lacks (filters apply)'
            ),
            '--size-only': 'compare sizes only, not times',
            '--exact-timestamps': (
                'S3 to local: send same-sized files unless the times match exactly'
            ),
            '--checksum': (
                'compare content (CRC or MD5) instead of times; falls back to size '
                'and time, with a warning, where S3 stores nothing comparable'
            ),
        },
    )


# -- Listings ---------------------------------------------------------------------


def _local_entries(items: Iterable[Any]) -> Iterator[tuple[Entry, Any]]:
    for item in items:
        if isinstance(item, Refused):
            continue
        yield Entry(item.key, item.size, os.stat(item.path).st_mtime), item


def _s3_entries(
    client: Any, bucket: str, prefix: str, filters: list
) -> Iterator[tuple[Entry, dict]]:
    for entry in list_objects(client, bucket, prefix):
        name = relative_key(entry['Key'], prefix)
        if is_folder_marker(name) or not is_selected(name, filters):
            continue
        yield Entry(name, entry['Size'], entry['LastModified'].timestamp()), entry


def _local_listing(folder: str, filters: list) -> dict[str, tuple[Entry, Any]]:
    if not os.path.isdir(folder):
        return {}
    return {
        e.name: (e, item)
        for e, item in _local_entries(iter_upload(folder, '', '', filters))
    }


# -- Content ----------------------------------------------------------------------


def local_digest(path: str, algorithm: str) -> str:
    """The digest of a local file in the form S3 reports (CRC: base64; MD5: hex)."""
    from s3transfer.checksums import get_algorithm

    with open(path, 'rb') as handle:
        if algorithm == 'MD5':
            md5 = hashlib.md5(usedforsecurity=False)
            while chunk := handle.read(_READ):
                md5.update(chunk)
            return md5.hexdigest()
        crc = get_algorithm(algorithm)
        compute, value = crc_function(crc.name), 0
        while chunk := handle.read(_READ):
            value = compute(chunk, value)
        return crc.encode(value)


def _reference(client: Any, bucket: str, key: str) -> rules_.ContentReference | None:
    head = client.head_object(Bucket=bucket, Key=key, ChecksumMode='ENABLED')
    return rules_.content_reference(head)


def _same_local(client: Any, bucket: str, key: str, path: str) -> bool | None:
    reference = _reference(client, bucket, key)
    if reference is None:
        return None
    try:
        return local_digest(path, reference.algorithm) == reference.value
    except Exception:  # e.g. CRC64NVME without awscrt: not comparable here
        return None


# -- Planning ---------------------------------------------------------------------


class SyncPlan:
    """The transfers and deletions of one sync, with the decision behind each."""

    def __init__(self) -> None:
        self.sends: list[Any] = []
        self.refused: list[Refused] = []
        self.delete_objects: list[ObjectDelete] = []
        self.delete_paths: list[str] = []
        self.decisions: list[Decision] = []
        self.mtimes: dict[str, float] = {}  # downloaded path -> the object's time


def plan_sync_command(client: Any, args: argparse.Namespace) -> SyncPlan:
    """List both sides, decide with ``s3transfer.sync``, and build the plans."""
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if args.size_only and args.checksum:
        raise UsageError('--size-only and --checksum exclude each other')
    filters = args.filters
    src: dict[str, tuple[Entry, Any]]
    dst: dict[str, tuple[Entry, Any]]
    items: Iterable[Any]
    if isinstance(source, S3Location) and isinstance(destination, S3Location):
        direction = rules_.COPY
        src = {
            e.name: (e, obj)
            for e, obj in _s3_entries(client, source.bucket, source.key, filters)
        }
        dst = {
            e.name: (e, obj)
            for e, obj in _s3_entries(
                client, destination.bucket, destination.key, filters
            )
        }
        items = iter_copy(
            (obj for _, obj in src.values()),
            source.bucket,
            source.key,
            destination.bucket,
            destination.key,
        )
    elif isinstance(source, S3Location):
        direction = rules_.DOWNLOAD
        src = {
            e.name: (e, obj)
            for e, obj in _s3_entries(client, source.bucket, source.key, filters)
        }
        folder = str(destination)
        dst = _local_listing(folder, filters)
        items = iter_download(
            (obj for _, obj in src.values()), source.bucket, source.key, folder
        )
    elif isinstance(destination, S3Location):
        direction = rules_.UPLOAD
        if not os.path.isdir(source):
            raise UsageError(f'not a folder: {source}')
        src = _local_listing(source, filters)
        dst = {
            e.name: (e, obj)
            for e, obj in _s3_entries(
                client, destination.bucket, destination.key, filters
            )
        }
        items = iter_upload(source, destination.bucket, destination.key, filters)
    else:
        raise UsageError('sync needs at least one s3:// location')
    rules = Rules(
        direction, args.size_only, args.exact_timestamps, args.checksum, args.delete
    )
    same: dict[str, bool | None] = {}
    for name, (entry, src_obj) in src.items():
        if name in dst and rules_.needs_content_check(entry, dst[name][0], rules):
            same[name] = _compare_content(
                client, direction, source, destination, src_obj, dst[name][1]
            )
    plan = SyncPlan()
    plan.decisions = rules_.plan_sync(
        (e for e, _ in src.values()), (e for e, _ in dst.values()), rules, same
    )
    sending = {d.name for d in plan.decisions if d.action == rules_.SEND}
    for item in items:
        if isinstance(item, Refused):
            plan.refused.append(item)
            continue
        name = _name_of(item, source, destination)
        if name in sending:
            plan.sends.append(item)
            if isinstance(item, FileDownload):
                plan.mtimes[item.path] = src[name][0].mtime
    for decision in plan.decisions:
        if decision.action != rules_.DELETE:
            continue
        target = dst[decision.name][1]
        if isinstance(destination, S3Location):
            plan.delete_objects.append(ObjectDelete(destination.bucket, target['Key']))
        else:
            plan.delete_paths.append(target.path)
    return plan


def _name_of(item: Any, source: Any, destination: Any) -> str:
    if isinstance(item, FileUpload):
        return relative_key(item.key, destination.key)
    if isinstance(item, FileDownload):
        return relative_key(item.key, source.key)
    if isinstance(item, FileCopy):
        return relative_key(item.source_key, source.key)
    raise TypeError(item)


def _compare_content(
    client: Any, direction: str, source: Any, destination: Any, src: Any, dst: Any
) -> bool | None:
    if direction == rules_.UPLOAD:
        return _same_local(client, destination.bucket, dst['Key'], src.path)
    if direction == rules_.DOWNLOAD:
        return _same_local(client, source.bucket, src['Key'], dst.path)
    return rules_.same_reference(
        _reference(client, source.bucket, src['Key']),
        _reference(client, destination.bucket, dst['Key']),
    )


# -- Running ----------------------------------------------------------------------


def run(ctx: Context) -> int:
    """Decide, then send and delete; exit 1 if anything failed."""
    args = ctx.args
    plan = plan_sync_command(ctx.client, args)
    for decision in plan.decisions:
        if rules_.NO_CHECKSUM in decision.reason:
            ctx.out.warning(
                f'{decision.name}: {rules_.NO_CHECKSUM}', name=decision.name
            )
    transfers = cp.with_attributes(
        Plan(tuple(plan.sends), tuple(plan.refused)),
        {**cp.attributes.requested(args), **cp.integrity.conditional_args(args)},
        getattr(args, 'guess_mime_type', True),
    )
    if args.dryrun:
        cp.dry_run(ctx.out, transfers)
        for deletion in plan.delete_objects:
            ctx.out.event(
                'dryrun',
                f'(dryrun) delete: {deletion.source}',
                operation='delete',
                source=deletion.source,
            )
        for path in plan.delete_paths:
            ctx.out.event(
                'dryrun', f'(dryrun) delete: {path}', operation='delete', source=path
            )
        return EXIT_OK
    result = cp.execute(ctx, transfers)
    ok = result.ok
    for item in result.succeeded:
        if isinstance(item, FileDownload) and item.path in plan.mtimes:
            mtime = plan.mtimes[item.path]
            os.utime(item.path, (mtime, mtime))  # as the AWS CLI does: stable re-syncs
    for path in plan.delete_paths:
        try:
            os.remove(path)
            ctx.out.event('done', f'delete: {path}', operation='delete', source=path)
        except OSError as error:
            ok = False
            ctx.out.failure(
                f'delete failed: {path}', error, operation='delete', source=path
            )
    ok = delete_objects(ctx, plan.delete_objects, ctx.out) and ok
    return EXIT_OK if ok else EXIT_FAILED


COMMAND = Command(
    name='sync',
    help='make a destination folder or prefix match a source',
    description='Send what is new or changed (by size and time, like "aws s3 sync"; '
    'or by content with --checksum), and with --delete remove what the source '
    'lacks.',
    add_arguments=add_arguments,
    run=run,
    buckets=lambda args: s3_buckets(args.source, args.destination),
    options=('attributes', 'integrity', 'endpoint', 'transfer', 'output'),
    examples=(
        ('s3transfer sync ./site s3://bucket/www --delete', 'publish a folder'),
        ('s3transfer sync s3://bucket/data ./data --checksum', 'by content'),
        ('s3transfer sync ./a s3://bucket/a --dryrun', 'only show what would change'),
    ),
)
