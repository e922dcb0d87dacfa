"""uvicorn's httptools protocol with the connection and its header phase bounded.

uvicorn (httptools mode) bounds neither: its keep-alive timer starts only after a first response
and stops at the first byte of the next request, and httptools buffers a header of any size, so a
silent or trickling client holds its connection forever and a 20 MiB header is kept whole in
memory. This subclass adds, per connection (docs/edge.md has the measurements and the choice):

- a header timeout: the request line and headers must be complete within `HEADER_TIMEOUT_SECONDS`
  of the connection opening or of the previous response ending (a silent connection is closed,
  one that sent part of a request gets 408 first);
- caps on the size (`MAX_HEADER_BYTES`) and number (`MAX_HEADER_COUNT`) of the request line and
  headers (431), checked as the bytes arrive, so the parser never holds more than the cap plus
  one read;
- a cap on the connections of a worker (`MAX_CONNECTIONS_PER_WORKER`): at the cap, a new
  connection closes the one that has waited longest for its request's headers, and is refused
  with 503 only when every connection has a request in flight;
- request lines that are not HTTP/1.0 or 1.1 (505), and absolute-form targets whose host differs
  from the `Host` header (400; the edge then checks that header against `ALLOWED_HOSTS`);
- every refusal at this level, the parser's own included (bare LF, bad chunk sizes, both
  `Transfer-Encoding` and `Content-Length`, ...), answered as problem+json with the security
  headers and a request id, where uvicorn sent plain text without either.

The costs per request are two attribute stores, a clock read and a few comparisons: the header
timers of all connections share one sweep per worker instead of one timer each.
"""

import asyncio
import heapq
import logging
import resource
from operator import itemgetter
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..edge.layer import hsts_for
from ..edge.request_id import new_request_id
from ..edge.security_headers import API_CSP, response_headers
from ..http.problems import PROBLEM_JSON, problem_bytes
from ..request_context import request_id_var
from ..settings import Settings

logger = logging.getLogger(__name__)

# Open files a worker needs besides its client connections: the listener, log pipes, the event
# loop's own, the database and HTTP client pools.
RESERVED_FILE_DESCRIPTORS = 256
# The sweep that enforces the header timeout runs this many times per timeout (at most once a
# second), so a connection is closed at most a tenth of the timeout late.
_SWEEPS_PER_TIMEOUT = 10
_EVICTION_BATCH = 64
_SERVED_VERSIONS = frozenset({"1.1", "1.0"})
_DEFAULT_PORTS = {b"http": 80, b"https": 443}


