"""Shared fixtures: fake credentials, our package on the path, a local S3 server."""

import os
import socket
import tempfile
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Fake credentials and no user configuration: tests never reach real AWS.
os.environ.update(
    {
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_SESSION_TOKEN': 'testing',
        'AWS_DEFAULT_REGION': 'us-east-1',
        'AWS_CONFIG_FILE': os.devnull,
        'AWS_SHARED_CREDENTIALS_FILE': os.devnull,
        'AWS_EC2_METADATA_DISABLED': 'true',
        # The command line keeps resume journals under here: never in the real home.
        'XDG_STATE_HOME': tempfile.mkdtemp(prefix='s3transfer-test-state-'),
    }
)

import s3transfer  # noqa: E402

if not Path(s3transfer.__file__).resolve().is_relative_to(REPO_ROOT):
    raise RuntimeError(
        f'tests must run against this checkout, but s3transfer came from '
        f'{s3transfer.__file__}'
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def s3_endpoint():
    """URL of a moto S3 server on 127.0.0.1, running for the whole session."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    server.start()
    try:
        yield f'http://127.0.0.1:{port}'
    finally:
        server.stop()


@pytest.fixture(scope='session')
def make_s3_client(s3_endpoint):
    """Factory for botocore S3 clients pointed at the local server."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()

    def make(endpoint_url=None, **config_kwargs):
        config_kwargs.setdefault('s3', {'addressing_style': 'path'})
        config_kwargs.setdefault('retries', {'max_attempts': 2, 'mode': 'standard'})
        return session.create_client(
            's3',
            region_name='us-east-1',
            endpoint_url=endpoint_url or s3_endpoint,
            aws_access_key_id='testing',
            aws_secret_access_key='testing',
            config=Config(**config_kwargs),
        )

    return make


@pytest.fixture(scope='session')
def s3_client(make_s3_client):
    """A botocore S3 client for the local server."""
    return make_s3_client()


@pytest.fixture
def boto3_session():
    """A boto3 session with fake credentials (no endpoint: clients choose theirs)."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
        region_name='us-east-1',
    )


@pytest.fixture
def bucket(s3_client):
    """A fresh, empty bucket on the local server."""
    name = f'test-{uuid.uuid4().hex[:20]}'
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def fast_paths_on(monkeypatch):
    """Run a fast path's own tests even where CI switched them all off (the env var)."""
    monkeypatch.delenv('S3TRANSFER_NO_FAST_PATHS', raising=False)
