"""Unit tests for s3transfer.exceptions."""

import concurrent.futures

import pytest

from s3transfer import exceptions
from s3transfer.exceptions import (
    CancelledError,
    FatalError,
    RetriesExceededError,
)

PLAIN_EXCEPTIONS = [
    'S3UploadFailedError',
    'S3DownloadFailedError',
    'S3CopyFailedError',
    'InvalidSubscriberMethodError',
    'TransferNotDoneError',
    'S3ValidationError',
]


def test_cancelled_error_is_the_concurrent_futures_class():
    assert CancelledError is concurrent.futures.CancelledError


def test_fatal_error_is_a_cancellation():
    assert FatalError.__bases__ == (CancelledError,)
    error = FatalError('boom')
    assert isinstance(error, CancelledError)
    assert str(error) == 'boom'
    assert not isinstance(CancelledError(), FatalError)


@pytest.mark.parametrize('name', PLAIN_EXCEPTIONS + ['RetriesExceededError'])
def test_plain_exceptions_derive_from_exception(name):
    cls = getattr(exceptions, name)
    assert cls.__bases__ == (Exception,)
    assert not issubclass(cls, CancelledError)


@pytest.mark.parametrize('name', PLAIN_EXCEPTIONS)
def test_plain_exceptions_keep_their_message(name):
    assert str(getattr(exceptions, name)('a message')) == 'a message'


def test_retries_exceeded_error_default_message():
    cause = ValueError('last')
    error = RetriesExceededError(cause)
    assert str(error) == 'Max Retries Exceeded'
    assert error.last_exception is cause


def test_retries_exceeded_error_custom_message_and_none_cause():
    error = RetriesExceededError(None, msg='gave up')
    assert str(error) == 'gave up'
    assert error.last_exception is None
    positional = RetriesExceededError(None, 'also')
    assert str(positional) == 'also'
