"""Request body cap and body read timeout. Nothing here buffers the body.

The cap in force is the service-wide `max_body_bytes`, or the endpoint's own when it is marked
with `@body_cap(n)` (an upload route taking more, or a route taking less). Routing has chosen the
endpoint by the time the body is first read, so the marker is resolved then, with one attribute
lookup; requests that never read a body never look.

- A declared Content-Length over the cap is refused at the first read, before a byte is read;
  if the handler answers without reading the body at all, its answer is replaced by the 413.
- A body without a declared length (chunked) is counted as it arrives and stopped at the cap.
  A declared one needs no counting: the server never delivers more than it declared.
- Each wait for the next piece of the body is bounded by the body read timeout, so a client that
  declares more than it sends (or stalls) gets a 408 instead of holding the request forever.

Both refusals close the connection: the rest of the body is never read.
"""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.types import Message, Receive, Scope

from .refusals import BodyReadTimeout, BodyTooLarge, MalformedContentLength
from .request_timeout import Deadlines, Task

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

_CAP_ATTRIBUTE = "__max_body_bytes__"


def body_cap(max_bytes: int) -> Callable[[Endpoint], Endpoint]:
    """Give one endpoint its own body cap instead of the service-wide `max_body_bytes`.

    ```python
    @router.post("/uploads")
    @body_cap(50 * MiB)
    async def upload(request: Request) -> ...: ...
    ```
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"body_cap needs a byte count >= 0, not {max_bytes!r}")

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _CAP_ATTRIBUTE, max_bytes)
        return endpoint

    return mark


def cap_in_force(scope: Scope, default: int) -> int:
    return getattr(scope.get("endpoint"), _CAP_ATTRIBUTE, default)


def declared_length(raw: bytes) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise MalformedContentLength
    return int(raw)


class GuardedReceive:
    """The `receive` the app sees for a request that may carry a body."""

    __slots__ = (
        "_cap",
        "_declared",
        "_default_cap",
        "_done",
        "_handler",
        "_handlers",
        "_read_deadlines",
        "_receive",
        "_received",
        "_scope",
        "read_started",
    )

    def __init__(
        self,
        receive: Receive,
        scope: Scope,
        *,
        declared: int | None,
        default_cap: int,
        read_deadlines: Deadlines,
        handlers: Deadlines,
        handler: Task,
    ) -> None:
        self._receive = receive
        self._scope = scope
        self._declared = declared
        self._default_cap = default_cap
        self._read_deadlines = read_deadlines
        self._handlers = handlers
        self._handler = handler
        self._cap = default_cap
        self._received = 0
        self._done = False
        self.read_started = False

    def declared_over_cap(self) -> bool:
        """For a response that starts before the body was read: was the body refused anyway?"""
        if self._declared is None or self.read_started:
            return False
        self._cap = cap_in_force(self._scope, self._default_cap)
        return self._declared > self._cap

    def too_large(self) -> str:
        return BodyTooLarge(self._cap).detail

    async def __call__(self) -> Message:
        if self._done:  # after the body, only `http.disconnect` is left: no limit applies
            return await self._receive()
        if not self.read_started:
            self.read_started = True
            self._cap = cap_in_force(self._scope, self._default_cap)
            if self._declared is not None and self._declared > self._cap:
                raise BodyTooLarge(self._cap)
        self._handlers.pause(self._handler)
        waiting = self._read_deadlines.start()
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if self._read_deadlines.caused(waiting):
                raise BodyReadTimeout(self._read_deadlines.limit) from None
            raise
        finally:
            self._read_deadlines.stop(waiting)
            self._handlers.resume(self._handler)
        if message["type"] != "http.request":
            self._done = True
            return message
        if not message.get("more_body", False):
            self._done = True
        if self._declared is None:
            self._received += len(message.get("body", b""))
            if self._received > self._cap:
                raise BodyTooLarge(self._cap)
        return message
