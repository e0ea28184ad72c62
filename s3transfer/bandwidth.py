"""Leaky-bucket bandwidth throttling shared by all transfers of one manager.

Streams accumulate requested byte counts and, past a threshold, ask a shared
:class:`LeakyBucket` for permission. The bucket tracks an exponential moving average
of the consumption rate and schedules requests that would exceed the maximum.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from s3transfer import waiting


class RequestExceededException(Exception):
    """A consumption request was refused; retry after ``retry_time`` seconds."""

    def __init__(self, requested_amt: int, retry_time: float) -> None:
        self.requested_amt = requested_amt
        self.retry_time = retry_time
        super().__init__(
            f'Request amount {requested_amt} exceeded the amount available. '
            f'Retry in {retry_time}'
        )


class RequestToken:
    """Identity marker for the consume requests of one stream."""


class TimeUtils:
    """The clock and sleep seam, resolved through the ``time`` module at call time."""

    def time(self) -> float:
        """Return the current time in seconds."""
        return time.time()

    def sleep(self, value: float) -> None:
        """Sleep for ``value`` seconds."""
        time.sleep(value)


class BandwidthLimiter:
    """Wraps streams so that their reads draw on one shared leaky bucket."""

    def __init__(
        self, leaky_bucket: LeakyBucket, time_utils: TimeUtils | None = None
    ) -> None:
        self._leaky_bucket = leaky_bucket
        self._time_utils = time_utils if time_utils is not None else TimeUtils()

    def get_bandwith_limited_stream(
        self, fileobj: Any, transfer_coordinator: Any, enabled: bool = True
    ) -> BandwidthLimitedStream:
        """Wrap ``fileobj``; with ``enabled`` false, limiting starts disabled."""
        stream = BandwidthLimitedStream(
            fileobj, self._leaky_bucket, transfer_coordinator, self._time_utils
        )
        if not enabled:
            stream.disable_bandwidth_limiting()
        return stream


class BandwidthLimitedStream:
    """A read-only file wrapper whose reads are throttled by a leaky bucket."""

    def __init__(
        self,
        fileobj: Any,
        leaky_bucket: LeakyBucket,
        transfer_coordinator: Any,
        time_utils: TimeUtils | None = None,
        bytes_threshold: int = 256 * 1024,
    ) -> None:
        self._fileobj = fileobj
        self._leaky_bucket = leaky_bucket
        self._transfer_coordinator = transfer_coordinator
        self._time_utils = time_utils if time_utils is not None else TimeUtils()
        self._bandwidth_limiting_enabled = True
        self._request_token = RequestToken()
        self._bytes_seen = 0
        self._bytes_threshold = bytes_threshold

    def enable_bandwidth_limiting(self) -> None:
        """Throttle subsequent reads."""
        self._bandwidth_limiting_enabled = True

    def disable_bandwidth_limiting(self) -> None:
        """Stop throttling reads."""
        self._bandwidth_limiting_enabled = False

    def read(self, amount: int) -> bytes:
        """Read up to ``amount`` bytes, consuming bandwidth once past the threshold."""
        if not self._bandwidth_limiting_enabled:
            return self._fileobj.read(amount)
        # The requested amount is counted, not what the read actually returns.
        self._bytes_seen += amount
        if self._bytes_seen >= self._bytes_threshold:
            self._consume_through_leaky_bucket()
        return self._fileobj.read(amount)

    def _consume_through_leaky_bucket(self) -> None:
        """Consume the pending byte count, sleeping until the bucket allows it."""
        while not self._transfer_coordinator.exception:
            try:
                self._leaky_bucket.consume(self._bytes_seen, self._request_token)
            except RequestExceededException as e:
                self._sleep_unless_failed(e.retry_time)
            else:
                self._bytes_seen = 0
                return
        raise self._transfer_coordinator.exception

    def _sleep_unless_failed(self, seconds: float) -> None:
        """Sleep ``seconds`` through the seam in short slices, stopping once the
        transfer has failed or been cancelled (a slow limit must not delay Ctrl-C)."""
        for step in waiting.slices(seconds):
            if self._transfer_coordinator.exception:
                return
            self._time_utils.sleep(step)

    def signal_transferring(self) -> None:
        """The wrapped data is being sent: throttle it."""
        self.enable_bandwidth_limiting()

    def signal_not_transferring(self) -> None:
        """The wrapped data is not being sent (e.g. checksumming): do not throttle."""
        self.disable_bandwidth_limiting()

    def seek(self, where: int, whence: int = 0) -> Any:
        """Delegate to the wrapped file object."""
        return self._fileobj.seek(where, whence)

    def tell(self) -> int:
        """Delegate to the wrapped file object."""
        return self._fileobj.tell()

    def close(self) -> None:
        """Account for bytes below the threshold, then close the wrapped file."""
        if self._bandwidth_limiting_enabled and self._bytes_seen:
            self._consume_through_leaky_bucket()
        self._fileobj.close()

    def __enter__(self) -> BandwidthLimitedStream:
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        self.close()


class LeakyBucket:
    """A thread-safe rate limiter refusing consumption that would exceed max_rate."""

    def __init__(
        self,
        max_rate: float,
        time_utils: TimeUtils | None = None,
        rate_tracker: BandwidthRateTracker | None = None,
        consumption_scheduler: ConsumptionScheduler | None = None,
    ) -> None:
        self._max_rate = float(max_rate)
        self._time_utils = time_utils if time_utils is not None else TimeUtils()
        self._lock = threading.Lock()
        self._rate_tracker = (
            rate_tracker if rate_tracker is not None else BandwidthRateTracker()
        )
        self._consumption_scheduler = (
            consumption_scheduler
            if consumption_scheduler is not None
            else ConsumptionScheduler()
        )

    def consume(self, amt: int, request_token: RequestToken) -> int:
        """Consume ``amt`` bytes or raise RequestExceededException with a retry time."""
        with self._lock:
            time_now = self._time_utils.time()
            if self._consumption_scheduler.is_scheduled(request_token):
                return self._release_requested_amt_for_scheduled_request(
                    amt, request_token, time_now
                )
            if self._projected_to_exceed_max_rate(amt, time_now):
                self._raise_request_exceeded_exception(amt, request_token)
            return self._release_requested_amt(amt, time_now)

    def _projected_to_exceed_max_rate(self, amt: int, time_now: float) -> bool:
        projected_rate = self._rate_tracker.get_projected_rate(amt, time_now)
        return projected_rate > self._max_rate

    def _raise_request_exceeded_exception(
        self, amt: int, request_token: RequestToken
    ) -> None:
        allocated_time = amt / self._max_rate
        retry_time = self._consumption_scheduler.schedule_consumption(
            amt, request_token, allocated_time
        )
        raise RequestExceededException(requested_amt=amt, retry_time=retry_time)

    def _release_requested_amt_for_scheduled_request(
        self, amt: int, request_token: RequestToken, time_now: float
    ) -> int:
        self._consumption_scheduler.process_scheduled_consumption(request_token)
        return self._release_requested_amt(amt, time_now)

    def _release_requested_amt(self, amt: int, time_now: float) -> int:
        self._rate_tracker.record_consumption_rate(amt, time_now)
        return amt


class ConsumptionScheduler:
    """Keeps the running total of wait time owed by refused consume requests."""

    def __init__(self) -> None:
        self._tokens_to_scheduled_consumption: dict[RequestToken, dict[str, float]] = {}
        self._total_wait = 0.0

    def is_scheduled(self, token: RequestToken) -> bool:
        """Whether ``token`` has a scheduled consumption pending."""
        return token in self._tokens_to_scheduled_consumption

    def schedule_consumption(
        self, amt: int, token: RequestToken, time_to_consume: float
    ) -> float:
        """Schedule ``token`` and return how long its caller should wait."""
        self._total_wait += time_to_consume
        self._tokens_to_scheduled_consumption[token] = {
            'wait_duration': self._total_wait,
            'time_to_consume': time_to_consume,
        }
        return self._total_wait

    def process_scheduled_consumption(self, token: RequestToken) -> None:
        """Forget ``token``'s schedule and remove its share from the total wait."""
        scheduled_retry = self._tokens_to_scheduled_consumption.pop(token)
        self._total_wait = max(self._total_wait - scheduled_retry['time_to_consume'], 0)


