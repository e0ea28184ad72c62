"""Fixtures for running boto3 and the AWS CLI on top of this package."""

import inspect
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def assert_is_ours(obj) -> None:
    """Fail unless ``obj`` (a class or module) was loaded from this checkout."""
    path = Path(inspect.getfile(obj)).resolve()
    assert path.is_relative_to(REPO_ROOT), f'{obj!r} came from {path}'


@pytest.fixture
def boto3_client(boto3_session, s3_endpoint):
    import boto3.s3.transfer
    from botocore.config import Config

    assert_is_ours(boto3.s3.transfer.TransferManager)
    return boto3_session.client(
        's3', endpoint_url=s3_endpoint, config=Config(s3={'addressing_style': 'path'})
    )


@pytest.fixture
def boto3_resource(boto3_session, s3_endpoint):
    from botocore.config import Config

    return boto3_session.resource(
        's3', endpoint_url=s3_endpoint, config=Config(s3={'addressing_style': 'path'})
    )
