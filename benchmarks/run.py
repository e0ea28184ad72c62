"""Side-by-side benchmark: the original s3transfer 0.19.3 against this checkout.

Usage: ``python benchmarks/run.py`` (``--help`` for sizes, rounds, servers, profiling).
Each workload runs in a fresh child process per library, alternating original/ours for
several rounds; every byte moved is verified and the medians are printed as a table.
The original is only installed and called (a black box), never read.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from payload import file_crc, key_pos, pattern_crc, write_pattern_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout
from s3transfer.sizes import parse_size  # noqa: E402  (the package's one parser)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENVS = HERE / '.venvs'
SIDES = ('original', 'ours')
WORKLOADS = (
    'up_big',
    'down_big',
    'copy_big',
    'up_small',
    'down_small',
    'up_stream',
    'down_stream',
    'up_loop',
    'down_loop',
)
# Also measured as plain botocore calls, one file at a time (workloads.FLOORS).
FLOOR_WORKLOADS = ('down_small', 'up_small', 'up_loop', 'down_loop')
# boto3's ``upload_file``/``download_file`` in a loop, one manager per call (issue 18).
LOOP_WORKLOADS = ('up_loop', 'down_loop')
BUCKET = 'bench'
PINS = ['boto3==1.44.5', 'botocore==1.44.5']
_CHILD_ENV = {
    'AWS_CONFIG_FILE': os.devnull,
    'AWS_SHARED_CREDENTIALS_FILE': os.devnull,
    'AWS_EC2_METADATA_DISABLED': 'true',
}


# -- virtualenvs ------------------------------------------------------------------


def _venv_python(name: str) -> Path:
    return VENVS / name / 'bin' / 'python'


def _site_packages(name: str) -> Path:
    return next((VENVS / name / 'lib').glob('python3*/site-packages'))


def _pip(name: str, *args: str) -> None:
    cmd = [str(_venv_python(name)), '-m', 'pip', '-q', *args]
    subprocess.run(cmd, check=True, cwd=tempfile.gettempdir())  # no build/ in the repo


def _create_venv(name: str, *packages: str) -> None:
    """Create ``.venvs/<name>`` with ``packages`` unless it is already complete."""
    marker = VENVS / name / '.bench-ready'
    wanted = ' '.join(packages)
    if marker.exists() and marker.read_text() == wanted:
        return
    shutil.rmtree(VENVS / name, ignore_errors=True)
    base = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base, '-m', 'venv', str(VENVS / name)], check=True)
    _pip(name, 'install', *packages)
    marker.write_text(wanted)


def _install_ours(package: Path) -> None:
    """Reinstall ours from a staged copy (so no build/ lands in the repo)."""
    with tempfile.TemporaryDirectory() as stage:
        for name in ('pyproject.toml', 'README.md', 'LICENSE'):
            shutil.copy(REPO / name, stage)
        shutil.copytree(
            package,
            Path(stage) / 's3transfer',
            ignore=shutil.ignore_patterns('__pycache__'),
        )
        flags = ['--no-deps', '--force-reinstall', '--no-build-isolation']
        _pip('ours', 'install', *flags, stage)


_PROBE = """
import importlib.metadata as md, json, s3transfer, boto3, botocore
d = md.distribution('s3transfer')
print(json.dumps([s3transfer.__file__, d.version, boto3.__version__,
                  botocore.__version__, d.read_text('direct_url.json') is not None]))
