"""The ``s3transfer`` command line: ``cp`` (files and folders) and ``bench``.

Everything goes through the public library API (``TransferManager``,
``TransferConfig``, subscribers, futures) and ``s3transfer.directory``.
Exit codes: 0 success, 1 a transfer failed or was refused, 2 bad usage, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from s3transfer import __version__
from s3transfer._progress import format_size, make_display
from s3transfer.directory import (
    CONTINUE,
    EXCLUDE,
    INCLUDE,
    STOP,
    DirectoryResult,
    FileCopy,
    FileDownload,
    FileUpload,
    Plan,
    list_objects,
    normalize_prefix,
    plan_copy,
    plan_download,
    plan_upload,
    submit_plan,
)
from s3transfer.manager import TransferConfig, TransferManager

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

LOCAL_BUCKET = 's3transfer-bench'
_FAKE_CREDENTIALS = {'aws_access_key_id': 'testing', 'aws_secret_access_key': 'testing'}
_SIZE_UNITS = {
    '': 1,
    'b': 1,
    'k': 1000,
    'kb': 1000,
    'kib': 1024,
    'm': 1000**2,
    'mb': 1000**2,
    'mib': 1024**2,
    'g': 1000**3,
    'gb': 1000**3,
    'gib': 1024**3,
}
_GIB = 1024**3
_NO_PROFILE = {'profile': (None, None, None, None)}


class UsageError(Exception):
    """The command line names something impossible (exit code 2)."""


# -- Pure parsing ---------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Parse ``'8MiB'``, ``'5MB'``, ``'1024'`` … into a positive byte count."""
    match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*', text)
    unit = match.group(2).lower() if match else ''
    if not match or unit not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f'invalid size: {text!r}')
    value = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if value <= 0:
        raise argparse.ArgumentTypeError(f'size must be greater than 0: {text!r}')
    return value


def positive_int(text: str) -> int:
    """Parse a whole number greater than zero."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid number: {text!r}')
    if value <= 0:
        raise argparse.ArgumentTypeError(f'must be greater than 0: {text!r}')
    return value


@dataclass(frozen=True)
class S3Location:
    """A parsed ``s3://bucket/key`` argument."""

    bucket: str
    key: str


def parse_location(text: str) -> S3Location | str:
    """Return an ``S3Location`` for ``s3://…`` arguments, else the local path."""
    if not text.startswith('s3://'):
        return text
    bucket, _, key = text[len('s3://') :].partition('/')
    if not bucket:
        raise UsageError(f'no bucket in {text!r}')
    return S3Location(bucket, key)


def printable(text: str) -> str:
    """``text`` with control characters escaped, safe to print on one line."""
    return ''.join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


# TransferConfig settings exposed as flags: (flag, attribute, parser, help).
CONFIG_FLAGS: tuple[tuple[str, str, Callable[[str], int], str], ...] = (
    ('--multipart-threshold', 'multipart_threshold', parse_size, 'multipart from'),
    ('--multipart-chunksize', 'multipart_chunksize', parse_size, 'part size'),
    ('--max-concurrency', 'max_request_concurrency', positive_int, 'request threads'),
    (
        '--max-submission-concurrency',
        'max_submission_concurrency',
        positive_int,
        'submission threads',
    ),
    ('--max-queue-size', 'max_request_queue_size', positive_int, 'queued requests'),
    ('--io-chunksize', 'io_chunksize', parse_size, 'bytes per download write'),
    ('--num-download-attempts', 'num_download_attempts', positive_int, 'per GET'),
    (
        '--max-in-memory-upload-chunks',
        'max_in_memory_upload_chunks',
        positive_int,
        'buffered upload parts',
    ),
    (
        '--max-in-memory-download-chunks',
        'max_in_memory_download_chunks',
        positive_int,
        'buffered download chunks',
    ),
    ('--max-bandwidth', 'max_bandwidth', parse_size, 'bytes per second'),
)


