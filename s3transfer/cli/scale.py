"""``cp --recursive`` on a Dask cluster: ``--cluster ADDRESS`` or ``--workers N``.

Turns the command line into a bulk ``Job`` (``s3transfer.jobs``) and runs it with
``s3transfer.distributed``, showing the same progress display and summary as a
local run. Dask is imported only when one of these flags is given.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from s3transfer._progress import ProgressSnapshot, format_size
from s3transfer.cli import attributes
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Context,
    S3Location,
    UsageError,
    parse_location,
    positive_int,
)
from s3transfer.cli.config import CONFIG_FLAGS
from s3transfer.cli.output import route
from s3transfer.jobs import (
    COPY,
    DONE,
    DOWNLOAD,
    REFUSED,
    UPLOAD,
    FileResult,
    Job,
    S3Options,
)


def add_scale_options(parser: argparse.ArgumentParser) -> None:
    """The flags that send a ``--recursive`` copy to a Dask cluster."""
    group = parser.add_argument_group('scale-out on Dask (needs the dask extra)')
    where = group.add_mutually_exclusive_group()
    where.add_argument(
        '--cluster',
        metavar='ADDRESS',
        help='run on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.5:8786)',
    )
    where.add_argument(
        '--workers',
        type=positive_int,
        metavar='N',
        help='run on a local Dask cluster of N worker processes',
    )
    group.add_argument(
        '--results-log',
        metavar='PATH',
        help='append per-file results to PATH; a re-run skips what it lists as done',
    )
    group.add_argument(
        '--manifest',
        metavar='PATH',
        help='take the source keys from PATH (one key per line, or an S3 Inventory '
        'CSV: .csv/.csv.gz) instead of listing the source prefix',
    )
    group.add_argument(
        '--batch-files',
        type=positive_int,
        default=500,
        metavar='N',
        help='files per Dask task (default 500)',
    )


def wants_cluster(args: argparse.Namespace) -> bool:
    """Whether the run goes to Dask."""
    return bool(args.cluster or args.workers)


def run_on_cluster(ctx: Context) -> int:
    """Run ``cp --recursive`` as a Dask job; exit 1 if a file failed or was refused.

    Reports through the run's ``Output`` like a local run: one event per file as its
    batch comes back, the progress display, then the summary.
    """
    args = ctx.args
    _check_supported(args)
    endpoint_url = ctx.client.meta.endpoint_url if args.local else args.endpoint_url
    job = build_job(args, endpoint_url)
    from s3transfer import distributed

    out = ctx.out
    last: list[ProgressSnapshot] = []

    def on_result(result: FileResult, progress: ProgressSnapshot) -> None:
        _report(out, job.direction, result)
        out.progress(progress)
        last[:] = [progress]

    with _client(args) as client:
        try:
            outcome = distributed.run_job(client, job, args.results_log, on_result)
        finally:
            if last:
                out.end_progress(last[0])
    _summary(out, outcome)
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _check_supported(args: argparse.Namespace) -> None:
    if not args.recursive:
        raise UsageError('--cluster/--workers need --recursive')
    for flag in ('fail_fast', 'dryrun'):
        if getattr(args, flag, False):
            option = '--' + flag.replace('_', '-')
            raise UsageError(f'{option} does not apply to --cluster/--workers')
    if attributes.requested(args):
        raise UsageError('object attribute flags do not apply to --cluster/--workers')


def _report(out: Any, operation: str, result: FileResult) -> None:
    if result.status == DONE:
        out.file_event('done', f'{operation}: {route(result)}', operation, result)
    elif result.status == REFUSED:
        out.refused(result.source, result.error or '')
    else:
        out.file_failed(operation, result, result.error)


def _summary(out: Any, outcome: Any) -> None:
    text = (
        f'{outcome.done} transferred ({format_size(outcome.bytes_done)} in '
        f'{outcome.elapsed:.2f}s), {outcome.failed} failed, {outcome.refused} refused'
    )
    if outcome.already_done:
        text += f', {outcome.already_done} already done (results log)'
    out.event(
        'summary',
        text,
        bytes=outcome.bytes_done,
        seconds=round(outcome.elapsed, 3),
        succeeded=outcome.done,
        failed=outcome.failed,
        refused=outcome.refused,
        cancelled=0,
        already_done=outcome.already_done,
    )


def build_job(args: argparse.Namespace, endpoint_url: str | None) -> Job:
    """The bulk job that ``cp --recursive SOURCE DESTINATION`` describes."""
    source = parse_location(args.source)
    destination = parse_location(args.destination)
    if isinstance(source, S3Location):
        direction = COPY if isinstance(destination, S3Location) else DOWNLOAD
    elif isinstance(destination, S3Location):
        direction = UPLOAD
    else:
        raise UsageError('cp needs at least one s3:// location')
    settings = {
        attribute: getattr(args, attribute)
        for _, attribute, _, _ in CONFIG_FLAGS
        if getattr(args, attribute, None) is not None
    }
    fake = 'testing' if args.local else None  # --local: the embedded server's keys
    s3 = S3Options(
        endpoint_url=endpoint_url,
        region_name=args.region or ('us-east-1' if args.local else None),
        addressing_style='path' if args.local else None,
        profile=None if args.local else args.profile,
        aws_access_key_id=fake,
        aws_secret_access_key=fake,
    )
    return Job(
        direction,
        _url(source),
        _url(destination),
        manifest=args.manifest,
        filters=tuple(tuple(pair) for pair in args.filters),
        batch_files=args.batch_files,
        s3=s3,
        transfer_config=tuple(sorted(settings.items())),
    )


def _url(location: S3Location | str) -> str:
    if isinstance(location, S3Location):
        return f's3://{location.bucket}/{location.key}'
    return location


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    from s3transfer import distributed

    if args.cluster:
        with distributed.connect(args.cluster) as client:
            yield client
    else:
        with distributed.local_cluster(args.workers) as client:
            yield client
