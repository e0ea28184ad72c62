"""Dask is optional: only ``s3transfer.distributed`` needs it, and says so."""

import subprocess
import sys

_WITHOUT_DASK = """
import importlib, pkgutil, sys

class _NoDask:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('dask', 'distributed'):
            raise ImportError(f'No module named {name!r}')
        return None

sys.meta_path.insert(0, _NoDask())
import s3transfer
for module in pkgutil.walk_packages(s3transfer.__path__, 's3transfer.'):
    if module.name in ('s3transfer.distributed', 's3transfer.crt'):
        continue
    importlib.import_module(module.name)
try:
    import s3transfer.distributed
except ImportError as error:
    print(error)
else:
    print('imported without dask')
"""


def test_only_the_distributed_module_needs_dask():
    output = subprocess.run(
        [sys.executable, '-c', _WITHOUT_DASK],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert output.returncode == 0, output.stderr
    assert "pip install 's3transfer[dask]'" in output.stdout
