"""Tests of s3transfer.waiting: sliced waits and cancellable sleeps."""

import concurrent.futures
import threading
import time

import pytest

from s3transfer import waiting


@pytest.fixture
def fake_clock(monkeypatch):
    """A clock that only moves when the code sleeps; records every sleep."""
    state = {'now': 1000.0, 'slept': []}

    def fake_sleep(seconds):
        state['slept'].append(seconds)
        state['now'] += seconds

    monkeypatch.setattr(waiting.time, 'monotonic', lambda: state['now'])
    monkeypatch.setattr(waiting.time, 'sleep', fake_sleep)
    return state


class TestSleep:
    def test_full_sleep_in_slices_returns_false(self, fake_clock):
        assert waiting.sleep(0.35) is False
        assert fake_clock['slept'] == pytest.approx([0.1, 0.1, 0.1, 0.05])

    def test_zero_or_negative_does_not_sleep(self, fake_clock):
        assert waiting.sleep(0) is False
        assert waiting.sleep(-1) is False
        assert fake_clock['slept'] == []

    def test_predicate_stops_between_slices(self, fake_clock):
        calls = []

        def stop():
            calls.append(1)
            return len(calls) > 3

        assert waiting.sleep(100, stop) is True
        assert len(fake_clock['slept']) == 3

    def test_already_stopped_does_not_sleep(self, fake_clock):
        assert waiting.sleep(5, lambda: True) is True
        assert fake_clock['slept'] == []

    def test_event_set_from_another_thread_wakes_at_once(self):
        event = threading.Event()
        timer = threading.Timer(0.05, event.set)
        timer.start()
        started = time.monotonic()
        try:
            assert waiting.sleep(30, event) is True
        finally:
            timer.cancel()
        assert time.monotonic() - started < 5

    def test_unset_event_sleeps_full_length(self):
        assert waiting.sleep(0.02, threading.Event()) is False


class TestWaitForEvent:
    def test_returns_true_when_set(self):
        event = threading.Event()
        event.set()
        assert waiting.wait_for_event(event) is True

    def test_waits_in_slices_until_set(self):
        event = threading.Event()
        timer = threading.Timer(0.15, event.set)
        timer.start()
        try:
            assert waiting.wait_for_event(event) is True
        finally:
            timer.cancel()

    def test_timeout_returns_false(self):
        started = time.monotonic()
        assert waiting.wait_for_event(threading.Event(), timeout=0.05) is False
        assert time.monotonic() - started < 5

    def test_timeout_zero(self):
        assert waiting.wait_for_event(threading.Event(), timeout=0) is False


def test_wait_for_future_returns_once_done():
    future = concurrent.futures.Future()
    timer = threading.Timer(0.05, future.set_result, args=(3,))
    timer.start()
    try:
        waiting.wait_for_future(future)
    finally:
        timer.cancel()
    assert future.done()


def test_wait_slices_are_short():
    # The slice bounds how late Ctrl-C is noticed; keep it short.
    assert 0 < waiting.CHECK_INTERVAL <= 0.2


def test_slices_split_a_wait_evenly_within_the_interval():
    from s3transfer.waiting import CHECK_INTERVAL, slices

    parts = list(slices(1.05))
    assert len(parts) == 11
    assert sum(parts) == pytest.approx(1.05)
    assert max(parts) <= CHECK_INTERVAL
    assert list(slices(0)) == []
    assert list(slices(0.25, interval=0.5)) == [0.25]
