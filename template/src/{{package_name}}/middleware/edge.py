"""The request edge: one pure-ASGI layer that composes every concern of this package.

In order, for each HTTP request: proxy trust (`proxy_trust`), trusted host (`trusted_host`),
request id (`request_id`), CORS (`cors`), the in-flight count of the graceful drain (`drain`),
body cap and body read timeout (`body_limit`), request timeout (`request_timeout`), security
headers on the way out (`security_headers`), the access line and span (`telemetry`), and a
last-resort 500. Each concern lives in its own module; this class only wires them together.

Why one layer: these concerns run on every request, and a stack of separate layers costs a call,
a closure and a `send` wrapper each, plus one pass over the request headers per layer. Fused, the
headers are read in one pass and every response header is encoded at startup. `bench/run.py`
measures the result against bare FastAPI.

Errors answered here (400 bad Host or Content-Length, 403 refused preflight, 408, 413, 503 for a
request the drain cancelled before its response, 504 and the last-resort 500) are problem
documents that carry the request id and the security headers; Starlette's own last-resort
handler sits outside every middleware and would send neither.
"""

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..drain import Drain
from ..errors import PROBLEM_JSON, problem_bytes
from ..request_context import request_id_var
from .body_limit import (
    BodyReadTimeout,
    BodyTooLarge,
    GuardedReceive,
    MalformedContentLength,
    declared_length,
)
from .cors import RESPONSE_HEADER_NAMES, CorsPolicy
from .proxy_trust import TrustedProxies
from .request_id import accept_or_new, new_request_id
from .request_timeout import Deadlines
from .security_headers import API_CSP, DOCS_CSP, Header, HeaderSet, response_headers
from .telemetry import RequestTelemetry
from .trusted_host import TrustedHosts

logger = logging.getLogger(__name__)

_PROBLEM_CONTENT_TYPE = (b"content-type", PROBLEM_JSON.encode())
_CLOSE = (b"connection", b"close")
_REQUEST_ID = b"x-request-id"
_READ_HEADERS = frozenset(
    {
        b"host",
        b"x-request-id",
        b"content-length",
        b"origin",
        b"transfer-encoding",
        b"x-forwarded-for",
        b"x-forwarded-proto",
    }
)

