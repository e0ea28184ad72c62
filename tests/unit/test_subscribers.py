"""Unit tests for s3transfer.subscribers."""

import pytest

from s3transfer import compat
from s3transfer.exceptions import InvalidSubscriberMethodError
from s3transfer.subscribers import BaseSubscriber


class RecordingSubscriber(BaseSubscriber):
    def __init__(self):
        self.events = []

    def on_queued(self, future, **kwargs):
        self.events.append(('queued', future, kwargs))

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.events.append(('progress', future, bytes_transferred, kwargs))

    def on_done(self, future, **kwargs):
        self.events.append(('done', future, kwargs))


class ProgressCallbackInvoker(BaseSubscriber):
    """The shape boto3 uses: custom __init__, on_progress without ``future``."""

    def __init__(self, callback):
        self._callback = callback

    def on_progress(self, bytes_transferred, **kwargs):
        self._callback(bytes_transferred)


def test_valid_subscriber_types():
    assert BaseSubscriber.VALID_SUBSCRIBER_TYPES == ['queued', 'progress', 'done']


def test_base_subscriber_is_valid_and_methods_are_noops():
    subscriber = BaseSubscriber()
    assert subscriber.on_queued(future=object()) is None
    assert subscriber.on_progress(future=object(), bytes_transferred=-5) is None
    assert subscriber.on_done(future=object(), extra='ignored') is None


def test_subclass_receives_keyword_events():
    subscriber = RecordingSubscriber()
    future = object()
    subscriber.on_queued(future=future)
    subscriber.on_progress(future=future, bytes_transferred=3)
    subscriber.on_done(future=future, error=None)
    assert subscriber.events == [
        ('queued', future, {}),
        ('progress', future, 3, {}),
        ('done', future, {'error': None}),
    ]


def test_custom_init_signature():
    received = []
    subscriber = ProgressCallbackInvoker(received.append)
    subscriber.on_progress(future=object(), bytes_transferred=10)
    subscriber.on_progress(bytes_transferred=-4)
    assert received == [10, -4]


def test_custom_init_with_keyword_arguments():
    class Named(BaseSubscriber):
        def __init__(self, name, *, size=0):
            self.name = name
            self.size = size

    subscriber = Named('n', size=4)
    assert (subscriber.name, subscriber.size) == ('n', 4)


def test_bad_constructor_arguments_still_type_error():
    with pytest.raises(TypeError):
        ProgressCallbackInvoker()
    with pytest.raises(TypeError):
        ProgressCallbackInvoker(print, 'extra')


def test_base_subscriber_ignores_constructor_arguments():
    assert isinstance(BaseSubscriber('ignored', key='ignored'), BaseSubscriber)


def test_non_callable_method():
    class NotCallable(BaseSubscriber):
        on_done = 'not a method'

    with pytest.raises(InvalidSubscriberMethodError) as exc:
        NotCallable()
    assert str(exc.value) == 'Subscriber method on_done must be callable.'


def test_method_without_kwargs():
    class NoKwargs(BaseSubscriber):
        def on_progress(self, future, bytes_transferred):
            pass

    with pytest.raises(InvalidSubscriberMethodError) as exc:
        NoKwargs()
    assert str(exc.value) == (
        'Subscriber method on_progress must accept keyword arguments (**kwargs)'
    )


def test_first_invalid_type_in_order_is_reported():
    class BothBad(BaseSubscriber):
        on_queued = None

        def on_done(self, future):
            pass

    with pytest.raises(InvalidSubscriberMethodError, match='on_queued'):
        BothBad()


def test_validation_runs_before_init():
    init_calls = []

    class Invalid(BaseSubscriber):
        def __init__(self):
            init_calls.append(self)

        def on_queued(self, future):
            pass

    with pytest.raises(InvalidSubscriberMethodError):
        Invalid()
    assert init_calls == []


def test_failures_raised_on_every_instantiation():
    class Invalid(BaseSubscriber):
        on_progress = 5

    for _ in range(3):
        with pytest.raises(InvalidSubscriberMethodError):
            Invalid()


def test_successful_validation_is_cached_per_class(monkeypatch):
    class Cached(BaseSubscriber):
        pass

    class Other(BaseSubscriber):
        pass

    calls = []
    real = compat.accepts_kwargs

    def counting_accepts_kwargs(func):
        calls.append(func)
        return real(func)

    monkeypatch.setattr(
        's3transfer.subscribers.accepts_kwargs', counting_accepts_kwargs
    )
    Cached()
    assert len(calls) == 3
    Cached()
    Cached()
    assert len(calls) == 3
    Other()
    assert len(calls) == 6


def test_extra_methods_allowed():
    class Extra(BaseSubscriber):
        def helper(self, x):
            return x * 2

    assert Extra().helper(2) == 4


def test_validation_uses_class_list_of_types():
    class OnlyDone(BaseSubscriber):
        VALID_SUBSCRIBER_TYPES = ['done']
        on_queued = None

    assert isinstance(OnlyDone(), OnlyDone)
