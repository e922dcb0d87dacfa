"""Trace context for outbound calls: forward the caller's W3C `traceparent` and `tracestate`.

Without tracing, this service does not take part in the trace, and the W3C Trace Context
recommendation asks such a hop to pass both headers on unchanged: `InboundTraceContext` keeps
them (when valid) for the duration of the request, and the outbound client adds them to each
call made on its behalf. A value that is not a well-formed `traceparent` is dropped, and
`tracestate` goes only with a valid `traceparent`, so a client cannot smuggle text upstream.

With OpenTelemetry's httpx instrumentation on the client, the instrumentation writes the
`traceparent` of its own client span into every request; that replaces the forwarded one, which
is what the trace needs then.
"""

import re
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

# version (not ff) - trace id (not all zeros) - parent id (not all zeros) - flags, lower-case hex
_TRACEPARENT = re.compile(
    rb"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)
_TRACESTATE = re.compile(rb"[\x20-\x7e]{1,512}")

TraceHeaders = tuple[tuple[str, str], ...]

_inbound: ContextVar[TraceHeaders] = ContextVar("inbound_trace_context", default=())


def inbound_trace_headers(headers: list[tuple[bytes, bytes]]) -> TraceHeaders:
    """The trace headers of an ASGI request worth forwarding; empty when there are none."""
    traceparent = tracestate = None
    for name, value in headers:
        if name == b"traceparent":
            traceparent = value
        elif name == b"tracestate":
            tracestate = value
    if traceparent is None or not _TRACEPARENT.fullmatch(traceparent):
        return ()
    forwarded = (("traceparent", traceparent.decode("ascii")),)
    if tracestate is not None and _TRACESTATE.fullmatch(tracestate):
        forwarded += (("tracestate", tracestate.decode("ascii")),)
    return forwarded


def current_trace_headers() -> TraceHeaders:
    return _inbound.get()


class InboundTraceContext:
    """Pure ASGI: make the request's trace headers available to outbound calls it makes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = inbound_trace_headers(scope["headers"])
        if not forwarded:
            await self.app(scope, receive, send)
            return
        token = _inbound.set(forwarded)
        try:
            await self.app(scope, receive, send)
        finally:
            _inbound.reset(token)