def transfer_config(args: argparse.Namespace) -> TransferConfig:
    """A ``TransferConfig`` with the defaults overridden by the given flags."""
    settings = {
        attribute: getattr(args, attribute)
        for _, attribute, _, _ in CONFIG_FLAGS
        if getattr(args, attribute, None) is not None
    }
    return TransferConfig(**settings)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``s3transfer`` command."""
    parser = argparse.ArgumentParser(
        prog='s3transfer',
        description='Copy files to, from and within Amazon S3. Credentials come from '
        'the usual botocore chain; --local needs none.',
    )
    parser.add_argument('--version', action='version', version=__version__)
    common = _common_options()
    commands = parser.add_subparsers(dest='command', required=True)
    cp = commands.add_parser(
        'cp', parents=[common], help='copy a file or, with --recursive, a folder'
    )
    cp.add_argument('source', help='local path or s3://bucket/key')
    cp.add_argument('destination', help='local path or s3://bucket/key')
    cp.add_argument('--recursive', action='store_true', help='copy a folder/prefix')
    for kind in (INCLUDE, EXCLUDE):
        cp.add_argument(
            f'--{kind}',
            dest='filters',
            action=_FilterAction,
            metavar='GLOB',
            default=[],
            help=f'{kind} matching paths (in order; the last match wins)',
        )
    cp.add_argument(
        '--fail-fast', action='store_true', help='stop at the first failed file'
    )
    bench = commands.add_parser(
        'bench', parents=[common], help='measure upload, download and copy'
    )
    bench.add_argument(
        '--size',
        type=parse_size,
        default=parse_size('64MiB'),
        metavar='SIZE',
        help='bytes to move (default 64MiB; units B, KB, KiB, MB, MiB, GB, GiB)',
    )
    bench.add_argument(
        '--files', type=positive_int, default=1, metavar='N', help='files to split into'
    )
    bench.add_argument(
        '--bucket', help='bucket to use (default with --local: s3transfer-bench)'
    )
    bench.add_argument(
        '--prefix',
        default='s3transfer-bench/',
        help='folder for a per-run subfolder, removed afterwards',
    )
    return parser


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--endpoint-url', metavar='URL', help='S3 endpoint URL')
    common.add_argument('--region', help='AWS region')
    common.add_argument('--profile', help='profile from the AWS config files')
    common.add_argument(
        '--local',
        action='store_true',
        help='run against an embedded S3 server on 127.0.0.1 (needs the local extra)',
    )
    common.add_argument('--quiet', action='store_true', help='print errors only')
    for flag, attribute, parser, text in CONFIG_FLAGS:
        metavar = 'SIZE' if parser is parse_size else 'N'
        common.add_argument(
            flag, dest=attribute, type=parser, metavar=metavar, help=text
        )
    return common


class _FilterAction(argparse.Action):
    """Appends ``(kind, pattern)`` so --include/--exclude keep their order."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None):
        kind = INCLUDE if option == '--include' else EXCLUDE
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), (kind, values)])


