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

from s3transfer.checksums import get_algorithm  # noqa: E402
from s3transfer.manager import TransferConfig, TransferManager  # noqa: E402
from s3transfer.sizes import parse_size  # noqa: E402
from tests.fakes3 import null_client  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _one(client, path: str, verify: bool) -> tuple[float, float, object]:
    config = TransferConfig(verify_download_checksums=verify)
    start_cpu, start = _cpu(), time.monotonic()
    with TransferManager(client, config) as manager:
        future = manager.download('bucket', 'obj', path)
        future.result()
    cpu, wall = _cpu() - start_cpu, time.monotonic() - start
    os.remove(path)
    return cpu, wall, future.meta.checksum_verification


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', default='1G', help='object size (default 1G)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--algorithm', default='CRC32', help='CRC32, CRC32C, CRC64NVME')
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    algorithm = get_algorithm(args.algorithm)
    crc = 0
    for block in iter_pattern(0, size):
        crc = algorithm.compute(block, crc)
    client, server = null_client(content=pattern_slice)
    server.add_object('obj', 0, size, (algorithm.name, algorithm.encode(crc)))
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, 'out.bin')
        for round_number in range(args.rounds):
            for verify in (False, True):
                used, wall, result = _one(client, path, verify)
                cpu[verify].append(used)
                print(
                    f'round {round_number + 1} verify={verify!s:5} cpu {used:6.2f}s '
                    f'wall {wall:6.2f}s {result or ""}',
                    flush=True,
                )
                if verify and not (result and result.verified):
                    print('verification did not run', file=sys.stderr)
                    return 1
    plain, verified = statistics.median(cpu[False]), statistics.median(cpu[True])
    ratio = verified / plain
    verdict = 'PASS' if ratio <= 1.10 else 'FAIL'
    print(
        f'{args.algorithm} {args.size}: median cpu {plain:.2f}s plain, '
        f'{verified:.2f}s verified, ratio {ratio:.3f} -> {verdict} (target <= 1.10)'
    )
    low_plain, low_verified = min(cpu[False]), min(cpu[True])
    crc_alone = _crc_cost(algorithm, size)
    print(
        f'min cpu {low_plain:.2f}s plain, {low_verified:.2f}s verified, ratio '
        f'{low_verified / low_plain:.3f}; the CRC alone: {crc_alone:.3f}s '
        f'({crc_alone / low_plain:.1%} of the fastest plain run)'
    )
    return 0


def _crc_cost(algorithm, size: int, chunk: int = 256 * 1024) -> float:
    """Best-of-3 CPU seconds of the CRC alone over ``size`` bytes in io chunks."""
    data = bytes(chunk)
    best = float('inf')
    for _ in range(3):
        start, crc = _cpu(), 0
        for _ in range(size // chunk):
            crc = algorithm.compute(data, crc)
        best = min(best, _cpu() - start)
    return best


if __name__ == '__main__':
    sys.exit(main())