"""


def _probe(name: str) -> dict:
    out = subprocess.run(
        [str(_venv_python(name)), '-c', _PROBE],
        cwd=tempfile.gettempdir(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    keys = ('file', 'version', 'boto3', 'botocore', 'local')
    return dict(zip(keys, json.loads(out), strict=True))


def setup_venvs(reinstall: bool, package: Path) -> None:
    """Create both venvs, (re)install ours from ``package``, check what each imports."""
    VENVS.mkdir(parents=True, exist_ok=True)
    _create_venv('original', *PINS, 's3transfer==0.19.3')
    _create_venv('ours', *PINS, 'setuptools>=61', 'wheel')
    if reinstall or not (VENVS / 'ours' / '.bench-ours').exists():
        for _ in range(3):  # the checkout may change while it is being installed
            _install_ours(package)
            if _same_sources(package, _site_packages('ours') / 's3transfer'):
                break
        (VENVS / 'ours' / '.bench-ours').touch()
    for side in SIDES:
        info = _probe(side)
        site = str(VENVS / side / 'lib')
        ok = info['file'].startswith(site) and info['local'] == (side == 'ours')
        ok = ok and info['boto3'] == info['botocore'] == '1.44.5'
        if not ok:
            raise SystemExit(f'venv {side!r} is not what it should be: {info}')
        if side == 'ours' and not _same_sources(package, Path(info['file']).parent):
            raise SystemExit('ours venv holds a stale copy: rerun with --reinstall')
        print(f'{side:9s} s3transfer {info["version"]} from {info["file"]}')


def _same_sources(package: Path, installed: Path) -> bool:
    """Whether the installed package (ours only) is byte-identical to ``package``."""
    sources = sorted(package.glob('*.py'))
    return all((installed / f.name).read_bytes() == f.read_bytes() for f in sources)


def setup_tools() -> Path:
    """A third venv with localbucket (the local S3 server) and py-spy."""
    _create_venv('tools', 'localbucket==1.2.1', 'py-spy==0.4.3')
    return VENVS / 'tools' / 'bin'


# -- data -------------------------------------------------------------------------


class Data:
    """Source files, output dirs and the local server's bucket under one work dir."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        self.root = root
        self.args = args
        self.src = root / 'src'
        self.out = root / 'out'
        self.store = root / 'store'
        self.bucket_dir = self.store / BUCKET
        self._crcs: dict[tuple[int, int], int] = {}

    def sizes(self, workload: str) -> int:
        """Bytes per object for ``workload``."""
        if workload.endswith('_big'):
            return self.args.big
        if workload.endswith('_stream'):
            return self.args.stream
        return self.args.small_size

    def count(self, workload: str) -> int:
        """How many objects ``workload`` moves."""
        if workload in LOOP_WORKLOADS:
            return self.args.loop_count
        return self.args.small_count if workload.endswith('_small') else 1

    def expected(self, key: str, size: int) -> tuple[int, int]:
        """``(size, crc32)`` that object ``key`` must have."""
        spot = (key_pos(key), size)
        if spot not in self._crcs:
            self._crcs[spot] = pattern_crc(*spot)
        return size, self._crcs[spot]

    def prepare(self, workloads: list[str], local: bool) -> None:
        """Write every source file and (for the local server) every stored object."""
        args = self.args
        self.src.mkdir(parents=True, exist_ok=True)
        self.bucket_dir.mkdir(parents=True, exist_ok=True)
        files: list[tuple[Path, str, int]] = []
        if 'up_big' in workloads:
            files.append((self.src / 'up_big', 'up_big', args.big))
        if 'up_small' in workloads:
            (self.src / 'small').mkdir(exist_ok=True)
            files += [
                (self.src / 'small' / f'{i}', f'up_small/{i}', args.small_size)
                for i in range(args.small_count)
            ]
        if 'up_loop' in workloads:
            (self.src / 'loop').mkdir(exist_ok=True)
            files += [
                (self.src / 'loop' / f'{i}', f'up_loop/{i}', args.small_size)
                for i in range(args.loop_count)
            ]
        if local:
            stored = {'down_big': args.big, 'copy_src': args.big}
            stored['down_stream'] = args.stream
            for name, size in stored.items():
                files.append((self.bucket_dir / name, name, size))
            (self.bucket_dir / 'small').mkdir(exist_ok=True)
            files += [
                (self.bucket_dir / 'small' / f'{i}', f'small/{i}', args.small_size)
                for i in range(max(args.small_count, args.loop_count))
            ]
        for path, key, size in files:
            if not path.exists() or path.stat().st_size != size:
                write_pattern_file(str(path), key_pos(key), size)

    def job(self, workload: str, endpoint: str | None) -> dict:
        """The JSON job handed to the child for ``workload``."""
        shutil.rmtree(self.out, ignore_errors=True)
        (self.out / 'small').mkdir(parents=True)
        (self.out / 'loop').mkdir(parents=True)
        job = {'workload': workload, 'bucket': BUCKET, 'endpoint': endpoint}
        job['size'] = self.sizes(workload)
        job['count'] = self.count(workload)
        folders = {'up_small': 'small', 'down_small': 'small'}
        folders.update(up_loop='loop', down_loop='loop')
        job['src'] = str(self.src / folders.get(workload, workload))
        job['dst'] = str(self.out / folders.get(workload, workload))
        return job


# -- verification -----------------------------------------------------------------


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(what)


