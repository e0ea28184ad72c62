"""Integrity flags (docs/integrity.md): verified downloads (on by default here),
full-object checksums, conditional uploads, and streams of any size.

The command line turns on what is safe by default: downloads are verified against
S3's stored checksum (``--no-verify-checksums`` to skip) and a stream from stdin
grows its parts so it never runs out of S3's 10,000 parts.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
from collections.abc import Iterator
from typing import Any

from s3transfer.checksums import CRC_ALGORITHMS, resolve_upload_algorithm
from s3transfer.cli.common import UsageError
from s3transfer.manager import TransferConfig


def add_integrity_options(group: Any) -> None:
    """``--no-overwrite``, ``--if-match``, ``--no-verify-checksums``, ..."""
    group.add_argument(
        '--no-overwrite',
        action='store_true',
        help='uploads fail instead of replacing an existing object (IfNoneMatch=*)',
    )
    group.add_argument(
        '--if-match',
        metavar='ETAG',
        help='upload only if the object still has this ETag (IfMatch)',
    )
    group.add_argument(
        '--no-verify-checksums',
        dest='verify_checksums',
        action='store_false',
        help="do not check downloads against S3's stored checksum (default: check)",
    )
    group.add_argument(
        '--full-object-checksum',
        action='store_true',
        help='upload with a whole-object CRC that S3 validates: the CRC named by '
        '--checksum-algorithm, else CRC64NVME with awscrt, else CRC32',
    )


def conditional_args(args: argparse.Namespace) -> dict[str, str]:
    """The upload ``extra_args`` of ``--no-overwrite`` and ``--if-match``."""
    extra = {}
    if getattr(args, 'no_overwrite', False):
        extra['IfNoneMatch'] = '*'
    if getattr(args, 'if_match', None):
        extra['IfMatch'] = args.if_match
    return extra


def with_integrity(config: TransferConfig, args: argparse.Namespace) -> TransferConfig:
    """``config`` with the integrity settings of a command that has these flags."""
    if not hasattr(args, 'verify_checksums'):
        return config  # e.g. bench: measures the library's defaults
    full_object: bool | str = bool(args.full_object_checksum)
    named = getattr(args, 'checksum_algorithm', None)
    if full_object and named in CRC_ALGORITHMS:
        full_object = named
    try:
        resolve_upload_algorithm(full_object)
    except ValueError as error:
        raise UsageError(f'--full-object-checksum: {error}')
    adjusted = copy.copy(config)
    adjusted.verify_download_checksums = args.verify_checksums
    adjusted.grow_stream_part_size = True
    adjusted.full_object_checksum = full_object
    return adjusted


class _UnverifiedReporter(logging.Handler):
    """Shows the library's "nothing could be verified" log lines as warnings."""

    def __init__(self, out: Any) -> None:
        super().__init__(logging.WARNING)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        url = getattr(record, 'unverified', None)
        if url is not None:
            reason = record.getMessage().split(': ', 2)[-1]
            self._out.warning(f'{url}: not verified: {reason}', url=url)


@contextlib.contextmanager
def reporting_unverified(out: Any) -> Iterator[None]:
    """While running, downloads that could not be verified are reported on ``out``."""
    handler = _UnverifiedReporter(out)
    download_logger = logging.getLogger('s3transfer')
    download_logger.addHandler(handler)
    try:
        yield
    finally:
        download_logger.removeHandler(handler)
