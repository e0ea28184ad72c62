"""What a run prints: the progress display while transfers run, then the outcome."""

from __future__ import annotations

import sys
from typing import Any

from s3transfer._progress import format_size, make_display
from s3transfer.cli.common import printable
from s3transfer.directory import DirectoryResult, Plan, submit_plan
from s3transfer.manager import TransferConfig, TransferManager


def run_plan(
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


def report(result: DirectoryResult, elapsed: float, quiet: bool) -> None:
    """Print refused and failed files (stderr), then a summary unless ``quiet``."""
    for refused in result.refused:
        error(f'refused: {refused.source}: {refused.reason}')
    for failure in result.failed:
        item = failure.item
        error(f'failed: {item.source} -> {item.destination}: {failure.message}')
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


def error(message: str) -> None:
    """Print one error line on stderr, control characters escaped."""
    print(printable(message), file=sys.stderr, flush=True)
