"""The package's type hints are checked: mypy passes, and misuse is flagged.

mypy comes with the ``lint`` extra; the CRT virtualenv in CI does not install it.
"""

import textwrap

import pytest

from tests.conftest import REPO_ROOT

mypy_api = pytest.importorskip('mypy.api', reason='mypy is in the lint extra')


def _check(source: str, tmp_path) -> tuple[str, int]:
    path = tmp_path / 'snippet.py'
    path.write_text(textwrap.dedent(source))
    stdout, stderr, status = mypy_api.run(
        [
            '--config-file',
            str(REPO_ROOT / 'pyproject.toml'),
            '--no-incremental',
            '--cache-dir',
            str(tmp_path / 'cache'),
            str(path),
        ]
    )
    return stdout + stderr, status


def test_a_string_size_in_transfer_config_is_a_type_error(tmp_path):
    output, status = _check(
        """
        from s3transfer.manager import TransferConfig
        TransferConfig(multipart_threshold='8MB')
        """,
        tmp_path,
    )
    assert status == 1
    assert 'multipart_threshold' in output and '"str"' in output


def test_correct_calls_of_the_public_api_pass(tmp_path):
    output, status = _check(
        """
        import io
        from typing import Any
        from s3transfer.manager import TransferConfig, TransferManager
        from s3transfer.subscribers import BaseSubscriber

        def use(client: Any) -> None:
            config = TransferConfig(multipart_threshold=8 * 1024**2, max_bandwidth=None)
            with TransferManager(client, config) as manager:
                manager.upload(io.BytesIO(b'x'), 'b', 'k', {'ACL': 'private'})
                manager.upload('file.txt', 'b', 'k', subscribers=[BaseSubscriber()])
                manager.download('b', 'k', 'out.txt').result()
                manager.download('b', 'k', io.BytesIO())
                manager.copy({'Bucket': 'b', 'Key': 'k'}, 'b', 'k2')
                manager.delete('b', 'k')
        """,
        tmp_path,
    )
    assert status == 0, output
