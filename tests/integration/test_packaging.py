"""Installing this package beside boto3 keeps it, and boto3 imports on top of it."""

import os
import subprocess
import sys
import textwrap
import venv

import pytest

from tests.conftest import REPO_ROOT


def _run(*args, **kwargs):
    return subprocess.run(
        args, check=True, capture_output=True, text=True, timeout=600, **kwargs
    )


@pytest.mark.timeout(900)
def test_pip_keeps_our_package_when_boto3_is_installed_after(tmp_path):
    env_dir = tmp_path / 'venv'
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / 'bin' / 'python')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    _run(python, '-m', 'pip', 'install', '--quiet', str(REPO_ROOT), env=env)
    _run(python, '-m', 'pip', 'install', '--quiet', 'boto3==1.44.5', env=env)
    check = _run(python, '-m', 'pip', 'check', env=env)
    assert 'No broken requirements' in check.stdout
    shown = _run(python, '-m', 'pip', 'show', 's3transfer', env=env).stdout
    assert 'Version: 0.19.3' in shown
    probe = _run(
        python,
        '-c',
        'import boto3.s3.transfer, s3transfer, s3transfer.manager; '
        'print(s3transfer.__file__); '
        'import boto3.s3.transfer as t; '
        'print(t.TransferManager is s3transfer.manager.TransferManager)',
        cwd=str(tmp_path),
        env=env,
    ).stdout.split()
    site_packages = str(env_dir)
    assert probe[0].startswith(site_packages)
    assert probe[1] == 'True'
    installed = os.path.dirname(probe[0])
    # Ours, not the original: the installed module is this checkout's file.
    with open(os.path.join(installed, 'manager.py')) as f:
        ours = (REPO_ROOT / 's3transfer' / 'manager.py').read_text()
        assert f.read() == ours
    assert os.path.exists(os.path.join(installed, 'py.typed'))
    assert sys.version_info >= (3, 10)


def test_import_without_awscrt_raises_import_error_and_others_import():
    script = textwrap.dedent(
        """
        import importlib, sys
        sys.modules['awscrt'] = None  # makes every awscrt import fail
        for name in ['bandwidth', 'compat', 'constants', 'copies', 'delete',
                     'download', 'exceptions', 'futures', 'manager',
                     'processpool', 'subscribers', 'tasks', 'upload', 'utils']:
            importlib.import_module('s3transfer.' + name)
        try:
            import s3transfer.crt
        except ImportError:
            print('ImportError')
        """
    )
    result = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,  # `python -c` imports s3transfer from this checkout
    )
    assert result.stderr == ''
    assert result.stdout == 'ImportError\n'
