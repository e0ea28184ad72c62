"""A small fault-injecting HTTP/1.1 proxy for tests, on 127.0.0.1.

Put it in front of the local S3 server and give its ``url`` to the client as
``endpoint_url``. Each request is classified (method, S3 operation, bucket, key,
Range, query) and checked against the proxy's ``Rule``s in order; the first rule that
decides to fire applies its action, every other request is forwarded untouched.

Actions:

* ``Reset(after_bytes)`` - forward, send the status line, headers and ``after_bytes``
  of the body, then reset the TCP connection (RST).
* ``Truncate(after_bytes)`` - like ``Reset`` but closes cleanly, so the body ends
  before its ``Content-Length``.
* ``Drop()`` - reset the connection once the request is read, without answering: the
  request never reaches the server and the client sees its connection reset.
* ``ErrorResponse(status, code)`` (``internal_error()``, ``slow_down()``) - answer with
  an S3 error document; the request never reaches the server.
* ``Corrupt(offset, xor)`` - forward, but flip bits (``xor``) of the body byte at
  ``offset``: the server's data silently wrong, with intact headers and length.
* ``Delay(seconds)`` - wait, then forward.
* ``Hook(function)`` - call ``function(request_info)`` (e.g. overwrite the object),
  then forward.

A rule fires on matching requests after ``skip`` of them passed, at most ``times``
times (``None``: always), each time with probability ``fraction`` drawn from a
``random.Random(seed)`` (deterministic). Every request is recorded in
``proxy.events``, with the body bytes received and relayed (``bytes_for``). Example::

    rule = Rule(Reset(after_bytes=1024), operation='GetObject', ranged=True, times=1)
    with FaultProxy(s3_endpoint, [rule]) as proxy:
        client = make_s3_client(endpoint_url=proxy.url)
        ...
    assert rule.applied == 1

Every wait is bounded: idle connections time out, sleeps are capped, and ``stop()``
closes live connections.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MAX_SLEEP = 30.0
_COPY_CHUNK = 64 * 1024
_HOP_BY_HOP = {
    'connection',
    'keep-alive',
    'proxy-connection',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
}


@dataclass
class RequestInfo:
    """What a rule can match on: one parsed client request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b''
    event: ProxyEvent | None = None

    @property
    def bucket(self) -> str | None:
        """The bucket of a path-style request."""
        parts = urllib.parse.unquote(self.path).lstrip('/').split('/', 1)
        return parts[0] or None

    @property
    def key(self) -> str | None:
        """The object key of a path-style request."""
        parts = urllib.parse.unquote(self.path).lstrip('/').split('/', 1)
        return parts[1] if len(parts) == 2 and parts[1] else None

    @property
    def is_ranged(self) -> bool:
        """Whether the request carries a ``Range`` header."""
        return 'Range' in self.headers

    @property
    def operation(self) -> str:
        """The S3 operation name this request most likely is."""
        return classify_operation(self.method, self.key, self.query, self.headers)


def classify_operation(
    method: str, key: str | None, query: dict[str, list[str]], headers: Message
) -> str:
    """Guess the S3 operation of a path-style request (object-level ones in detail)."""
    copy = 'x-amz-copy-source' in headers
    if key is None:
        return f'Bucket{method.title()}'
    if method == 'GET':
        return 'ListParts' if 'uploadId' in query else 'GetObject'
    if method == 'HEAD':
        return 'HeadObject'
    if method == 'PUT':
        if 'uploadId' in query and 'partNumber' in query:
            return 'UploadPartCopy' if copy else 'UploadPart'
        return 'CopyObject' if copy else 'PutObject'
    if method == 'POST':
        if 'uploads' in query:
            return 'CreateMultipartUpload'
        if 'uploadId' in query:
            return 'CompleteMultipartUpload'
        return 'PostObject'
    if method == 'DELETE':
        return 'AbortMultipartUpload' if 'uploadId' in query else 'DeleteObject'
    return method


class Action:
    """What to do with a request a rule fired on."""

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        """Answer ``request`` on ``handler``'s connection."""
        raise NotImplementedError


@dataclass
class Reset(Action):
    """Send ``after_bytes`` of the real response body, then reset the connection."""

    after_bytes: int = 0
    # Gives the client time to read the headers before the RST, so the reset
    # hits the body read and not the request itself.
    pause_before_reset: float = 0.5

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        handler.forward(request, body_limit=self.after_bytes)
        handler.wfile.flush()
        time.sleep(min(self.pause_before_reset, _MAX_SLEEP))
        handler.reset_connection()


@dataclass
class Truncate(Action):
    """Send ``after_bytes`` of the real response body, then close normally."""

    after_bytes: int = 0

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        handler.forward(request, body_limit=self.after_bytes)
        handler.close_connection = True


