"""Shared fixtures for Stubber-based tests: an offline S3 client and its stubber."""

import pytest
from botocore.stub import Stubber

from tests.helpers import offline_client


@pytest.fixture
def client():
    """A botocore S3 client with fake credentials; it never reaches the network."""
    return offline_client()


@pytest.fixture
def stubber(client):
    with Stubber(client) as stub:
        yield stub
