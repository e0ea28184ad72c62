"""Shared fixtures for Stubber-based tests: an offline S3 client and its stubber."""

import botocore.session
import pytest
from botocore.stub import Stubber


@pytest.fixture
def client():
    """A botocore S3 client with fake credentials; it never reaches the network."""
    return botocore.session.get_session().create_client(
        's3',
        region_name='us-east-1',
        aws_access_key_id='testing',
        aws_secret_access_key='testing',
    )


@pytest.fixture
def stubber(client):
    with Stubber(client) as stub:
        yield stub
