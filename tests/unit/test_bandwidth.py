"""Unit tests for s3transfer.bandwidth (no real waits: time goes through fakes)."""

import io
import time

import pytest

from s3transfer.bandwidth import (
    BandwidthLimitedStream,
    BandwidthLimiter,
    BandwidthRateTracker,
    ConsumptionScheduler,
    LeakyBucket,
    RequestExceededException,
    RequestToken,
    TimeUtils,
)
from s3transfer.waiting import CHECK_INTERVAL


class FakeTimeUtils:
    """A controllable clock that records sleeps instead of sleeping."""

    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, value):
        self.sleeps.append(value)


class FakeCoordinator:
    def __init__(self, exception=None):
        self.exception = exception


class RecordingBucket:
    """Records consume calls; refuses the first ``refusals`` with a retry time."""

    def __init__(self, refusals=0, retry_time=1.5, on_refuse=None):
        self.calls = []
        self.refusals = refusals
        self.retry_time = retry_time
        self.on_refuse = on_refuse

    def consume(self, amt, request_token):
        self.calls.append((amt, request_token))
        if self.refusals:
            self.refusals -= 1
            if self.on_refuse is not None:
                self.on_refuse()
            raise RequestExceededException(amt, self.retry_time)
        return amt


def make_stream(data=b'x' * 1000, bucket=None, coordinator=None, threshold=100):
    bucket = bucket if bucket is not None else RecordingBucket()
    coordinator = coordinator if coordinator is not None else FakeCoordinator()
    time_utils = FakeTimeUtils()
    stream = BandwidthLimitedStream(
        io.BytesIO(data), bucket, coordinator, time_utils, bytes_threshold=threshold
    )
    return stream, bucket, coordinator, time_utils


class TestRequestExceededException:
    def test_attributes_and_message(self):
        e = RequestExceededException(requested_amt=10, retry_time=2.5)
        assert e.requested_amt == 10
        assert e.retry_time == 2.5
        assert str(e) == (
            'Request amount 10 exceeded the amount available. Retry in 2.5'
        )

    def test_positional_arguments(self):
        e = RequestExceededException(7, 1)
        assert (e.requested_amt, e.retry_time) == (7, 1)


class TestRequestToken:
    def test_identity_hashing(self):
        a, b = RequestToken(), RequestToken()
        assert a != b
        assert {a: 1, b: 2}[a] == 1


class TestTimeUtils:
    def test_time_is_resolved_at_call_time(self, monkeypatch):
        monkeypatch.setattr(time, 'time', lambda: 1234.5)
        assert TimeUtils().time() == 1234.5

    def test_sleep_is_resolved_at_call_time(self, monkeypatch):
        slept = []
        monkeypatch.setattr(time, 'sleep', slept.append)
        TimeUtils().sleep(3)
        assert slept == [3]


class TestBandwidthRateTracker:
    def test_nothing_recorded(self):
        tracker = BandwidthRateTracker()
        assert tracker.current_rate == 0.0
        assert tracker.get_projected_rate(100, 5) == 0.0

    def test_first_record_sets_rate_zero(self):
        tracker = BandwidthRateTracker()
        tracker.record_consumption_rate(10, 0)
        assert tracker.current_rate == 0.0

    def test_spec_example_alpha_half(self):
        tracker = BandwidthRateTracker(alpha=0.5)
        tracker.record_consumption_rate(10, 0)
        assert tracker.current_rate == 0.0
        tracker.record_consumption_rate(10, 2)
        assert tracker.current_rate == 2.5
        assert tracker.get_projected_rate(20, 4) == 6.25
        # A projection changes nothing.
        assert tracker.current_rate == 2.5
        assert tracker.get_projected_rate(20, 4) == 6.25

    def test_default_alpha(self):
        tracker = BandwidthRateTracker()
        tracker.record_consumption_rate(10, 0)
        tracker.record_consumption_rate(10, 1)
        assert tracker.current_rate == pytest.approx(0.8 * 10)

    def test_same_timestamp_is_infinite(self):
        tracker = BandwidthRateTracker(alpha=0.5)
        tracker.record_consumption_rate(10, 1)
        assert tracker.get_projected_rate(10, 1) == float('inf')
        tracker.record_consumption_rate(10, 1)
        assert tracker.current_rate == float('inf')

    def test_time_going_back_is_infinite(self):
        tracker = BandwidthRateTracker()
        tracker.record_consumption_rate(10, 5)
        assert tracker.get_projected_rate(10, 4) == float('inf')