@dataclass
class Drop(Action):
    """Reset the connection without answering; nothing reaches the server."""

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        handler.reset_connection()


@dataclass
class ErrorResponse(Action):
    """Answer with an S3 error document instead of forwarding."""

    status: int = 500
    code: str = 'InternalError'
    message: str = 'We encountered an internal error. Please try again.'

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Error><Code>{self.code}</Code><Message>{self.message}</Message>'
            '<RequestId>FAULTPROXY</RequestId><HostId>faultproxy</HostId></Error>'
        ).encode()
        if request.method == 'HEAD':
            body = b''
        handler.send_raw_response(
            self.status, [('Content-Type', 'application/xml')], body
        )


def internal_error() -> ErrorResponse:
    """500 InternalError."""
    return ErrorResponse(500, 'InternalError')


def slow_down() -> ErrorResponse:
    """503 SlowDown."""
    return ErrorResponse(503, 'SlowDown', 'Please reduce your request rate.')


@dataclass
class Corrupt(Action):
    """Forward, with the body byte at ``offset`` xor-ed with ``xor``."""

    offset: int = 0
    xor: int = 0x01

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        handler.forward(request, corrupt=(self.offset, self.xor))


@dataclass
class Delay(Action):
    """Wait ``seconds`` (capped at 30), then forward."""

    seconds: float = 0.1

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        time.sleep(min(self.seconds, _MAX_SLEEP))
        handler.forward(request)


@dataclass
class Hook(Action):
    """Call ``function(request)``, then forward."""

    function: Callable[[RequestInfo], Any] = lambda request: None

    def handle(self, handler: _ProxyHandler, request: RequestInfo) -> None:
        self.function(request)
        handler.forward(request)


@dataclass
class Rule:
    """When to apply ``action``: which requests, how many, how often."""

    action: Action
    operation: str | None = None
    method: str | None = None
    ranged: bool | None = None
    match: Callable[[RequestInfo], bool] | None = None
    skip: int = 0
    times: int | None = None
    fraction: float = 1.0
    seed: int = 0
    seen: int = field(default=0, init=False)
    applied: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, request: RequestInfo) -> bool:
        """Whether ``request`` is one this rule is about."""
        return (
            (self.operation is None or request.operation == self.operation)
            and (self.method is None or request.method == self.method)
            and (self.ranged is None or request.is_ranged == self.ranged)
            and (self.match is None or bool(self.match(request)))
        )

    def decide(self, request: RequestInfo) -> bool:
        """Count a matching request and decide whether to fire (caller holds a lock)."""
        if not self.matches(request):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        if self.fraction < 1.0 and self._random.random() >= self.fraction:
            return False
        self.applied += 1
        return True