def _check_parts(data: Data, key: str, parts: list, size: int) -> None:
    """Uploaded parts (null server) must tile the source in order, byte for byte."""
    offset, base = 0, key_pos(key)
    for number, (part, length, crc) in enumerate(parts, 1):
        _check(part == number, f'{key}: part {part} listed as #{number}')
        _check(crc == pattern_crc(base + offset, length), f'{key}: part {part} bytes')
        offset += length
    _check(offset == size, f'{key}: {offset} bytes uploaded, {size} expected')


def _check_copy(key: str, ranges: list, size: int) -> None:
    """Copied ranges (null server) must tile the source object in order."""
    offset = 0
    for number, (part, src, start, end) in enumerate(ranges, 1):
        _check(part == number and src == 'copy_src', f'{key}: part {part} from {src}')
        _check(start == offset, f'{key}: part {part} starts at {start}, not {offset}')
        offset = end + 1
    _check(offset == size, f'{key}: copied {offset} bytes, {size} expected')


def _stored_or_result(data: Data, out: dict, key: str, source: str, size: int):
    """Check object ``key`` on whichever server ran (content must equal ``source``)."""
    if 'results' in out:
        _check(key in out['results'], f'{key} never completed')
        _check_parts(data, source, out['results'][key], size)
    else:
        got = file_crc(str(data.bucket_dir / key))
        _check(got == data.expected(source, size), f'{key}: stored bytes differ')


def verify(data: Data, job: dict, out: dict) -> None:
    """Raise AssertionError unless every byte of the workload arrived intact."""
    name, size, count = job['workload'], job['size'], job['count']
    total = size * count
    _check(out['progress'] == total, f'progress {out["progress"]} != {total}')
    if name in ('up_big', 'up_stream'):
        _stored_or_result(data, out, name, name, size)
    elif name in ('up_small', 'up_loop'):
        for i in range(count):
            key = f'{name}/{i}'
            _stored_or_result(data, out, key, key, size)
    elif name == 'copy_big':
        if 'copies' in out:
            _check_copy(name, out['copies'].get(name, []), size)
        else:
            _stored_or_result(data, out, name, 'copy_src', size)
    elif name == 'down_big':
        _check(file_crc(job['dst']) == data.expected(name, size), 'down_big bytes')
    elif name in ('down_small', 'down_loop'):
        for i in range(count):
            got = file_crc(os.path.join(job['dst'], f'{i}'))
            _check(got == data.expected(f'small/{i}', size), f'small/{i} bytes')
    elif name == 'down_stream':
        _check(tuple(out['stream']) == data.expected(name, size), 'stream bytes')


def clean_uploads(data: Data) -> None:
    """Drop what a workload wrote to the local server, keeping the download sources."""
    for name in ('up_big', 'up_stream', 'copy_big'):
        (data.bucket_dir / name).unlink(missing_ok=True)
    shutil.rmtree(data.bucket_dir / 'up_small', ignore_errors=True)
    shutil.rmtree(data.bucket_dir / 'up_loop', ignore_errors=True)


# -- local server -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _head(port: int, path: str) -> int:
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
    try:
        conn.request('HEAD', path)
        return conn.getresponse().status
    finally:
        conn.close()


