"""Request ids: keep a client's `X-Request-ID` only when it is a short, safe token.

Anything else (too long, control characters, spaces, non-ASCII) is replaced by a fresh id, so a
client cannot inject lines into logs or headers into responses through it.
"""

import os
import re

_SAFE_TOKEN = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    return os.urandom(16).hex()


def accept_or_new(inbound: bytes | None) -> str:
    if inbound is not None and _SAFE_TOKEN.fullmatch(inbound):
        return inbound.decode("ascii")
    return new_request_id()