# Where the response stands, as seen by the `send` wrapper.
_NOT_STARTED, _STARTED, _REPLACED = 0, 1, 2
# How long a request the drain cancelled mid-response waits for the server to close its
# connection; the server does so right after cancelling, so this only bounds a misbehaving server.
_DISCONNECT_WAIT_SECONDS = 1.0


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: list[str],
        trusted_proxies: list[str],
        max_body_bytes: int,
        body_read_timeout_seconds: float,
        request_timeout_seconds: float,
        hsts: str | None,
        cors: CorsPolicy | None,
        docs_paths: frozenset[str] = frozenset(),
        drain: Drain,
        telemetry: RequestTelemetry,
    ) -> None:
        self.app = app
        self.drain = drain
        self.telemetry = telemetry
        self.hosts = TrustedHosts(allowed_hosts)
        self.proxies = TrustedProxies(trusted_proxies) if trusted_proxies else None
        self.max_body_bytes = max_body_bytes
        self.body_reads = Deadlines(body_read_timeout_seconds)
        self.handlers = Deadlines(request_timeout_seconds)
        self.cors = cors
        extra_names = frozenset({_REQUEST_ID}) | (RESPONSE_HEADER_NAMES if cors else frozenset())
        self.api_headers = HeaderSet(
            response_headers(hsts=hsts, csp=API_CSP, vary_origin=cors is not None), extra_names
        )
        self.docs_headers = HeaderSet(
            response_headers(hsts=hsts, csp=DOCS_CSP, vary_origin=cors is not None), extra_names
        )
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and not self._admit_websocket(scope):
                await send({"type": "websocket.close", "code": 1008})  # the server answers 403
                return
            await self.app(scope, receive, send)
            return

        host = inbound_id = content_length = origin = transfer_encoding = None
        forwarded_for = forwarded_proto = None
        for name, value in scope["headers"]:
            if name in _READ_HEADERS:  # one set lookup for the many headers the edge ignores
                if name == b"host":  # most frequent first
                    host = value
                elif name == b"x-forwarded-for":  # a list, possibly split over several headers
                    forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value
                elif name == b"content-length":
                    content_length = value
                elif name == b"origin":
                    origin = value
                elif name == b"x-request-id":
                    inbound_id = value
                else:
                    transfer_encoding = value
        if self.proxies is not None and (forwarded_for or forwarded_proto):
            self.proxies.apply(scope, forwarded_for, forwarded_proto)

        rid = new_request_id() if inbound_id is None else accept_or_new(inbound_id)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        defaults = self.docs_headers if scope["path"] in self.docs_paths else self.api_headers
        extra: tuple[Header, ...] = ((_REQUEST_ID, rid.encode("ascii")),)
        if origin is not None and self.cors is not None:
            extra += self.cors.actual_headers(origin)

        response = _NOT_STARTED
        status: int | None = None  # for the access line, spans and metrics
        handler = self.handlers.start()
        drain = self.drain
        in_flight = drain.enter(handler)
        guarded: GuardedReceive | None = None
        record = self.telemetry.start(scope)

        async def refuse(code: int, detail: str, *, close: bool = False) -> None:
            nonlocal status
            status = code
            await self._refuse(send, defaults, extra, code, detail, close=close)

        async def send_secured(message: Message) -> None:
            nonlocal response, status
            if message["type"] == "http.response.start":
                if guarded is not None and guarded.declared_over_cap():
                    # The handler answered without reading a body that was over the cap anyway.
                    response = _REPLACED
                    await refuse(413, guarded.too_large(), close=True)
                    return
                response = _STARTED
                in_flight.response_started = True
                status = message["status"]
                self.handlers.stop(handler)
                message["headers"] = defaults.merge(message.get("headers", []), extra)
                if drain.draining:  # keep-alive clients reconnect, to another instance
                    message["headers"] = with_connection_close(message["headers"])
            elif response == _REPLACED:
                return
            await send(message)

        try:
            if not self.hosts.allows(host):
                await refuse(400, "The Host header names a host this service does not serve.")
                return
            if origin is not None and self.cors is not None and scope["method"] == "OPTIONS":
                status = await self._answer_preflight(scope, origin, extra[0], defaults, send)
                if status is not None:
                    return
            declared = declared_length(content_length) if content_length is not None else None
            # HTTP/1.1 has a body only with one of these headers; HTTP/2 may have one without.
            if declared or transfer_encoding is not None or scope.get("http_version") == "2":
                receive = guarded = GuardedReceive(
                    receive,
                    scope,
                    declared=declared,
                    default_cap=self.max_body_bytes,
                    read_deadlines=self.body_reads,
                    handlers=self.handlers,
                    handler=handler,
                )
            await self.app(scope, receive, send_secured)
        except asyncio.CancelledError:
            if in_flight.cancelled:  # by the drain, at its deadline: the server logs the counts
                handler.uncancel()
                if response != _NOT_STARTED:  # too late for an error: the server cuts it
                    await _until_disconnected(receive)
                    drain.cut_mid_response += 1
                else:
                    detail = "The service shut down before this request finished."
                    await refuse(503, detail, close=True)
                    drain.answered_503 += 1
                return
            if not self.handlers.caused(handler):
                raise
            await refuse(504, f"The handler did not answer within {self.handlers.limit:g} s.")
        except (BodyTooLarge, BodyReadTimeout) as refusal:
            if response != _NOT_STARTED:
                raise
            await refuse(refusal.status_code, refusal.detail, close=True)
        except MalformedContentLength:
            await refuse(400, "The Content-Length header is not a valid length.", close=True)
        except Exception:
            logger.exception("unhandled error while serving %s %s", scope["method"], scope["path"])
            if response != _NOT_STARTED:
                raise
            await refuse(500, "The service failed to handle this request.")
        finally:
            self.handlers.stop(handler)
            drain.leave(in_flight)
            self.telemetry.finish(record, status)
            request_id_var.reset(token)

    def _admit_websocket(self, scope: Scope) -> bool:
        """WebSocket handshakes get proxy trust and the Host check; the rest is HTTP-only."""
        host = forwarded_for = forwarded_proto = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b"," + value
            elif name == b"x-forwarded-proto":
                forwarded_proto = value
        if self.proxies is not None and (forwarded_for or forwarded_proto):
            self.proxies.apply(scope, forwarded_for, forwarded_proto)
        return self.hosts.allows(host)

    @staticmethod
    async def _refuse(
        send: Send,
        defaults: HeaderSet,
        extra: tuple[Header, ...],
        status: int,
        detail: str,
        *,
        close: bool = False,
    ) -> None:
        body = problem_bytes(status, detail)
        headers = [_PROBLEM_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
        if close:  # the unread body makes the connection unusable for another request
            headers.append(_CLOSE)
        start = {"type": "http.response.start", "status": status}
        start["headers"] = defaults.merge(headers, extra)
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _answer_preflight(
        self,
        scope: Scope,
        origin: bytes,
        request_id_header: Header,
        defaults: HeaderSet,
        send: Send,
    ) -> int | None:
        """Answer a CORS preflight with its status; None when this OPTIONS request is not one."""
        assert self.cors is not None
        method = requested_headers = None
        for name, value in scope["headers"]:
            if name == b"access-control-request-method":
                method = value
            elif name == b"access-control-request-headers":
                requested_headers = value
        if method is None:
            return None
        outcome = self.cors.preflight(origin, method, requested_headers)
        if isinstance(outcome, str):  # refused: no CORS header at all, so the browser blocks it
            await self._refuse(send, defaults, (request_id_header,), 403, outcome)
            return 403
        start = {"type": "http.response.start", "status": 204}
        start["headers"] = defaults.merge([], (request_id_header, *outcome))
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return 204


def with_connection_close(headers: list[Header]) -> list[Header]:
    if any(name == b"connection" for name, _ in headers):
        return headers
    return [*headers, _CLOSE]


async def _until_disconnected(receive: Receive) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_WAIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
