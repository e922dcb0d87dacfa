"""Request body cap, checked before a byte is read and again as the body streams.

A declared Content-Length over the cap is refused at once. The server itself never delivers more
than a declared length, so only bodies without one (chunked) are counted as they arrive; the
first chunk past the cap stops the read. Nothing here buffers the body.
"""

from starlette.types import Message, Receive


class BodyTooLarge(Exception):
    pass


class MalformedContentLength(Exception):
    pass


def declared_length(raw: bytes) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise MalformedContentLength
    return int(raw)


def counting_receive(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
        return message

    return receive_counted