# -- Entry point ------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        # The TransferManager context has already cancelled and cleaned up.
        print('\ninterrupted: transfers cancelled', file=sys.stderr)
        return EXIT_INTERRUPTED
    except UsageError as error:
        print(f's3transfer: error: {printable(str(error))}', file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        message = printable(str(error) or type(error).__name__)
        print(f's3transfer: error: {message}', file=sys.stderr)
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    if args.local and args.endpoint_url:
        raise UsageError('--local and --endpoint-url exclude each other')
    command = _COMMANDS[args.command]
    config = transfer_config(args)
    with _endpoint(args) as endpoint_url:
        client = _make_client(args, endpoint_url, config)
        if args.local:
            for bucket in _buckets_to_create(args):
                client.create_bucket(Bucket=bucket)
        return command(client, config, args)


@contextlib.contextmanager
def _endpoint(args: argparse.Namespace) -> Iterator[str | None]:
    """Yield the endpoint URL; with --local, one of an embedded server."""
    if not args.local:
        yield args.endpoint_url
        return
    server = _start_local_server()
    try:
        host, port = server.get_host_and_port()
        yield f'http://{host}:{port}'
    finally:
        server.stop()


def _start_local_server() -> Any:
    import logging

    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise UsageError(
            "--local needs the 'local' extra: pip install 's3transfer[local]'"
        )
    logging.getLogger('werkzeug').setLevel(logging.ERROR)  # no per-request lines
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    return server


def _make_client(
    args: argparse.Namespace, endpoint_url: str | None, config: TransferConfig
) -> Any:
    import botocore.session
    from botocore.config import Config

    client_config = Config(
        max_pool_connections=max(10, config.max_request_concurrency),
        s3={'addressing_style': 'path'} if args.local else None,
    )
    if args.local:
        # Ignore AWS_PROFILE: the embedded endpoint needs no profile, even a broken one.
        session = botocore.session.Session(session_vars=_NO_PROFILE)
        return session.create_client(
            's3',
            region_name=args.region or 'us-east-1',
            endpoint_url=endpoint_url,
            config=client_config,
            **_FAKE_CREDENTIALS,
        )
    session = botocore.session.Session(profile=args.profile)
    return session.create_client(
        's3', region_name=args.region, endpoint_url=endpoint_url, config=client_config
    )


def _buckets_to_create(args: argparse.Namespace) -> list[str]:
    if args.command == 'bench':
        return [args.bucket or LOCAL_BUCKET]
    locations = [parse_location(args.source), parse_location(args.destination)]
    buckets = [loc.bucket for loc in locations if isinstance(loc, S3Location)]
    return list(dict.fromkeys(buckets))


# -- cp ---------------------------------------------------------------------------


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
        key = _target_key(destination.key, os.path.basename(source))
        return FileUpload(source, destination.bucket, key, os.path.getsize(source))
    if not source.key or source.key.endswith('/'):
        url = f's3://{source.bucket}/{source.key}'
        raise UsageError(f'{url} names a folder: add --recursive')
    head = client.head_object(Bucket=source.bucket, Key=source.key)
    name = source.key.rsplit('/', 1)[-1]
    if isinstance(destination, S3Location):
        key = _target_key(destination.key, name)
        return FileCopy(
            source.bucket, source.key, destination.bucket, key, head['ContentLength']
        )
    path = destination
    if os.path.isdir(path) or path.endswith(('/', os.sep)):
        path = os.path.join(path, name)
    return FileDownload(
        source.bucket, source.key, path, head['ContentLength'], head.get('ETag')
    )


def _target_key(key: str, name: str) -> str:
    """A destination key ending in ``/`` (or empty) means "into this folder"."""
    return normalize_prefix(key) + name if not key or key.endswith('/') else key


def _cp(client: Any, config: TransferConfig, args: argparse.Namespace) -> int:
    plan = plan_cp(client, args)
    policy = STOP if args.fail_fast else CONTINUE
    result, elapsed = _transfer(client, config, plan, policy, args.quiet)
    _report(result, elapsed, args.quiet)
    return EXIT_OK if result.ok else EXIT_FAILED


def _transfer(
    client: Any, config: TransferConfig, plan: Plan, policy: str, quiet: bool
) -> tuple[DirectoryResult, float]:
    """Run ``plan`` with a progress display; Ctrl-C cancels through the manager."""
    display = make_display(sys.stdout, quiet)
    with TransferManager(client, config) as manager:
        future = submit_plan(manager, plan, policy)
        try:
            while not future.wait(0.1):
                display.update(future.progress())
        finally:
            display.close(future.progress())
    return future.result(), future.progress().elapsed


def _report(result: DirectoryResult, elapsed: float, quiet: bool) -> None:
    for refused in result.refused:
        _error(f'refused: {refused.source}: {refused.reason}')
    for failure in result.failed:
        item = failure.item
        _error(f'failed: {item.source} -> {item.destination}: {failure.message}')
    if quiet:
        return
    moved = sum(item.size for item in result.succeeded)
    summary = (
        f'{len(result.succeeded)} transferred ({format_size(moved)} in {elapsed:.2f}s)'
        f', {len(result.failed)} failed, {len(result.refused)} refused'
    )
    if result.cancelled:
        summary += f', {len(result.cancelled)} cancelled'
    print(summary, flush=True)


def _error(message: str) -> None:
    print(printable(message), file=sys.stderr, flush=True)


# -- bench ------------------------------------------------------------------------


def _bench(client: Any, config: TransferConfig, args: argparse.Namespace) -> int:
    bucket = args.bucket or (LOCAL_BUCKET if args.local else None)
    if bucket is None:
        raise UsageError('bench needs --bucket (or --local)')
    # A fresh folder per run: nothing else is listed, and cleanup touches only it.
    run_prefix = normalize_prefix(args.prefix) + uuid.uuid4().hex[:12] + '/'
    work = tempfile.mkdtemp(prefix='s3transfer-bench-')
    try:
        ok = _bench_phases(client, config, args, bucket, run_prefix, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _delete_prefix(client, config, bucket, run_prefix)
    if not ok:
        _error('bench: a transfer failed or the data did not round-trip')
    return EXIT_OK if ok else EXIT_FAILED


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
    # Bench output stays a table: a live bar only on a terminal, never plain lines.
    live = not quiet and sys.stdout.isatty()
    result, elapsed = _transfer(client, config, plan, CONTINUE, quiet=not live)
    cpu = time.process_time() - cpu_start
    _report(result, elapsed, quiet=True)
    print(bench_line(name, size, len(plan.items), elapsed, cpu), flush=True)
    return result.ok


def bench_line(name: str, size: int, files: int, elapsed: float, cpu: float) -> str:
    """One result line: throughput in MB/s and CPU seconds per GiB moved."""
    rate = size / elapsed / 1e6 if elapsed > 0 else 0.0
    cpu_per_gib = cpu / (size / _GIB) if size else 0.0
    return (
        f'{name:<8} {format_size(size):>10} in {files} file(s)  {elapsed:7.2f} s  '
        f'{rate:8.1f} MB/s  {cpu_per_gib:7.1f} CPU s/GiB'
    )


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


_COMMANDS: dict[str, Callable[[Any, TransferConfig, argparse.Namespace], int]] = {
    'cp': _cp,
    'bench': _bench,
}
