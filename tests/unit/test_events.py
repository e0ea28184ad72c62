"""The manager's event plumbing: cheap body lookups and one-time registrations."""

import io
from unittest import mock

import pytest
from botocore.awsrequest import AWSRequest
from botocore.hooks import EventAliaser, HierarchicalEmitter

from s3transfer import _events
from s3transfer.manager import TransferManager
from s3transfer.utils import signal_not_transferring, signal_transferring


@pytest.fixture(autouse=True)
def fresh_checks(fast_paths_on):
    _events.REQUEST_BODY_LOOKUP.reset()
    _events.HANDLERS_REGISTERED_ONCE.reset()
    yield
    _events.REQUEST_BODY_LOOKUP.reset()
    _events.HANDLERS_REGISTERED_ONCE.reset()


def request(data):
    return AWSRequest(method='PUT', url='https://s3.example.invalid/b/k', data=data)


@pytest.mark.parametrize(
    'data', [io.BytesIO(b'x'), b'raw', b'', 'text', {'a': 'b'}, None]
)
def test_request_body_equals_the_prepared_body(data):
    req = request(data)
    assert _events.request_body(req) == req.body


def test_a_file_like_body_is_not_prepared():
    body = io.BytesIO(b'x')
    req = request(body)
    assert _events.REQUEST_BODY_LOOKUP.passed()  # its self-check prepares a request
    with mock.patch.object(AWSRequest, 'prepare', side_effect=AssertionError):
        assert _events.request_body(req) is body


def test_with_fast_paths_off_the_request_is_prepared(monkeypatch):
    monkeypatch.setenv('S3TRANSFER_NO_FAST_PATHS', '1')
    req = request(io.BytesIO(b'x'))
    with mock.patch.object(AWSRequest, 'prepare', wraps=req.prepare) as prepare:
        _events.request_body(req)
    assert prepare.called


def test_other_request_types_use_their_body():
    other = mock.Mock(body='the body')
    assert _events.request_body(other) == 'the body'


def test_signal_handlers_reach_the_body_without_preparing():
    body = mock.Mock()
    req = request(body)
    assert _events.REQUEST_BODY_LOOKUP.passed()
    with mock.patch.object(AWSRequest, 'prepare', side_effect=AssertionError):
        signal_not_transferring(req, 'PutObject')
        signal_transferring(req, 'UploadPart')
    body.signal_not_transferring.assert_called_once_with()
    body.signal_transferring.assert_called_once_with()


def handler(**kwargs):
    pass


REGISTRATIONS = [
    ('register_first', 'request-created.s3', handler, 'test-first'),
    ('register_last', 'request-created.s3', handler, 'test-last'),
]


def test_registers_then_skips_once_every_id_is_held():
    events = EventAliaser(HierarchicalEmitter())
    _events.register_once(events, REGISTRATIONS)
    assert set(_events._registered_ids(events)) == {'test-first', 'test-last'}
    with (
        mock.patch.object(events, 'register_first') as first,
        mock.patch.object(events, 'register_last') as last,
    ):
        _events.register_once(events, REGISTRATIONS)
    assert not first.called and not last.called


def test_registers_again_when_an_id_was_unregistered():
    events = EventAliaser(HierarchicalEmitter())
    _events.register_once(events, REGISTRATIONS)
    events.unregister('request-created.s3', unique_id='test-last')
    _events.register_once(events, REGISTRATIONS)
    assert set(_events._registered_ids(events)) == {'test-first', 'test-last'}


def test_mocked_events_see_every_registration():
    events = mock.Mock()
    _events.register_once(events, REGISTRATIONS)
    events.register_first.assert_called_once_with(
        'request-created.s3', handler, unique_id='test-first'
    )
    events.register_last.assert_called_once_with(
        'request-created.s3', handler, unique_id='test-last'
    )


def test_a_changed_emitter_makes_registration_plain(monkeypatch):
    events = EventAliaser(HierarchicalEmitter())
    _events.register_once(events, REGISTRATIONS)
    monkeypatch.setattr(HierarchicalEmitter, '__init__', _without_unique_ids)
    _events.HANDLERS_REGISTERED_ONCE.reset()
    with mock.patch.object(events, 'register_first') as first:
        _events.register_once(events, REGISTRATIONS)
    assert first.called


def _without_unique_ids(self):
    self._lookup_cache = {}
    self._handlers = mock.Mock()


def test_every_manager_leaves_the_spec_handlers_registered_once():
    events = EventAliaser(HierarchicalEmitter())
    client = mock.Mock()
    client.meta.events = events
    for _ in range(3):
        TransferManager(client).shutdown()
    ids = _events._registered_ids(events)
    assert {
        's3upload-not-transferring',
        's3upload-transferring',
        's3upload-aws-chunked-offset-reads',
    } <= set(ids)
    assert len(events._emitter._handlers.prefix_search('request-created.s3')) == 3
