"""Transfer settings of a run: the ``TransferConfig`` built from the flags."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from s3transfer.cli.common import parse_size, positive_int
from s3transfer.manager import TransferConfig

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
