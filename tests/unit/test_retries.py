"""Tests of s3transfer.retries: policy values (pure decisions) and the one loop."""

import socket

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from s3transfer import retries
from s3transfer.exceptions import RetriesExceededError
from s3transfer.retries import (
    LEGACY_RETRYABLE_DOWNLOAD_ERRORS,
    S3_RETRYABLE_DOWNLOAD_ERRORS,
    RetryPolicy,
    call_with_retries,
    download_retry_policy,
    is_retryable_part_error,
    part_retry_policy,
)


def client_error(code, status):
    return ClientError(
        {'Error': {'Code': code}, 'ResponseMetadata': {'HTTPStatusCode': status}},
        'UploadPart',
    )


class Flaky:
    """Fails with the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 'ok'


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []

    def fake_sleep(seconds, stop=None):
        slept.append(seconds)
        return False

    monkeypatch.setattr(retries, 'sleep', fake_sleep)
    return slept


# ------------------------------------------------------------ the error sets


def test_manager_set_is_connection_errors_only():
    assert S3_RETRYABLE_DOWNLOAD_ERRORS == (
        socket.timeout,
        ConnectionError,
        ReadTimeoutError,
        IncompleteReadError,
        ResponseStreamingError,
    )
    assert not isinstance(OSError('disk full'), S3_RETRYABLE_DOWNLOAD_ERRORS)


def test_legacy_set_is_wider_any_os_error():
    assert isinstance(OSError('disk full'), LEGACY_RETRYABLE_DOWNLOAD_ERRORS)
    assert isinstance(TimeoutError(), LEGACY_RETRYABLE_DOWNLOAD_ERRORS)


def test_utils_name_is_the_same_value():
    from s3transfer import utils

    assert utils.S3_RETRYABLE_DOWNLOAD_ERRORS is S3_RETRYABLE_DOWNLOAD_ERRORS


@pytest.mark.parametrize(
    'error',
    [
        ConnectionResetError(),
        ConnectionClosedError(endpoint_url='http://x'),
        EndpointConnectionError(endpoint_url='http://x'),
        ReadTimeoutError(endpoint_url='http://x'),
        IncompleteReadError(actual_bytes=1, expected_bytes=2),
        client_error('SlowDown', 503),
        client_error('ServiceUnavailable', 503),
        client_error('InternalError', 500),
        client_error('RequestTimeout', 400),
        client_error('Whatever', 500),
        RetriesExceededError(ConnectionResetError()),
    ],
)
def test_part_errors_worth_retrying(error):
    assert is_retryable_part_error(error)


@pytest.mark.parametrize(
    'error',
    [
        client_error('AccessDenied', 403),
        client_error('NoSuchUpload', 404),
        client_error('PreconditionFailed', 412),
        client_error('InvalidPart', 400),
        ValueError('bad'),
        OSError('disk full'),
        RetriesExceededError(None),
        RetriesExceededError(ValueError()),
    ],
)
def test_part_errors_not_worth_retrying(error):
    assert not is_retryable_part_error(error)


# ------------------------------------------------------------ pure decisions


def test_backoff_is_full_jitter_exponential_and_capped():
    policy = RetryPolicy(max_attempts=10, retryable=(), base_delay=1, max_delay=5)
    assert [policy.backoff(n, 1.0) for n in range(1, 6)] == [1, 2, 4, 5, 5]
    assert policy.backoff(3, 0.5) == 2
    assert policy.backoff(3, 0.0) == 0


def test_no_base_delay_means_no_wait():
    assert download_retry_policy(5).backoff(3, 0.9) == 0


def test_next_delay_gives_up_on_last_attempt_or_wrong_error():
    policy = RetryPolicy(max_attempts=3, retryable=(ConnectionError,), base_delay=1)
    assert policy.next_delay(1, ConnectionError(), 1.0) == 1
    assert policy.next_delay(2, ConnectionError(), 1.0) == 2
    assert policy.next_delay(3, ConnectionError(), 1.0) is None
    assert policy.next_delay(1, ValueError(), 1.0) is None


def test_predicate_policy():
    policy = RetryPolicy(max_attempts=2, retryable=lambda e: 'x' in str(e))
    assert policy.is_retryable(ValueError('x'))
    assert not policy.is_retryable(ValueError('y'))


def test_policies_are_frozen_values():
    policy = download_retry_policy(5)
    with pytest.raises(AttributeError):
        policy.max_attempts = 6
    assert policy == download_retry_policy(5)


def test_part_retry_policy_off_at_zero():
    assert part_retry_policy(0) is None
    policy = part_retry_policy(3)
    assert policy.max_attempts == 4
    assert not policy.wrap_exhausted
    assert policy.base_delay > 0


# ------------------------------------------------------------ the loop


def test_returns_first_success(no_sleep):
    attempt = Flaky(ConnectionResetError(), ConnectionResetError())
    assert call_with_retries(download_retry_policy(5), attempt) == 'ok'
    assert attempt.calls == 3
    assert no_sleep == []  # the spec's loops do not wait


def test_exhausted_raises_retries_exceeded_with_last_error(no_sleep):
    errors = [ConnectionResetError(str(n)) for n in range(5)]
    attempt = Flaky(*errors)
    with pytest.raises(RetriesExceededError) as info:
        call_with_retries(download_retry_policy(5), attempt)
    assert info.value.last_exception is errors[-1]
    assert attempt.calls == 5


def test_zero_attempts_makes_no_call():
    attempt = Flaky()
    with pytest.raises(RetriesExceededError) as info:
        call_with_retries(download_retry_policy(0), attempt)
    assert info.value.last_exception is None
    assert attempt.calls == 0


def test_non_retryable_propagates_at_once(no_sleep):
    attempt = Flaky(OSError('disk full'))
    with pytest.raises(OSError, match='disk full'):
        call_with_retries(download_retry_policy(5), attempt)
    assert attempt.calls == 1


def test_legacy_policy_retries_os_error(no_sleep):
    attempt = Flaky(OSError('flaky'))
    policy = download_retry_policy(5, LEGACY_RETRYABLE_DOWNLOAD_ERRORS)
    assert call_with_retries(policy, attempt) == 'ok'


def test_on_retry_runs_after_every_retryable_failure_including_last(no_sleep):
    seen = []
    attempt = Flaky(*[ConnectionResetError(n) for n in range(3)])
    with pytest.raises(RetriesExceededError):
        call_with_retries(download_retry_policy(3), attempt, on_retry=seen.append)
    assert [e.args[0] for e in seen] == [0, 1, 2]


def test_part_policy_waits_with_backoff_and_reraises_last_error(no_sleep):
    last = client_error('SlowDown', 503)
    attempt = Flaky(client_error('SlowDown', 503), ConnectionResetError(), last)
    with pytest.raises(ClientError) as info:
        call_with_retries(part_retry_policy(2), attempt, rand=lambda: 1.0)
    assert info.value is last
    base = retries.PART_RETRY_BASE_DELAY
    assert no_sleep == [base, 2 * base]


def test_part_policy_recovers(no_sleep):
    attempt = Flaky(client_error('InternalError', 500))
    assert call_with_retries(part_retry_policy(1), attempt, rand=lambda: 0.5) == 'ok'
    assert no_sleep == [0.5 * retries.PART_RETRY_BASE_DELAY]


def test_stop_condition_ends_backoff_and_gives_up():
    policy = RetryPolicy(
        max_attempts=5,
        retryable=(ConnectionError,),
        base_delay=100,
        max_delay=100,
        wrap_exhausted=False,
    )
    attempt = Flaky(ConnectionResetError('first'), ConnectionResetError('second'))
    with pytest.raises(ConnectionResetError, match='first'):
        call_with_retries(policy, attempt, stop=lambda: True, rand=lambda: 1.0)
    assert attempt.calls == 1


def test_keyboard_interrupt_is_never_retried():
    attempt = Flaky(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        call_with_retries(download_retry_policy(5, (BaseException,)), attempt)
    assert attempt.calls == 1
