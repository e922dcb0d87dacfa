"""The request edge: trusted host, request id, body cap, security headers and last-resort errors.

These concerns run on every request, so they share one pure-ASGI layer: a stack of separate
layers costs a function call, a closure and a `send` wrapper each. Each concern keeps its own
module (`trusted_host`, `request_id`, `body_limit`, `security_headers`); this class only wires them.

An exception that escapes the app before the response started becomes a 500 problem document
here, inside the layer, so it still carries the request id and the security headers (Starlette's
own last-resort handler sits outside every middleware and would send neither).
"""

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import PROBLEM_JSON, problem_bytes
from ..request_context import request_id_var
from . import request_id, security_headers
from .body_limit import BodyTooLarge, MalformedContentLength, counting_receive, declared_length
from .telemetry import RequestTelemetry
from .trusted_host import TrustedHosts

logger = logging.getLogger(__name__)

_PROBLEM_CONTENT_TYPE = (b"content-type", PROBLEM_JSON.encode())


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: list[str],
        max_body_bytes: int,
        hsts: str | None,
        docs_paths: frozenset[str] = frozenset(),
        telemetry: RequestTelemetry,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.hosts = TrustedHosts(allowed_hosts)
        self.max_body_bytes = max_body_bytes
        self.api_headers = security_headers.response_headers(
            hsts=hsts, csp=security_headers.API_CSP
        )
        self.docs_headers = security_headers.response_headers(
            hsts=hsts, csp=security_headers.DOCS_CSP
        )
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        host = inbound_id = content_length = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"x-request-id":
                inbound_id = value
            elif name == b"content-length":
                content_length = value

        rid = request_id.accept_or_new(inbound_id)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        defaults = self.docs_headers if scope["path"] in self.docs_paths else self.api_headers
        defaults = (*defaults, (b"x-request-id", rid.encode("ascii")))
        response_started = False
        status: int | None = None  # observability hook: access log, spans, metrics
        record = self.telemetry.start(scope)

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = security_headers.merge(message.get("headers", []), defaults)
            await send(message)

        async def refuse(status: int, detail: str, *, close: bool = False) -> None:
            body = problem_bytes(status, detail)
            headers = [_PROBLEM_CONTENT_TYPE, (b"content-length", str(len(body)).encode())]
            if close:  # the unread body makes the connection unusable for another request
                headers.append((b"connection", b"close"))
            await send_with_headers(
                {"type": "http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": body})

        try:
            if not self.hosts.allows(host):
                await refuse(400, "The Host header names a host this service does not serve.")
                return
            if content_length is not None:
                if declared_length(content_length) > self.max_body_bytes:
                    raise BodyTooLarge
            else:
                receive = counting_receive(receive, self.max_body_bytes)
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge:
            if response_started:
                raise
            await refuse(413, f"The request body exceeds {self.max_body_bytes} bytes.", close=True)
        except MalformedContentLength:
            await refuse(400, "The Content-Length header is not a valid length.", close=True)
        except Exception:
            logger.exception("unhandled error while serving %s %s", scope["method"], scope["path"])
            if response_started:
                raise
            await refuse(500, "The service failed to handle this request.")
        finally:
            self.telemetry.finish(record, status)  # observability hook
            request_id_var.reset(token)
