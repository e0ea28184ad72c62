"""The manager's botocore event plumbing, at a per-call cost that stays small.

Two fast paths (docs/performance.md), both for many small transfers:

* "request body lookup": our ``request-created`` handlers look at the body being
  sent. ``AWSRequest.body`` prepares the whole request (URL, headers) to return it,
  ~15 us, three times per upload request; for a file-like body that is just
  ``request.data``, which is read instead.
* "handlers registered once": every ``TransferManager`` registers its handlers under
  fixed unique ids; botocore ignores a repeated registration but first inspects the
  handler's signature (~40 us per manager). When the client's emitter already holds
  every id, the calls are skipped: botocore would have done nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from botocore.awsrequest import AWSRequest
from botocore.hooks import EventAliaser, HierarchicalEmitter

from s3transfer import fastpaths

# Body types whose prepared body is something else (encoded, urlencoded) or that we
# never wrap: for these ``request.body`` is asked, as the plain way does.
_PREPARED_DIFFERENTLY = (dict, str, bytes, bytearray, type(None))


def _data_is_the_body() -> bool:
    body = io.BytesIO(b'x')
    request = AWSRequest(method='PUT', url='https://example.invalid/k', data=body)
    return request.data is body and request.body is body


REQUEST_BODY_LOOKUP = fastpaths.SelfCheck('request body lookup', _data_is_the_body)


def request_body(request: Any) -> Any:
    """``request.body``, without preparing the request for a file-like body."""
    if type(request) is AWSRequest:
        data = request.data
        if not isinstance(data, _PREPARED_DIFFERENTLY) and REQUEST_BODY_LOOKUP.passed():
            return data
    return request.body


def _emitter_tracks_unique_ids() -> bool:
    emitter = HierarchicalEmitter()
    events = EventAliaser(emitter)
    events.register('probe', _probe_handler, unique_id='s3transfer-probe')
    ids = _registered_ids(events)
    return ids is not None and set(ids) == {'s3transfer-probe'}


def _probe_handler(**kwargs: Any) -> None:
    """A handler for the self-check's throw-away emitter."""


def _registered_ids(events: Any) -> Any:
    """The unique ids in the botocore emitter behind ``events`` (``None``: unknown)."""
    if type(events) is not EventAliaser:
        return None
    emitter = getattr(events, '_emitter', None)
    if type(emitter) is not HierarchicalEmitter:
        return None
    ids = getattr(emitter, '_unique_id_handlers', None)
    return ids if isinstance(ids, dict) else None


HANDLERS_REGISTERED_ONCE = fastpaths.SelfCheck(
    'handlers registered once', _emitter_tracks_unique_ids
)

# (register method name, event name, handler, unique id)
Registration = tuple[str, str, Callable[..., Any], str]


def register_once(events: Any, registrations: Sequence[Registration]) -> None:
    """Make each registration, unless botocore already holds every one of the ids."""
    ids = _registered_ids(events)
    if (
        ids is not None
        and all(unique_id in ids for *_, unique_id in registrations)
        and HANDLERS_REGISTERED_ONCE.passed()
    ):
        return
    for method, event_name, handler, unique_id in registrations:
        getattr(events, method)(event_name, handler, unique_id=unique_id)