class TestConsumptionScheduler:
    def test_spec_example(self):
        scheduler = ConsumptionScheduler()
        a, b, c = RequestToken(), RequestToken(), RequestToken()
        assert not scheduler.is_scheduled(a)
        assert scheduler.schedule_consumption(1, a, 2) == 2
        assert scheduler.is_scheduled(a)
        assert scheduler.schedule_consumption(1, b, 0.5) == 2.5
        scheduler.process_scheduled_consumption(a)
        assert not scheduler.is_scheduled(a)
        assert scheduler.is_scheduled(b)
        assert scheduler.schedule_consumption(1, c, 1) == 1.5

    def test_total_never_negative(self):
        scheduler = ConsumptionScheduler()
        a, b = RequestToken(), RequestToken()
        scheduler.schedule_consumption(1, a, 2)
        scheduler.process_scheduled_consumption(a)
        # Total is 0 now; the next schedule starts from 0.
        assert scheduler.schedule_consumption(1, b, 1) == 1


class TestLeakyBucket:
    def make_bucket(self, max_rate=10, alpha=0.5):
        time_utils = FakeTimeUtils()
        tracker = BandwidthRateTracker(alpha=alpha)
        scheduler = ConsumptionScheduler()
        bucket = LeakyBucket(max_rate, time_utils, tracker, scheduler)
        return bucket, time_utils, tracker, scheduler

    def test_first_consume_allowed_and_recorded(self):
        bucket, time_utils, tracker, _ = self.make_bucket()
        assert bucket.consume(1000, RequestToken()) == 1000
        assert tracker.current_rate == 0.0

    def test_exceeding_rate_is_scheduled(self):
        bucket, time_utils, tracker, scheduler = self.make_bucket(max_rate=10)
        token = RequestToken()
        bucket.consume(10, RequestToken())
        time_utils.now = 1
        # Projected: 0.5 * 40 + 0.5 * 0 = 20 > 10.
        with pytest.raises(RequestExceededException) as exc:
            bucket.consume(40, token)
        assert exc.value.requested_amt == 40
        assert exc.value.retry_time == 4.0
        assert scheduler.is_scheduled(token)
        # Nothing recorded for the refusal.
        assert tracker.current_rate == 0.0

    def test_scheduled_token_let_through_on_retry(self):
        bucket, time_utils, tracker, scheduler = self.make_bucket(max_rate=10)
        token = RequestToken()
        bucket.consume(10, RequestToken())
        time_utils.now = 1
        with pytest.raises(RequestExceededException):
            bucket.consume(40, token)
        # Same instant: would be infinite, but the scheduled token goes through.
        assert bucket.consume(40, token) == 40
        assert not scheduler.is_scheduled(token)
        assert tracker.current_rate == 20.0

    def test_scheduled_waits_accumulate(self):
        bucket, time_utils, _, _ = self.make_bucket(max_rate=10)
        bucket.consume(10, RequestToken())
        with pytest.raises(RequestExceededException) as first:
            bucket.consume(20, RequestToken())
        with pytest.raises(RequestExceededException) as second:
            bucket.consume(5, RequestToken())
        assert first.value.retry_time == 2.0
        assert second.value.retry_time == 2.5

    def test_projected_equal_to_max_is_allowed(self):
        bucket, time_utils, tracker, _ = self.make_bucket(max_rate=10, alpha=0.5)
        bucket.consume(1, RequestToken())
        time_utils.now = 1
        # Projected: 0.5 * 20 + 0.5 * 0 = 10 == max.
        assert bucket.consume(20, RequestToken()) == 20
        assert tracker.current_rate == 10.0

    def test_max_rate_stored_as_float(self):
        bucket, time_utils, _, _ = self.make_bucket(max_rate=3)
        bucket.consume(1, RequestToken())
        with pytest.raises(RequestExceededException) as exc:
            bucket.consume(1, RequestToken())
        # 1 / 3.0, not integer division.
        assert exc.value.retry_time == pytest.approx(1 / 3)

    def test_defaults(self, monkeypatch):
        monkeypatch.setattr(time, 'time', lambda: 100.0)
        bucket = LeakyBucket(1000)
        assert bucket.consume(10, RequestToken()) == 10
        # Same instant again: infinite projected rate -> refused.
        with pytest.raises(RequestExceededException):
            bucket.consume(10, RequestToken())


