"""``s3transfer bench``: time an upload, a download and a copy of generated data."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any

from s3transfer._progress import format_size
from s3transfer.cli import output
from s3transfer.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    Context,
    UsageError,
    add_switches,
    parse_size,
    positive_int,
)
from s3transfer.directory import (
    CONTINUE,
    DirectoryResult,
    Plan,
    list_objects,
    normalize_prefix,
    plan_copy,
    plan_download,
    plan_upload,
)
from s3transfer.manager import TransferConfig, TransferManager

LOCAL_BUCKET = 's3transfer-bench'
_GIB = 1024**3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``bench [--size SIZE] [--files N] [--bucket B] [--prefix P]``."""
    parser.add_argument(
        '--size',
        type=parse_size,
        default=parse_size('64MiB'),
        metavar='SIZE',
        help='bytes to move (default 64MiB; units B, KB, KiB, MB, MiB, GB, GiB)',
    )
    parser.add_argument(
        '--files', type=positive_int, default=1, metavar='N', help='files to split into'
    )
    parser.add_argument(
        '--bucket', help='bucket to use (default with --local: s3transfer-bench)'
    )
    add_switches(parser, {'--quiet': 'no live bar (the table rows stay)'})
    parser.add_argument(
        '--prefix',
        default='s3transfer-bench/',
        help='folder for a per-run subfolder, removed afterwards',
    )


def run(ctx: Context) -> int:
    """Run the three phases in a fresh prefix, then remove what was written.

    A clean-up failure is reported on its own and never hides a phase's failure.
    """
    client, config, args = ctx.client, ctx.config, ctx.args
    bucket = args.bucket or (LOCAL_BUCKET if args.local else None)
    if bucket is None:
        raise UsageError('bench needs --bucket (or --local)')
    # A fresh folder per run: nothing else is listed, and cleanup touches only it.
    run_prefix = normalize_prefix(args.prefix) + uuid.uuid4().hex[:12] + '/'
    work = tempfile.mkdtemp(prefix='s3transfer-bench-')
    cleaned = False
    try:
        ok = _bench_phases(client, config, args, bucket, run_prefix, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        try:
            _delete_prefix(client, config, bucket, run_prefix)
            cleaned = True
        except Exception as error:
            ctx.out.failure(f'bench: removing s3://{bucket}/{run_prefix}', error)
    if not ok:
        output.error('bench: a transfer failed or the data did not round-trip')
    return EXIT_OK if ok and cleaned else EXIT_FAILED


def _bench_phases(
    client: Any,
    config: TransferConfig,
    args: argparse.Namespace,
    bucket: str,
    prefix: str,
    work: str,
) -> bool:
    source = os.path.join(work, 'source')
    download = os.path.join(work, 'download')
    _generate(source, args.size, args.files)
    data, copies = prefix + 'data/', prefix + 'copy/'
    run = functools.partial(_bench_phase, client, config, quiet=args.quiet)
    ok = run('upload', plan_upload(source, bucket, data))
    ok = run('download', plan_download(client, bucket, data, download)) and ok
    ok = run('copy', plan_copy(client, bucket, data, bucket, copies)) and ok
    return _same_tree(source, download) and ok


def _bench_phase(
    client: Any, config: TransferConfig, name: str, plan: Plan, quiet: bool
) -> bool:
    size = sum(item.size for item in plan.items)
    cpu_start = time.process_time()
    # Bench output stays a table: a live bar only on a terminal (cleared before the
    # row is printed), never plain lines; failures are printed as they happen.
    live = not quiet and sys.stdout.isatty()
    out = output.Output(progress=live, file_lines=False)
    result, elapsed = output.run_plan(client, config, plan, CONTINUE, out)
    cpu = time.process_time() - cpu_start
    if result.ok:
        print(bench_line(name, size, len(plan.items), elapsed, cpu), flush=True)
    else:
        print(failed_line(name, result), flush=True)
    return result.ok


def failed_line(name: str, result: DirectoryResult) -> str:
    """The row of a phase that failed: no rate, how many files failed."""
    total = len(result.succeeded) + len(result.failed) + len(result.cancelled)
    bad = len(result.failed) + len(result.cancelled) + len(result.refused)
    return f'{name:<8} FAILED: {bad} of {total + len(result.refused)} file(s) failed'


def bench_line(name: str, size: int, files: int, elapsed: float, cpu: float) -> str:
    """One result line: throughput in MiB/s and CPU cost.

    The CPU cost is per GiB moved, except for small files (under 1 MiB on average),
    where per-file costs dominate and a per-GiB figure would be in the millions:
    there it is CPU milliseconds per file.
    """
    rate = size / elapsed / 2**20 if elapsed > 0 else 0.0
    if files and size / files < _SMALL_FILE:
        cost = f'{cpu * 1000 / files:7.1f} CPU ms/file'
    else:
        cost = f'{cpu / (size / _GIB) if size else 0.0:7.1f} CPU s/GiB'
    return (
        f'{name:<8} {format_size(size):>10} in {files} file(s)  {elapsed:7.2f} s  '
        f'{rate:8.1f} MiB/s  {cost}'
    )


_SMALL_FILE = 1024**2


def split_sizes(total: int, files: int) -> list[int]:
    """Split ``total`` bytes over ``files`` files as evenly as possible."""
    base, extra = divmod(total, files)
    return [base + (1 if index < extra else 0) for index in range(files)]


def _generate(folder: str, total: int, files: int) -> None:
    os.makedirs(folder)
    for index, size in enumerate(split_sizes(total, files)):
        with open(os.path.join(folder, f'file-{index:05d}.bin'), 'wb') as handle:
            for start in range(0, size, 1024**2):
                handle.write(os.urandom(min(1024**2, size - start)))


def _same_tree(left: str, right: str) -> bool:
    import filecmp

    names = sorted(os.listdir(left))
    if not os.path.isdir(right) or sorted(os.listdir(right)) != names:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, names, shallow=False)
    return not mismatch and not errors


def _delete_prefix(
    client: Any, config: TransferConfig, bucket: str, prefix: str
) -> None:
    keys = [entry['Key'] for entry in list_objects(client, bucket, prefix)]
    with TransferManager(client, config) as manager:
        for future in [manager.delete(bucket, key) for key in keys]:
            future.result()


def _buckets(args: argparse.Namespace) -> list[str]:
    return [args.bucket or LOCAL_BUCKET]


COMMAND = Command(
    name='bench',
    help='measure upload, download and copy',
    description='Time an upload, a download and a copy of generated data, in a '
    'fresh prefix that is removed afterwards.',
    add_arguments=add_arguments,
    run=run,
    buckets=_buckets,
    options=('endpoint', 'transfer'),
    examples=(
        ('s3transfer bench --local', 'a quick run against an embedded S3 server'),
        ('s3transfer bench --bucket my-bucket --size 1GiB --files 8', 'real S3'),
    ),
    exit_codes='1: a phase failed, the data did not round-trip, or clean-up failed',
)
