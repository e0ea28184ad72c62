"""Retry policies as values, and the one loop that applies them.

A :class:`RetryPolicy` says which errors are retryable, how many attempts there are,
how long to wait between them (exponential backoff with full jitter) and what to raise
once they are used up. Each decision is a pure method (testable without I/O);
:func:`call_with_retries` is the only loop that runs attempts.

The spec's download loops (the manager's GetObject task, the process pool's worker,
the legacy ``S3Transfer``) retry at once, without backoff, and then raise
``RetriesExceededError``.
Part-level retries (opt-in, ``TransferConfig(part_retry_attempts=N)``) retry a whole
part (UploadPart, UploadPartCopy, ranged GetObject) after botocore's own retries, with
backoff, and re-raise the part's last error when they are used up.
"""

from __future__ import annotations

import logging
import math
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.vendored.requests.packages.urllib3.exceptions import (
    ReadTimeoutError as Urllib3ReadTimeoutError,
)

from s3transfer.compat import SOCKET_ERROR
from s3transfer.exceptions import RetriesExceededError
from s3transfer.waiting import StopCondition, sleep

logger = logging.getLogger(__name__)

_T = TypeVar('_T')

ErrorTest = Callable[[BaseException], bool]

# Errors while fetching or streaming a GET body that the spec's download loops retry
# (re-exported as ``s3transfer.utils.S3_RETRYABLE_DOWNLOAD_ERRORS``).
S3_RETRYABLE_DOWNLOAD_ERRORS: tuple[type[BaseException], ...] = (
    socket.timeout,
    SOCKET_ERROR,
    ReadTimeoutError,
    IncompleteReadError,
    ResponseStreamingError,
)

# Why wider: the legacy S3Transfer API (spec legacy.md) retries any OSError (and
# urllib3's ReadTimeoutError), where the manager retries only ConnectionError.
LEGACY_RETRYABLE_DOWNLOAD_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    Urllib3ReadTimeoutError,
    IncompleteReadError,
    ResponseStreamingError,
)

# Connection-level failures botocore raises once its own retries are used up:
# connection reset or closed mid-body, read/connect timeouts, unreachable endpoint.
PART_RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (
    S3_RETRYABLE_DOWNLOAD_ERRORS + (HTTPClientError, EndpointConnectionError)
)

# S3 answers that mean "try again later" rather than "this request is wrong".
PART_RETRYABLE_STATUS_CODES = frozenset({500, 503})
PART_RETRYABLE_ERROR_CODES = frozenset(
    {'RequestTimeout', 'SlowDown', 'InternalError', 'ServiceUnavailable'}
)

# Backoff of part retries: full jitter over base * 2**(n-1), capped.
PART_RETRY_BASE_DELAY = 1.0
PART_RETRY_MAX_DELAY = 20.0


def is_retryable_part_error(error: BaseException) -> bool:
    """Whether a part that failed with ``error`` is worth sending again."""
    if isinstance(error, RetriesExceededError):
        # A download part whose own stream retries ran out: judge their last error.
        last = error.last_exception
        return last is not None and is_retryable_part_error(last)
    if isinstance(error, PART_RETRYABLE_ERRORS):
        return True
    if isinstance(error, ClientError):
        response = error.response or {}
        code = response.get('Error', {}).get('Code')
        status = response.get('ResponseMetadata', {}).get('HTTPStatusCode')
        return (
            code in PART_RETRYABLE_ERROR_CODES or status in PART_RETRYABLE_STATUS_CODES
        )
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """Which errors to retry, how many attempts in all, and how long to wait between.

    ``retryable`` is a tuple of exception classes or a predicate. The wait before
    attempt ``n + 1`` is ``rand * min(max_delay, base_delay * 2**(n - 1))`` (full
    jitter; 0 when ``base_delay`` is 0). Once the attempts are used up, the loop
    raises ``RetriesExceededError(last_error)`` when ``wrap_exhausted``, else the
    last error itself.
    """

    max_attempts: int
    retryable: tuple[type[BaseException], ...] | ErrorTest
    base_delay: float = 0.0
    max_delay: float = math.inf
    wrap_exhausted: bool = True

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` may be retried under this policy."""
        if isinstance(self.retryable, tuple):
            return isinstance(error, self.retryable)
        return self.retryable(error)

    def backoff(self, attempt: int, rand: float) -> float:
        """The wait after failed attempt ``attempt`` (1-based); ``rand`` in [0, 1)."""
        if self.base_delay <= 0:
            return 0.0
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rand * ceiling

    def next_delay(
        self, attempt: int, error: BaseException, rand: float
    ) -> float | None:
        """The wait after attempt ``attempt`` failed with ``error``; None: give up."""
        if not self.is_retryable(error) or attempt >= self.max_attempts:
            return None
        return self.backoff(attempt, rand)


def download_retry_policy(
    max_attempts: int,
    errors: tuple[type[BaseException], ...] = S3_RETRYABLE_DOWNLOAD_ERRORS,
) -> RetryPolicy:
    """The spec's GET retry: ``max_attempts`` in all, no wait, RetriesExceededError."""
    return RetryPolicy(max_attempts=max_attempts, retryable=errors)


def part_retry_policy(retries: int) -> RetryPolicy | None:
    """The opt-in part retry for ``retries`` more tries of a part; ``None`` when 0."""
    if retries <= 0:
        return None
    return RetryPolicy(
        max_attempts=retries + 1,
        retryable=is_retryable_part_error,
        base_delay=PART_RETRY_BASE_DELAY,
        max_delay=PART_RETRY_MAX_DELAY,
        wrap_exhausted=False,
    )


def call_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], _T],
    *,
    on_retry: Callable[[BaseException], object] | None = None,
    stop: StopCondition | None = None,
    rand: Callable[[], float] = random.random,
    log: logging.Logger = logger,
) -> _T:
    """Run ``attempt`` until it returns, retrying as ``policy`` decides.

    ``on_retry(error)`` runs after every retryable failure, the last one included
    (e.g. to take back the progress the attempt reported, or rewind its body). The
    backoff sleep ends early when ``stop`` comes true (the transfer was cancelled
    or failed elsewhere); then, as when ``stop`` is already true after a failure,
    the last error is given up on at once. Each retry is logged at DEBUG on ``log``
    (the caller's logger, so its records keep the module name they always had).
    """
    last_error: BaseException | None = None
    for attempt_number in range(1, policy.max_attempts + 1):
        try:
            return attempt()
        except Exception as error:
            if not policy.is_retryable(error):
                raise
            log.debug(
                'Retrying exception caught (%s), retrying request, (attempt %s / %s)',
                error,
                attempt_number,
                policy.max_attempts,
                exc_info=True,
            )
            last_error = error
            if on_retry is not None:
                on_retry(error)
            delay = policy.next_delay(attempt_number, error, rand())
            if delay is None:
                break
            if (delay > 0 or stop is not None) and sleep(delay, stop):
                break  # stopped: the transfer is over, no point in trying again
    if policy.wrap_exhausted or last_error is None:
        raise RetriesExceededError(last_error)
    raise last_error