class TestBandwidthLimitedStream:
    def test_spec_example_threshold_100(self):
        stream, bucket, _, _ = make_stream(threshold=100)
        token_calls = bucket.calls
        assert stream.read(60) == b'x' * 60
        assert token_calls == []
        assert stream.read(60) == b'x' * 60
        assert [amt for amt, _ in token_calls] == [120]
        assert stream.read(30) == b'x' * 30
        assert [amt for amt, _ in token_calls] == [120]
        stream.close()
        assert [amt for amt, _ in token_calls] == [120, 30]

    def test_same_token_for_every_consume(self):
        stream, bucket, _, _ = make_stream(threshold=10)
        stream.read(10)
        stream.read(10)
        tokens = {id(token) for _, token in bucket.calls}
        assert len(bucket.calls) == 2
        assert len(tokens) == 1
        assert isinstance(bucket.calls[0][1], RequestToken)

    def test_counts_requested_not_returned_amount(self):
        stream, bucket, _, _ = make_stream(data=b'abc', threshold=100)
        assert stream.read(150) == b'abc'
        assert [amt for amt, _ in bucket.calls] == [150]

    def test_disabled_before_close_never_consumes_remainder(self):
        stream, bucket, _, _ = make_stream(threshold=100)
        stream.read(60)
        stream.read(60)
        stream.read(30)
        stream.disable_bandwidth_limiting()
        stream.close()
        assert [amt for amt, _ in bucket.calls] == [120]

    def test_disabled_reads_are_not_counted(self):
        stream, bucket, _, _ = make_stream(threshold=100)
        stream.disable_bandwidth_limiting()
        stream.read(500)
        stream.enable_bandwidth_limiting()
        stream.read(50)
        stream.close()
        assert [amt for amt, _ in bucket.calls] == [50]

    def test_signal_transferring_toggles(self):
        stream, bucket, _, _ = make_stream(threshold=10)
        stream.signal_not_transferring()
        stream.read(20)
        assert bucket.calls == []
        stream.signal_transferring()
        stream.read(20)
        assert [amt for amt, _ in bucket.calls] == [20]

    def test_close_without_pending_bytes_does_not_consume(self):
        stream, bucket, _, _ = make_stream(threshold=10)
        stream.read(10)
        stream.close()
        assert [amt for amt, _ in bucket.calls] == [10]

    def test_close_closes_fileobj(self):
        fileobj = io.BytesIO(b'data')
        stream = BandwidthLimitedStream(fileobj, RecordingBucket(), FakeCoordinator())
        stream.close()
        assert fileobj.closed

    def test_context_manager_closes_and_accounts(self):
        fileobj = io.BytesIO(b'data')
        bucket = RecordingBucket()
        with BandwidthLimitedStream(
            fileobj, bucket, FakeCoordinator(), FakeTimeUtils()
        ) as stream:
            assert stream.read(4) == b'data'
        assert fileobj.closed
        assert [amt for amt, _ in bucket.calls] == [4]

    def test_default_threshold_is_256_kib(self):
        bucket = RecordingBucket()
        default = BandwidthLimitedStream(io.BytesIO(b''), bucket, FakeCoordinator())
        default.read(256 * 1024 - 1)
        assert bucket.calls == []
        default.read(1)
        assert [amt for amt, _ in bucket.calls] == [256 * 1024]

    def test_seek_and_tell_delegate(self):
        stream, _, _, _ = make_stream(data=b'0123456789')
        stream.seek(3)
        assert stream.tell() == 3
        stream.seek(2, 1)
        assert stream.tell() == 5
        stream.seek(-1, 2)
        assert stream.tell() == 9
        stream.disable_bandwidth_limiting()
        assert stream.read(1) == b'9'

    def test_refusal_sleeps_retry_time_then_retries(self):
        bucket = RecordingBucket(refusals=2, retry_time=0.25)
        stream, _, _, time_utils = make_stream(bucket=bucket, threshold=10)
        assert stream.read(10) == b'x' * 10
        # Each retry_time is slept in slices through the seam (issue 21 point 4).
        assert sum(time_utils.sleeps) == pytest.approx(0.5)
        assert [amt for amt, _ in bucket.calls] == [10, 10, 10]
        # The counter reset after success.
        stream.read(5)
        assert len(bucket.calls) == 3

    def test_existing_coordinator_exception_raised_before_consuming(self):
        error = ValueError('transfer failed')
        stream, bucket, _, _ = make_stream(
            coordinator=FakeCoordinator(error), threshold=10
        )
        with pytest.raises(ValueError, match='transfer failed'):
            stream.read(10)
        assert bucket.calls == []

    def test_consume_loop_aborts_with_coordinator_exception(self):
        coordinator = FakeCoordinator()
        error = RuntimeError('cancelled')

        def fail_transfer():
            coordinator.exception = error

        bucket = RecordingBucket(refusals=5, on_refuse=fail_transfer)
        stream, _, _, time_utils = make_stream(
            bucket=bucket, coordinator=coordinator, threshold=10
        )
        with pytest.raises(RuntimeError) as exc:
            stream.read(10)
        assert exc.value is error
        assert len(bucket.calls) == 1
        assert time_utils.sleeps == []  # failed before the wait began: no sleep

    def test_close_raises_coordinator_exception(self):
        coordinator = FakeCoordinator()
        stream, bucket, _, _ = make_stream(coordinator=coordinator, threshold=100)
        stream.read(30)
        coordinator.exception = OSError('boom')
        with pytest.raises(OSError, match='boom'):
            stream.close()
        assert bucket.calls == []

    def test_default_time_utils(self, monkeypatch):
        slept = []
        monkeypatch.setattr(time, 'sleep', slept.append)
        bucket = RecordingBucket(refusals=1, retry_time=0.5)
        stream = BandwidthLimitedStream(
            io.BytesIO(b'x' * 10), bucket, FakeCoordinator(), bytes_threshold=5
        )
        stream.read(5)
        assert sum(slept) == pytest.approx(0.5)


