"""Trace context for outbound calls: forward the caller's W3C `traceparent` and `tracestate`.

Without tracing, this service does not take part in the trace, and the W3C Trace Context
recommendation asks such a hop to pass both headers on unchanged: the request edge keeps them
(when valid) for the duration of the request, and the outbound client adds them to each call
made on its behalf. A value that is not a well-formed `traceparent` is dropped, and
`tracestate` goes only with a valid `traceparent`, so a client cannot smuggle text upstream.

With OpenTelemetry's httpx instrumentation on the client, the instrumentation writes the
`traceparent` of its own client span into every request; that replaces the forwarded one, which
is what the trace needs then.
"""

import re
from contextvars import ContextVar, Token

# version (not ff) - trace id (not all zeros) - parent id (not all zeros) - flags, lower-case hex
_TRACEPARENT = re.compile(
    rb"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}"
)
_TRACESTATE = re.compile(rb"[\x20-\x7e]{1,512}")

TraceHeaders = tuple[tuple[str, str], ...]

_inbound: ContextVar[TraceHeaders] = ContextVar("inbound_trace_context", default=())


def forward_trace_context(traceparent: bytes, tracestate: bytes | None) -> Token[TraceHeaders]:
    """Keep a request's trace headers for the outbound calls made on its behalf.

    The request edge calls this with the headers it read (`middleware/edge.py`) and hands the
    token back to `stop_forwarding` when the request is over. A malformed `traceparent` is
    dropped, and `tracestate` goes only with a valid `traceparent`.
    """
    forwarded: TraceHeaders = ()
    if _TRACEPARENT.fullmatch(traceparent):
        forwarded = (("traceparent", traceparent.decode("ascii")),)
        if tracestate is not None and _TRACESTATE.fullmatch(tracestate):
            forwarded += (("tracestate", tracestate.decode("ascii")),)
    return _inbound.set(forwarded)


def stop_forwarding(token: Token[TraceHeaders]) -> None:
    _inbound.reset(token)


def current_trace_headers() -> TraceHeaders:
    return _inbound.get()