@dataclass
class ProxyEvent:
    """One request seen by the proxy and the action applied (``None``: forwarded)."""

    operation: str
    method: str
    path: str
    query: dict[str, list[str]]
    ranged: bool
    action: Action | None
    # Bytes of the request body received, and of the response body sent back.
    request_bytes: int = 0
    response_bytes: int = 0


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = 10
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def do_request(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        body = self._read_request_body()
        if len(body) < int(self.headers.get('Content-Length') or 0):
            # The client gave up mid-body (e.g. a cancelled upload): like S3, never
            # act on a truncated request.
            self.close_connection = True
            return
        request = RequestInfo(
            method=self.command,
            path=parsed.path,
            query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
        )
        action = self.server.proxy.choose_action(request)
        if action is None:
            self.forward(request)
        else:
            action.handle(self, request)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_request

    def _read_request_body(self) -> bytes:
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            return self._read_chunked_body()
        return self.rfile.read(int(self.headers.get('Content-Length') or 0))

    def _read_chunked_body(self) -> bytes:
        pieces = []
        for _ in range(1_000_000):
            size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
            if size == 0:
                break
            pieces.append(self.rfile.read(size))
            self.rfile.readline()
        for _ in range(1000):  # trailers end with an empty line
            if self.rfile.readline() in (b'\r\n', b'\n', b''):
                break
        return b''.join(pieces)

    def forward(
        self,
        request: RequestInfo,
        body_limit: int | None = None,
        corrupt: tuple[int, int] | None = None,
    ) -> None:
        """Send ``request`` upstream and relay the answer (cut after ``body_limit``;
        ``corrupt=(offset, xor)`` flips bits of one body byte)."""
        upstream = self.server.proxy.new_upstream_connection()
        try:
            upstream.request(
                request.method,
                self.path,
                body=request.body,
                headers=self._forwarded_headers(request),
            )
            response = upstream.getresponse()
            self._relay(request, response, body_limit, corrupt)
        finally:
            upstream.close()

    def _forwarded_headers(self, request: RequestInfo) -> dict[str, str]:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != 'content-length'
        }
        headers['Content-Length'] = str(len(request.body))
        return headers

    def _relay(
        self,
        request: RequestInfo,
        response: http.client.HTTPResponse,
        body_limit: int | None,
        corrupt: tuple[int, int] | None = None,
    ) -> None:
        headers = [
            (name, value)
            for name, value in response.getheaders()
            if name.lower() not in _HOP_BY_HOP
        ]
        length = response.getheader('Content-Length')
        sent = 0
        if length is None and request.method != 'HEAD':
            body = response.read()
            headers.append(('Content-Length', str(len(body))))
            self._send_head(response.status, response.reason, headers)
            sent = self._send_body_chunks(_corrupted([body], corrupt), body_limit)
        else:
            self._send_head(response.status, response.reason, headers)
            if request.method != 'HEAD':
                sent = self._send_body_chunks(
                    _corrupted(_iter_body(response), corrupt), body_limit
                )
        if request.event is not None:
            request.event.response_bytes += sent

    def _send_head(self, status: int, reason: str, headers: list) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _send_body_chunks(self, chunks: Any, body_limit: int | None) -> int:
        """Relay ``chunks`` (cut after ``body_limit``); return the bytes sent."""
        remaining = body_limit
        sent = 0
        for chunk in chunks:
            if remaining is not None:
                chunk = chunk[:remaining]
                remaining -= len(chunk)
            self.wfile.write(chunk)
            sent += len(chunk)
            if remaining == 0:
                break
        return sent

    def send_raw_response(self, status: int, headers: list, body: bytes) -> None:
        """Answer with a complete response of our own."""
        headers = [*headers, ('Content-Length', str(len(body)))]
        self._send_head(status, http.client.responses.get(status, ''), headers)
        self.wfile.write(body)

    def reset_connection(self) -> None:
        """Abort the connection with a TCP RST."""
        self.close_connection = True
        linger = struct.pack('ii', 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.connection.close()


def _corrupted(chunks: Any, corrupt: tuple[int, int] | None) -> Any:
    """``chunks`` with the byte at ``corrupt[0]`` xor-ed with ``corrupt[1]``."""
    if corrupt is None:
        yield from chunks
        return
    offset, xor = corrupt
    position = 0
    for chunk in chunks:
        if position <= offset < position + len(chunk):
            changed = bytearray(chunk)
            changed[offset - position] ^= xor
            chunk = bytes(changed)
        position += len(chunk)
        yield chunk


def _iter_body(response: http.client.HTTPResponse) -> Any:
    while True:
        chunk = response.read(_COPY_CHUNK)
        if not chunk:
            return
        yield chunk


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(('127.0.0.1', 0), _ProxyHandler)
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping connections (often after our own resets) are expected.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_live_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FaultProxy:
    """A scriptable proxy in front of ``upstream_url`` (an ``http://`` URL)."""

    def __init__(
        self, upstream_url: str, rules: list[Rule] | None = None, timeout: float = 30
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        self._upstream = (parsed.hostname, parsed.port or 80)
        self._timeout = timeout
        self.rules: list[Rule] = list(rules or [])
        self.events: list[ProxyEvent] = []
        self._lock = threading.Lock()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The ``endpoint_url`` clients should use."""
        assert self._server is not None, 'start() the proxy first'
        return f'http://127.0.0.1:{self._server.server_address[1]}'

    def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1."""
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={'poll_interval': 0.05},
            name='fault-proxy',
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close live connections and the listening socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_live_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *args: Any) -> None:
        self.stop()

    def add_rule(self, rule: Rule) -> Rule:
        """Append ``rule`` (checked after the existing ones) and return it."""
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        """Forward everything from now on."""
        with self._lock:
            self.rules.clear()

    def choose_action(self, request: RequestInfo) -> Action | None:
        """The action of the first rule that fires for ``request``; records it."""
        with self._lock:
            action = next(
                (rule.action for rule in self.rules if rule.decide(request)), None
            )
            request.event = ProxyEvent(
                operation=request.operation,
                method=request.method,
                path=request.path,
                query=request.query,
                ranged=request.is_ranged,
                action=action,
                request_bytes=len(request.body),
            )
            self.events.append(request.event)
        return action

    def events_for(self, operation: str) -> list[ProxyEvent]:
        """The recorded events of one S3 operation, in arrival order."""
        with self._lock:
            return [event for event in self.events if event.operation == operation]

    def bytes_for(self, operation: str) -> tuple[int, int]:
        """``(request, response)`` body bytes of one S3 operation so far."""
        events = self.events_for(operation)
        return (
            sum(event.request_bytes for event in events),
            sum(event.response_bytes for event in events),
        )

    def new_upstream_connection(self) -> http.client.HTTPConnection:
        """A fresh connection to the upstream server."""
        host, port = self._upstream
        return http.client.HTTPConnection(host, port, timeout=self._timeout)
