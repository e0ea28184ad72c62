"""CPU cost of download verification (``verify_download_checksums``) on the null server.

Downloads one object (default 1 GiB, a full-object checksum on it) to a file, with and
without verification, alternating, in this process; reports the median CPU time
(user+sys of every thread, ``getrusage``) of the transfer alone. Run from the repository
root with this checkout importable::

    PYTHONPATH=. python benchmarks/verify_cost.py --size 1G --rounds 3 --algorithm CRC32

The issue's target: verified CPU <= 1.10 x unverified CPU.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from payload import iter_pattern, pattern_slice  # noqa: E402

from s3transfer import checksums  # noqa: E402
from s3transfer.checksums import get_algorithm  # noqa: E402
from s3transfer.manager import TransferConfig, TransferManager  # noqa: E402
from s3transfer.sizes import parse_size  # noqa: E402
from tests.fakes3 import null_client  # noqa: E402


def _cpu() -> tuple[float, float]:
    """(user + sys, user) CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_utime


def _one(client, path: str, verify: bool) -> tuple[float, float, float, object]:
    """One download: (cpu, user cpu, wall) seconds and its verification result."""
    config = TransferConfig(verify_download_checksums=verify)
    (start_cpu, start_user), start = _cpu(), time.monotonic()
    with TransferManager(client, config) as manager:
        future = manager.download('bucket', 'obj', path)
        try:
            future.result()
        except checksums.ChecksumMismatchError:
            pass  # only the no-CRC run of --breakdown, which cannot match
    (end_cpu, end_user), wall = _cpu(), time.monotonic() - start
    if os.path.exists(path):
        os.remove(path)
    result = future.meta.checksum_verification
    return end_cpu - start_cpu, end_user - start_user, wall, result


def _no_crc(name: str):
    """A CRC function that reads nothing: the verifier's machinery alone."""
    return lambda data, previous=0: previous


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', default='1G', help='object size (default 1G)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--algorithm', default='CRC32', help='CRC32, CRC32C, CRC64NVME')
    parser.add_argument(
        '--breakdown',
        action='store_true',
        help='also run the verified path with a CRC that reads nothing (the '
        "verifier's own cost, without the CRC pass)",
    )
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    algorithm = get_algorithm(args.algorithm)
    crc = 0
    for block in iter_pattern(0, size):
        crc = algorithm.compute(block, crc)
    client, server = null_client(content=pattern_slice)
    server.add_object('obj', 0, size, (algorithm.name, algorithm.encode(crc)))
    # Runs: plain, verified, and (--breakdown) verified with a CRC reading nothing.
    runs = ('plain', 'verified', 'no-CRC') if args.breakdown else ('plain', 'verified')
    cpu: dict[str, list[float]] = {run: [] for run in runs}
    user: dict[str, list[float]] = {run: [] for run in runs}
    real_crc_function = checksums.crc_function
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'out.bin')
        for round_number in range(args.rounds):
            for run in runs:
                if run == 'no-CRC':
                    checksums.crc_function = _no_crc
                try:
                    used, used_user, wall, result = _one(client, path, run != 'plain')
                finally:
                    checksums.crc_function = real_crc_function
                cpu[run].append(used)
                user[run].append(used_user)
                print(
                    f'round {round_number + 1} {run:8s} cpu {used:6.2f}s user '
                    f'{used_user:6.2f}s wall {wall:6.2f}s {result or ""}',
                    flush=True,
                )
                if run == 'verified' and not (result and result.verified):
                    print('verification did not run', file=sys.stderr)
                    return 1
    plain = statistics.median(cpu['plain'])
    verified = statistics.median(cpu['verified'])
    ratio = verified / plain
    verdict = 'PASS' if ratio <= 1.10 else 'FAIL'
    print(
        f'{args.algorithm} {args.size}: median cpu {plain:.2f}s plain, '
        f'{verified:.2f}s verified, ratio {ratio:.3f} -> {verdict} (target <= 1.10)'
    )
    low_plain, low_verified = min(cpu['plain']), min(cpu['verified'])
    crc_alone = _crc_cost(algorithm, size)
    print(
        f'min cpu {low_plain:.2f}s plain, {low_verified:.2f}s verified, ratio '
        f'{low_verified / low_plain:.3f}; the CRC alone: {crc_alone:.3f}s '
        f'({crc_alone / low_plain:.1%} of the fastest plain run)'
    )
    # The CRC pass is user time; the kernel's page-cache time (sys) swings by
    # seconds between rounds on a shared VM, so user time is the steadier view.
    medians = {run: statistics.median(user[run]) for run in runs}
    shown = ', '.join(f'{medians[run]:.3f}s {run}' for run in runs)
    print(
        f'user cpu medians: {shown}; verified - plain = '
        f'{medians["verified"] - medians["plain"]:.3f}s'
    )
    return 0


def _crc_cost(algorithm, size: int, chunk: int = 256 * 1024) -> float:
    """Best-of-3 CPU seconds of the CRC alone over ``size`` bytes in io chunks."""
    data = bytes(chunk)
    best = float('inf')
    for _ in range(3):
        start, crc = _cpu()[0], 0
        for _ in range(size // chunk):
            crc = algorithm.compute(data, crc)
        best = min(best, _cpu()[0] - start)
    return best


if __name__ == '__main__':
    sys.exit(main())