class TestBandwidthLimiter:
    def test_returns_enabled_stream_with_given_parts(self):
        bucket = RecordingBucket()
        time_utils = FakeTimeUtils()
        limiter = BandwidthLimiter(bucket, time_utils)
        coordinator = FakeCoordinator()
        stream = limiter.get_bandwith_limited_stream(
            io.BytesIO(b'x' * 300_000), coordinator
        )
        assert isinstance(stream, BandwidthLimitedStream)
        stream.read(256 * 1024)
        assert [amt for amt, _ in bucket.calls] == [256 * 1024]

    def test_limiter_time_utils_used_for_sleep(self):
        bucket = RecordingBucket(refusals=1, retry_time=2)
        time_utils = FakeTimeUtils()
        limiter = BandwidthLimiter(bucket, time_utils)
        stream = limiter.get_bandwith_limited_stream(
            io.BytesIO(b'x' * 300_000), FakeCoordinator()
        )
        stream.read(256 * 1024)
        assert sum(time_utils.sleeps) == pytest.approx(2)

    def test_disabled_stream(self):
        bucket = RecordingBucket()
        limiter = BandwidthLimiter(bucket, FakeTimeUtils())
        stream = limiter.get_bandwith_limited_stream(
            io.BytesIO(b'x' * 300_000), FakeCoordinator(), enabled=False
        )
        stream.read(300_000)
        stream.close()
        assert bucket.calls == []
        stream = limiter.get_bandwith_limited_stream(
            io.BytesIO(b'x' * 300_000), FakeCoordinator(), False
        )
        stream.signal_transferring()
        stream.read(256 * 1024)
        assert len(bucket.calls) == 1

    def test_default_time_utils_sleeps_through_time_module(self, monkeypatch):
        slept = []
        monkeypatch.setattr(time, 'sleep', slept.append)
        limiter = BandwidthLimiter(RecordingBucket(refusals=1, retry_time=0.75))
        stream = limiter.get_bandwith_limited_stream(
            io.BytesIO(b'x' * 300_000), FakeCoordinator()
        )
        stream.read(256 * 1024)
        assert sum(slept) == pytest.approx(0.75)


class TestIntegration:
    def test_real_bucket_throttles_stream(self):
        time_utils = FakeTimeUtils()
        bucket = LeakyBucket(
            100, time_utils, BandwidthRateTracker(alpha=0.5), ConsumptionScheduler()
        )
        stream = BandwidthLimitedStream(
            io.BytesIO(b'x' * 1000),
            bucket,
            FakeCoordinator(),
            time_utils,
            bytes_threshold=100,
        )
        stream.read(100)  # first record: always allowed
        assert time_utils.sleeps == []
        stream.read(100)  # same instant: infinite rate -> scheduled, 100/100 = 1s
        assert sum(time_utils.sleeps) == pytest.approx(1.0)


class TestCancellableThrottle:
    """Issue 21 point 4: a throttled stream ends soon after its transfer fails."""

    def test_long_wait_is_slept_in_short_slices_through_the_seam(self):
        bucket = RecordingBucket(refusals=1, retry_time=256.0)
        stream, _, _, time_utils = make_stream(bucket=bucket, threshold=10)
        stream.read(10)
        assert sum(time_utils.sleeps) == pytest.approx(256.0)
        assert max(time_utils.sleeps) <= CHECK_INTERVAL + 1e-9

    def test_cancellation_during_a_long_wait_ends_it_at_the_next_slice(self):
        coordinator = FakeCoordinator()
        error = RuntimeError('cancelled')
        bucket = RecordingBucket(refusals=5, retry_time=1000.0)
        stream, _, _, time_utils = make_stream(
            bucket=bucket, coordinator=coordinator, threshold=10
        )
        real_sleep = time_utils.sleep

        def sleep(value):
            real_sleep(value)
            if len(time_utils.sleeps) == 3:  # cancelled during the third slice
                coordinator.exception = error

        time_utils.sleep = sleep
        with pytest.raises(RuntimeError) as raised:
            stream.read(10)
        assert raised.value is error
        assert sum(time_utils.sleeps) <= 3 * CHECK_INTERVAL + 1e-9