class HeadRefused(Exception):
    """Raised in a parser callback: the request is answered with this status and closed."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ConnectionGuard:
    """What the connections of one worker share: the limits, the one sweep that closes those
    past the header timeout, the order in which the cap closes idle ones, and the bytes every
    early answer starts with."""

    def __init__(
        self,
        *,
        header_timeout: float,
        max_header_bytes: int,
        max_header_count: int,
        max_connections: int,
        security_headers: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count
        self.max_connections = max_connections
        self.sweep_interval = min(1.0, header_timeout / _SWEEPS_PER_TIMEOUT)
        self._sweep: asyncio.TimerHandle | None = None
        # The next connections the cap closes, longest waiting first, found by one scan for
        # `_EVICTION_BATCH` of them: a flood at the cap costs no scan per connection.
        self._eviction_order: list[tuple[float, GuardedHttpToolsProtocol]] = []
        self._headers = b"".join(name + b": " + value + b"\r\n" for name, value in security_headers)

    def watch(self, connections: set[Any], loop: asyncio.AbstractEventLoop) -> None:
        """Sweep `connections` (the worker's, as uvicorn keeps them) while there are any."""
        if self._sweep is None:
            self._sweep = loop.call_later(self.sweep_interval, self._sweep_once, connections, loop)

    def _sweep_once(self, connections: set[Any], loop: asyncio.AbstractEventLoop) -> None:
        # One pass over every connection, once a sweep interval: cheaper than a timer per
        # connection armed and cancelled on every request (about 0.1 ms per 1,000 connections).
        began_by = loop.time() - self.header_timeout
        for connection in tuple(connections):
            since = getattr(connection, "head_since", None)  # WebSocket connections have none
            if since is not None and since <= began_by:
                connection.header_timeout_expired()
        self._sweep = None
        if connections:
            self.watch(connections, loop)

    def close_longest_waiting(self, connections: set[Any]) -> bool:
        """Close the connection that has waited longest for a request's headers; False if none
        is waiting (every connection has a request in flight)."""
        for _ in range(2):  # the second time with a fresh order
            order = self._eviction_order
            while order:
                since, connection = order.pop()
                if connection.head_since == since and not connection.transport.is_closing():
                    connection.head_since = None
                    connection.transport.close()
                    return True
            waiting = (
                (since, connection)
                for connection in connections
                if (since := getattr(connection, "head_since", None)) is not None
            )
            oldest = heapq.nsmallest(_EVICTION_BATCH, waiting, key=itemgetter(0))
            self._eviction_order = oldest[::-1]  # popped from the end
        return False

    def answer(
        self,
        status: int,
        detail: str,
        default_headers: list[tuple[bytes, bytes]],
        request_id: str | None = None,
    ) -> bytes:
        """A complete `Connection: close` problem response, and its log line."""
        request_id = request_id or new_request_id()
        body = problem_bytes(status, detail, request_id=request_id)
        token = request_id_var.set(request_id)
        try:
            logger.warning("refused by the HTTP protocol: %d %s", status, detail)
        finally:
            request_id_var.reset(token)
        return b"".join(
            [
                STATUS_LINE[status],
                *(name + b": " + value + b"\r\n" for name, value in default_headers),
                self._headers,
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"x-request-id: " + request_id.encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1 connection; `bind_protocol` gives uvicorn a subclass with its worker's guard."""

    guard: ClassVar[ConnectionGuard]
    parser: httptools.HttpRequestParser  # uvicorn sets None only once the connection is lost

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When the current header phase began (loop time); None while a request is in flight.
        self.head_since: float | None = None
        # Bytes received since the current request's header phase began (an upper bound: the
        # read that completes the headers may carry some body too).
        self.head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        guard = self.guard
        connections = self.connections
        if len(connections) > guard.max_connections and not guard.close_longest_waiting(
            connections
        ):
            self.refuse(503, "The service holds as many connections as it can; retry shortly.")
            return
        self.head_since = self.loop.time()
        guard.watch(connections, self.loop)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, with the header bytes counted and every refusal answered as a problem.
        self._unset_keepalive_if_required()
        cycle = self.cycle
        if cycle is None or not cycle.more_body:  # not inside a request body: header bytes
            self.head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            refused = error.__context__
            if isinstance(refused, HeadRefused):
                self.refuse(refused.status, refused.detail)
            else:
                self.refuse(400, f"The request is not valid HTTP/1.1: {error}.")
            return
        if self.head_bytes > self.guard.max_header_bytes:
            cycle = self.cycle
            if cycle is None or not cycle.more_body:  # still no end of headers in sight
                self.refuse(431, self._too_large())

    def on_headers_complete(self) -> None:
        guard = self.guard
        self.head_since = None
        head_bytes, self.head_bytes = self.head_bytes, 0
        if len(self.headers) > guard.max_header_count:
            raise HeadRefused(431, f"The request has more than {guard.max_header_count} headers.")
        if head_bytes > guard.max_header_bytes and self._head_size() > guard.max_header_bytes:
            raise HeadRefused(431, self._too_large())
        if self.parser.get_http_version() not in _SERVED_VERSIONS:
            raise HeadRefused(505, "Only HTTP/1.0 and HTTP/1.1 are served here.")
        if not self.url.startswith(b"/"):
            self._check_target_host()
        HttpToolsProtocol.on_headers_complete(self)  # not `super()`: this runs per request

    def on_response_complete(self) -> None:
        HttpToolsProtocol.on_response_complete(self)
        # uvicorn armed its keep-alive timer: no pipelined request is waiting, so the next
        # request's header phase begins now.
        if self.timeout_keep_alive_task is not None:
            self.head_since = self.loop.time()

    def header_timeout_expired(self) -> None:
        self.head_since = None
        if self.transport.is_closing():
            return
        if self.head_bytes:  # part of a request arrived: say why it is not answered
            detail = f"The request headers did not arrive within {self.guard.header_timeout:g} s."
            self.refuse(408, detail)
        else:
            self.transport.close()

    def refuse(self, status: int, detail: str) -> None:
        """Answer with a problem document unless a response is under way, and close."""
        cycle = self.cycle
        default_headers = self.server_state.default_headers
        if cycle is None or cycle.response_complete:
            self.transport.write(self.guard.answer(status, detail, default_headers))
        elif not cycle.response_started:  # the app has the request: answer under its id
            request_id = cycle.scope["state"].get("request_id")
            self.transport.write(self.guard.answer(status, detail, default_headers, request_id))
        self.transport.close()

    def _too_large(self) -> str:
        return f"The request line and headers exceed {self.guard.max_header_bytes} bytes."

    def _head_size(self) -> int:
        """The request line and headers as received, give or take the optional whitespace."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers) + 16

    def _check_target_host(self) -> None:
        """An absolute-form target (`GET http://host/path`) must name the host `Host` names.

        RFC 9112 lets the target's host override the header; answering a request whose two
        hosts disagree would let a client pass one host to the edge's check and another to
        anything that reads the target, so it is refused instead.
        """
        target = httptools.parse_url(self.url)
        if target.schema is None:
            return
        scheme = target.schema.lower()
        authority = (target.host.lower(), target.port or _DEFAULT_PORTS.get(scheme))
        for name, value in self.headers:
            if name == b"host" and _host_and_port(value, scheme) != authority:
                raise HeadRefused(400, "The request target names another host than Host.")


def _host_and_port(host_header: bytes, scheme: bytes) -> tuple[bytes, int | None]:
    host = host_header.strip().lower()
    if host.startswith(b"["):  # [::1]:8000
        end = host.find(b"]")
        name, port = host[1:end], host[end + 1 :].removeprefix(b":")
    else:
        name, _, port = host.partition(b":")
    if not port:
        return name, _DEFAULT_PORTS.get(scheme)
    return name, int(port) if port.isdigit() else None


def bind_protocol(guard: ConnectionGuard) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, sharing `guard`."""
    return type("WorkerHttpProtocol", (GuardedHttpToolsProtocol,), {"guard": guard})


def connection_capacity(max_connections: int) -> int:
    """How many connections this process can hold, at most `max_connections`.

    Raises the soft open-file limit toward the hard one when the cap needs it (the default soft
    limit, often 1024, would otherwise refuse every new connection at about a thousand); when
    the hard limit is lower, the cap shrinks to fit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + RESERVED_FILE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted and soft != hard:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - RESERVED_FILE_DESCRIPTORS))


def connection_guard(settings: Settings) -> ConnectionGuard:
    return ConnectionGuard(
        header_timeout=settings.header_timeout_seconds,
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        max_connections=connection_capacity(settings.max_connections_per_worker),
        security_headers=response_headers(
            hsts=hsts_for(settings), csp=API_CSP, vary_origin=bool(settings.cors_allow_origins)
        ),
    )
