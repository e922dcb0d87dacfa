"""Request ids: keep a client's `X-Request-ID` only when it is a short, safe token.

Anything else (too long, control characters, spaces, non-ASCII) is replaced by a fresh id, so a
client cannot inject lines into logs or headers into responses through it.
"""

import re
from random import getrandbits

_SAFE_TOKEN = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    """128 random bits as 32 hex digits.

    An id correlates log lines; it is no secret (a client may send its own), so it comes from
    the process's pseudo-random generator (seeded from the OS in each worker process, reseeded
    after a fork) rather than from `os.urandom`, whose system call costs up to a microsecond
    per request on a busy machine.
    """
    return getrandbits(128).to_bytes(16, "big").hex()


def accept_or_new(inbound: bytes | None) -> str:
    if inbound is not None and _SAFE_TOKEN.fullmatch(inbound):
        return inbound.decode("ascii")
    return new_request_id()
