"""The requests the edge answers itself: one class per refusal, its status and detail with it.

Each is an `HTTPException`, so one raised inside the app (a body read past the cap) is answered
by the app's own handlers, and one raised by the edge is answered by the edge with the same
problem document. `close_connection` says whether the rest of the request can still be read:
after a refused body it cannot, so the connection is closed.
"""

from starlette.exceptions import HTTPException

_CLOSE = {"Connection": "close"}


class EdgeRefusal(HTTPException):
    close_connection = True

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code, detail, headers=_CLOSE if self.close_connection else None)


class HostNotServed(EdgeRefusal):
    close_connection = False

    def __init__(self) -> None:
        super().__init__(400, "The Host header names a host this service does not serve.")


class AmbiguousHost(EdgeRefusal):
    """Two `Host` headers: a proxy may route by one while this service checks the other."""

    def __init__(self) -> None:
        super().__init__(400, "The request has more than one Host header.")


class MalformedContentLength(EdgeRefusal):
    def __init__(self) -> None:
        super().__init__(400, "The Content-Length header is not a valid length.")


class BodyTooLarge(EdgeRefusal):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds {limit} bytes.")


class BodyReadTimeout(EdgeRefusal):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"The request body did not arrive in time (waited {seconds:g} s for it)."
        )
