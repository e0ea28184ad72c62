"""The README's usage examples run as written against the local server."""

import os
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT


def _python_blocks():
    readme = (REPO_ROOT / 'README.md').read_text()
    return re.findall(r'```python\n(.*?)```', readme, flags=re.S)


def test_readme_examples_run_as_written(s3_client, s3_endpoint, tmp_path):
    s3_client.create_bucket(Bucket='my-bucket')
    (tmp_path / 'report.csv').write_bytes(b'a,b\n1,2\n' * 1000)
    config = tmp_path / 'aws-config'
    config.write_text(
        '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n'
    )
    env = dict(os.environ, AWS_ENDPOINT_URL=s3_endpoint, AWS_CONFIG_FILE=str(config))
    blocks = _python_blocks()
    assert len(blocks) == 3
    for block in blocks:
        result = subprocess.run(
            [sys.executable, '-c', block],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / 'copy.csv').read_bytes() == (
        tmp_path / 'report.csv'
    ).read_bytes()
    keys = [o['Key'] for o in s3_client.list_objects_v2(Bucket='my-bucket')['Contents']]
    assert keys == ['reports/report.csv', 'reports/resumable.csv']
