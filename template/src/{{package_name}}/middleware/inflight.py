"""Counts the HTTP requests in flight, so a graceful drain can wait for them (see `drain.py`).

A request counts from the moment it enters until the app returns: for a streaming response that
is after its last body message or the client's disconnect, and it includes background tasks run
after the response. While the service drains, every response carries `Connection: close`, so
keep-alive clients open a new connection (to another instance) for their next request.

At the drain deadline the server cancels the requests still counted. One whose response has not
started is answered 503 here. One whose response has started cannot turn into an error any more:
the server closes its connection, so the client sees a truncated response rather than a complete
one, and this layer waits for that disconnect. Neither case logs: the server logs one line with
the counts. WebSocket and lifespan scopes pass through uncounted.
"""

import asyncio
import contextlib
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..drain import Drain
from ..errors import PROBLEM_JSON, problem_bytes

_CONNECTION_CLOSE = (b"connection", b"close")
# How long a cancelled request whose response has started waits for the server to close its
# connection; the server does so right after cancelling, so this only bounds a misbehaving server.
_DISCONNECT_WAIT_SECONDS = 1.0


class InFlightMiddleware:
    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        drain = self.drain
        request = drain.enter()

        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                request.response_started = True
                if drain.draining:
                    message["headers"] = _with_connection_close(message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except asyncio.CancelledError:
            if not request.cancelled:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            if request.response_started:
                await _until_disconnected(receive)
                drain.cut_mid_response += 1
            else:
                await _send_shutting_down(send)
                drain.answered_503 += 1
        finally:
            drain.leave(request)


def _with_connection_close(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    pairs = list(headers)
    if not any(name.lower() == b"connection" for name, _ in pairs):
        pairs.append(_CONNECTION_CLOSE)
    return pairs


async def _send_shutting_down(send: Send) -> None:
    body = problem_bytes(503, "The service shut down before this request finished.")
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        _CONNECTION_CLOSE,
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _until_disconnected(receive: Receive) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_WAIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