@contextmanager
def local_server(tools: Path, data: Data) -> Iterator[str]:
    """Run localbucket on 127.0.0.1 over the data store; yield its endpoint URL."""
    port = _free_port()
    log = open(data.root / 'localbucket.log', 'wb')
    cmd = [str(tools / 'localbucket'), '--port', str(port), str(data.store)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                _head(port, f'/{BUCKET}')
                break
            except OSError:
                time.sleep(0.1)
        # Warm the server's ETag (MD5) cache so no round pays for it.
        for key in ('down_big', 'copy_src', 'down_stream'):
            if (data.bucket_dir / key).exists():
                _check(_head(port, f'/{BUCKET}/{key}') == 200, f'HEAD {key}')
        yield f'http://127.0.0.1:{port}'
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


# -- running children ---------------------------------------------------------------


def run_child(side: str, job: dict, cwd: Path, wrap: list[str] = ()) -> dict:
    """Run one workload in a fresh ``side`` interpreter; add the child's rusage."""
    result = cwd / f'result-{side}.json'
    result.unlink(missing_ok=True)
    job = {**job, 'result': str(result)}
    cmd = [*wrap, str(_venv_python(side)), str(HERE / 'workloads.py'), json.dumps(job)]
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTHON')}
    env.update(_CHILD_ENV)
    with open(cwd / f'child-{side}.log', 'w+b') as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            tail = log.read()[-3000:].decode(errors='replace')
            raise RuntimeError(f'{side} {job["workload"]} failed:\n{tail}')
    out = json.loads(result.read_text())
    _check(out['s3transfer_file'].startswith(str(VENVS / side)), 'wrong s3transfer')
    out['proc_cpu'] = usage.ru_utime + usage.ru_stime
    out['rss_kib'] = usage.ru_maxrss
    return out


def measure(args: argparse.Namespace, data: Data, endpoints: dict) -> list[dict]:
    """Every (server, workload) for ``args.rounds`` rounds, original then ours."""
    rows = []
    for server, endpoint in endpoints.items():
        for workload in args.workloads:
            runs: dict[str, list[dict]] = {side: [] for side in SIDES}
            for _ in range(args.rounds):
                for side in SIDES:
                    job = data.job(workload, endpoint)
                    out = run_child(side, job, data.root)
                    verify(data, job, out)
                    clean_uploads(data)
                    runs[side].append(out)
            rows.append(_summarise(server, workload, data, runs))
            if workload in FLOOR_WORKLOADS:
                rows[-1]['floor_cpu'] = _floor_cpu(args, data, workload, endpoint)
            print(_format_row(rows[-1]), flush=True)
    return rows


def _floor_cpu(
    args: argparse.Namespace, data: Data, workload: str, endpoint: str | None
) -> float:
    """Median transfer CPU of the workload's plain-botocore floor (ours' venv)."""
    cpus = []
    for _ in range(args.rounds):
        job = {**data.job(workload, endpoint), 'floor': True}
        out = run_child('ours', job, data.root)
        verify(data, job, out)
        clean_uploads(data)
        cpus.append(out['cpu'])
    return statistics.median(cpus)


def _summarise(server: str, workload: str, data: Data, runs: dict) -> dict:
    row = {'server': server, 'workload': workload}
    count = data.count(workload)
    row['bytes'] = data.sizes(workload) * count
    row['count'] = count
    for side, outs in runs.items():
        row[side] = {
            'wall': statistics.median(o['wall'] for o in outs),
            'cpu': statistics.median(o['cpu'] for o in outs),
            'user': statistics.median(o['user'] for o in outs),
            'proc_cpu': statistics.median(o['proc_cpu'] for o in outs),
            'rss': statistics.median(o['rss_kib'] for o in outs) / 1024,
            'growth': statistics.median(
                o['rss_kib'] - o['rss_before_kib'] for o in outs
            )
            / 1024,
        }
    return row


# -- report -----------------------------------------------------------------------

_METRICS = (
    ('wall', 'wall s'),
    ('cpu', 'cpu s (transfer)'),
    ('user', 'user s (transfer)'),
    ('proc_cpu', 'cpu s (process)'),
    ('rss', 'peak RSS MiB'),
    ('growth', 'RSS growth MiB'),
)


def _ratio(row: dict, metric: str) -> float:
    orig = row['original'][metric]
    return row['ours'][metric] / orig if orig else float('nan')


def _format_row(row: dict) -> str:
    cells = [f'{row["server"]:5s} {row["workload"]:11s}']
    for metric, _ in _METRICS:
        o, u = row['original'][metric], row['ours'][metric]
        cells.append(f'{o:7.2f} {u:7.2f} {_ratio(row, metric):5.2f}')
    mbps = row['bytes'] / row['ours']['wall'] / 1e6
    cells.append(f'{row["bytes"] / row["original"]["wall"] / 1e6:7.0f} {mbps:7.0f}')
    return ' | '.join(cells)


def _header() -> str:
    heads = [f'{"server":5s} {"workload":11s}']
    heads += [f'{title:^27s}' for _, title in _METRICS]
    heads.append(f'{"MB/s":^15s}')
    sub = [' ' * 17] + [f'{"orig":>7s} {"ours":>7s} {"ratio":>5s}'] * len(_METRICS)
    sub.append(f'{"orig":>7s} {"ours":>7s}')
    return ' | '.join(heads) + '\n' + ' | '.join(sub)


def check_targets(rows: list[dict]) -> list[str]:
    """The issue's targets, each as a PASS/FAIL line (CPU = transfer-phase CPU)."""
    by = {(r['server'], r['workload']): r for r in rows}
    lines = []

    def target(key: tuple[str, str], text: str, ok_fn) -> None:
        if key in by:
            ok, shown = ok_fn(by[key])
            lines.append(
                f'{"PASS" if ok else "FAIL"}  {key[0]}/{key[1]}: {text} ({shown})'
            )

    def cpu_at_most(limit: float):
        return lambda r: (_ratio(r, 'cpu') <= limit, f'{_ratio(r, "cpu"):.2f}')

    target(('null', 'down_big'), 'cpu ratio <= 0.5', cpu_at_most(0.5))
    target(
        ('null', 'down_big'),
        'peak RSS ratio <= 0.5',
        lambda r: (_ratio(r, 'rss') <= 0.5, f'{_ratio(r, "rss"):.2f}'),
    )
    for name in ('down_small', 'up_small'):
        target(('null', name), 'cpu per file ratio <= 0.6', cpu_at_most(0.6))
    for (server, name), row in by.items():
        if 'floor_cpu' in row:
            floor = row['floor_cpu'] / row['original']['cpu']
            lines.append(
                f'INFO  {server}/{name}: botocore alone, one file at a time, costs '
                f'{row["floor_cpu"]:.2f} s = {floor:.2f} x the original: the lowest '
                f'reachable ratio'
            )
    for name in ('up_big', 'up_stream', 'down_stream'):
        target(('null', name), 'cpu ratio <= 0.9', cpu_at_most(0.9))
    lines += _floor_targets(by)
    for (server, name), row in by.items():
        cpu, wall = _ratio(row, 'cpu'), _ratio(row, 'wall')
        lines.append(
            f'{"PASS" if cpu <= 1.0 else "FAIL"}  {server}/{name}: '
            f'cpu ratio <= 1.0 ({cpu:.2f}; wall {wall:.2f})'
        )
    target(
        ('local', 'down_big'),
        'throughput > 417 MB/s',
        lambda r: (
            r['bytes'] / r['ours']['wall'] / 1e6 > 417,
            f'{r["bytes"] / r["ours"]["wall"] / 1e6:.0f} MB/s',
        ),
    )
    return lines


def _floor_targets(by: dict) -> list[str]:
    """Issue 18, targets 1 and 2: ours' CPU against the plain-botocore floor."""
    lines = []
    limits = {'up_loop': 1.5, 'down_loop': 1.5, 'up_small': 1.15, 'down_small': 1.15}
    for (server, name), row in by.items():
        if name not in limits or 'floor_cpu' not in row:
            continue
        ours, orig = row['ours']['cpu'], row['original']['cpu']
        to_floor = ours / row['floor_cpu']
        ok = to_floor <= limits[name]
        text = f'cpu <= {limits[name]} x floor'
        if name in LOOP_WORKLOADS:
            ok = ok and ours < orig
            text += ' and < original'
        lines.append(
            f'{"PASS" if ok else "FAIL"}  {server}/{name}: {text} (ours '
            f'{to_floor:.2f} x floor, original {orig / row["floor_cpu"]:.2f} x floor; '
            f'{ours:.2f} / {orig:.2f} / {row["floor_cpu"]:.2f} s)'
        )
    return lines


# -- profiling ----------------------------------------------------------------------


def profile(args: argparse.Namespace, data: Data, endpoints: dict, tools: Path) -> None:
    """Sample ours with py-spy on each workload and print where the CPU goes."""
    for server, endpoint in endpoints.items():
        for workload in args.workloads:
            job = data.job(workload, endpoint)
            raw = data.root / f'profile-{server}-{workload}.txt'
            # --gil: sample only the thread holding the GIL, i.e. Python CPU time
            # (threads blocked on locks would otherwise look busy).
            wrap = [str(tools / 'py-spy'), 'record', '-r', '250', '-f', 'raw', '--gil']
            wrap += ['-o', str(raw), '--']
            out = run_child('ours', job, data.root, wrap)
            verify(data, job, out)
            clean_uploads(data)
            print(f'\n== profile of ours: {server}/{workload} (raw stacks: {raw})')
            print(summarise_stacks(raw.read_text(), args.top))


def summarise_stacks(text: str, top: int) -> str:
    """Self and inclusive sample shares per function from py-spy's raw output."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    owners: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(' ')
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(';')[1:]]  # [0] is the thread
        total += count
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + count
        for name in set(frames):
            incl[name] = incl.get(name, 0) + count
        owner = _owner(frames)
        owners[owner] = owners.get(owner, 0) + count
    lines = [f'{total} samples; by owner of the innermost non-stdlib frame:']
    for name, count in sorted(owners.items(), key=lambda kv: -kv[1]):
        lines.append(f'{100 * count / total:5.1f}%  {name}')
    lines.append('self% / inclusive% / function')
    for name, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(
            f'{100 * count / total:5.1f} {100 * incl[name] / total:6.1f}  {name}'
        )
    lines.append('-- top inclusive (package frames only):')
    ours = [kv for kv in incl.items() if 's3transfer/' in kv[0]]
    for name, count in sorted(ours, key=lambda kv: -kv[1])[:top]:
        lines.append(f'      {100 * count / total:6.1f}  {name}')
    return '\n'.join(lines)


_OWNERS = (
    ('importlib', 'startup (imports)'),
    ('s3transfer/', 's3transfer'),
    ('botocore/', 'botocore'),
    ('urllib3/', 'urllib3'),
    ('dateutil/', 'botocore'),
    ('fakes3.py', 'harness'),
    ('payload.py', 'harness'),
    ('workloads.py', 'harness'),
)


def _owner(frames: list[str]) -> str:
    """Who a sample's CPU belongs to: stdlib frames count for their caller."""
    if any('importlib' in frame for frame in frames):
        return 'startup (imports)'
    for frame in reversed(frames):
        for marker, owner in _OWNERS:
            if marker in frame:
                return owner
    return 'other'


def _frame_name(frame: str) -> str:
    """``'read (x/y/s3transfer/utils.py:12)'`` → ``'read (s3transfer/utils.py)'``."""
    func, _, where = frame.partition(' (')
    path = where.rstrip(')').rsplit(':', 1)[0]
    for marker in ('site-packages/', 'lib/python3.11/'):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f'{func} ({path})'


# -- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; sizes accept K/M/G suffixes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--big', type=parse_size, default='1G')
    parser.add_argument('--stream', type=parse_size, default='256M')
    parser.add_argument('--small-count', type=int, default=1000)
    parser.add_argument('--small-size', type=parse_size, default='64K')
    parser.add_argument('--loop-count', type=int, default=300, help='boto3 loops')
    parser.add_argument('--rounds', type=int, help='5 (3 with --quick)')
    parser.add_argument('--servers', default='null,local', help='null,local')
    parser.add_argument('--workloads', default=','.join(WORKLOADS))
    parser.add_argument(
        '--quick', action='store_true', help='64M/16M/200 files, 3 rounds'
    )
    parser.add_argument('--reinstall', action='store_true', default=True)
    parser.add_argument('--no-reinstall', dest='reinstall', action='store_false')
    parser.add_argument('--profile', action='store_true', help='py-spy ours instead')
    parser.add_argument('--top', type=int, default=25)
    default_workdir = os.path.join(tempfile.gettempdir(), 's3transfer-bench')
    parser.add_argument('--workdir', default=default_workdir)
    parser.add_argument('--json', help='also write the rows to this file')
    parser.add_argument(
        '--ours-package',
        default=str(REPO / 's3transfer'),
        help='package dir to install as ours (e.g. a patched copy to try a change)',
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.big, args.stream = 64 << 20, 16 << 20
        args.small_count = 200
        args.loop_count = 100
    args.rounds = args.rounds or (3 if args.quick else 5)
    args.servers = [s for s in args.servers.split(',') if s]
    args.workloads = [w for w in args.workloads.split(',') if w]
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f'unknown workload {name!r}; choose from {WORKLOADS}')
    return args


def main(argv: list[str] | None = None) -> int:
    """Set up, run (or profile) and report."""
    args = parse_args(argv)
    started = time.perf_counter()
    setup_venvs(args.reinstall, Path(args.ours_package).resolve())
    tools = setup_tools()
    data = Data(Path(args.workdir), args)
    data.root.mkdir(parents=True, exist_ok=True)
    data.prepare(args.workloads, 'local' in args.servers)
    with contextmanager(_servers)(args, tools, data) as endpoints:
        if args.profile:
            profile(args, data, endpoints, tools)
            return 0
        print(_header(), flush=True)
        rows = measure(args, data, endpoints)
    print('\n'.join(['', *check_targets(rows)]))
    print(
        f'\n{args.rounds} rounds, medians; total {time.perf_counter() - started:.0f} s'
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _servers(args: argparse.Namespace, tools: Path, data: Data) -> Iterator[dict]:
    endpoints: dict[str, str | None] = {}
    if 'null' in args.servers:
        endpoints['null'] = None
    if 'local' not in args.servers:
        yield endpoints
        return
    with local_server(tools, data) as url:
        endpoints['local'] = url
        yield endpoints


if __name__ == '__main__':
    sys.exit(main())