class BandwidthRateTracker:
    """Tracks an exponential moving average of the consumption rate."""

    def __init__(self, alpha: float = 0.8) -> None:
        self._alpha = alpha
        self._last_time: float | None = None
        self._current_rate = 0.0

    @property
    def current_rate(self) -> float:
        """The current EMA of the rate (bytes/second), 0.0 before any record."""
        if self._last_time is None:
            return 0.0
        return self._current_rate

    def get_projected_rate(self, amt: int, time_at_consumption: float) -> float:
        """The rate that consuming ``amt`` at the given time would produce."""
        if self._last_time is None:
            return 0.0
        return self._calculate_exponential_moving_average_rate(amt, time_at_consumption)

    def record_consumption_rate(self, amt: int, time_at_consumption: float) -> None:
        """Record that ``amt`` bytes were consumed at the given time."""
        if self._last_time is None:
            self._last_time = time_at_consumption
            self._current_rate = 0.0
            return
        self._current_rate = self._calculate_exponential_moving_average_rate(
            amt, time_at_consumption
        )
        self._last_time = time_at_consumption

    def _calculate_rate(self, amt: int, time_at_consumption: float) -> float:
        assert self._last_time is not None  # a first record set it
        time_delta = time_at_consumption - self._last_time
        if time_delta <= 0:
            # Consumption in the same instant (or clock going back) is unbounded.
            return float('inf')
        return amt / time_delta

    def _calculate_exponential_moving_average_rate(
        self, amt: int, time_at_consumption: float
    ) -> float:
        new_rate = self._calculate_rate(amt, time_at_consumption)
        return self._alpha * new_rate + (1 - self._alpha) * self._current_rate
