"""CORS allowlist: which browser origins may call the API, with which methods and headers.

The configuration is checked once, at startup: an origin must be `scheme://host[:port]` exactly as
a browser sends it, `null` is never allowed (sandboxed frames and local files send it, so it
identifies nobody), and `*` next to credentials is refused by the settings outside development.

A request without an `Origin` header costs nothing here. An allowed origin gets its
`Access-Control-Allow-Origin` header from a table built at startup. A preflight is answered by the
edge itself: 204 with the allowed methods and headers, or 403 and no allow-origin header at all.
"""

from collections.abc import Sequence

from ..validation import WILDCARD

Header = tuple[bytes, bytes]

# Always allowed in a preflight: browsers list them when their value is not CORS-safelisted
# (e.g. `Content-Type: application/json`), and refusing them would refuse every JSON call.
SAFELISTED_HEADERS = frozenset(
    {b"accept", b"accept-language", b"content-language", b"content-type"}
)

# Every header this module may add to a response.
RESPONSE_HEADER_NAMES = frozenset(
    {
        b"access-control-allow-origin",
        b"access-control-allow-credentials",
        b"access-control-allow-methods",
        b"access-control-allow-headers",
        b"access-control-expose-headers",
        b"access-control-max-age",
    }
)


class CorsPolicy:
    """The allowlist, with every response header it can produce encoded in advance."""

    def __init__(
        self,
        *,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        expose_headers: Sequence[str],
        allow_credentials: bool,
        max_age_seconds: int,
    ) -> None:

        self.any_origin = WILDCARD in allow_origins
        self.any_method = WILDCARD in allow_methods
        self.any_header = WILDCARD in allow_headers
        self.methods = frozenset(m.upper().encode() for m in allow_methods if m != WILDCARD)
        self.headers = SAFELISTED_HEADERS | {
            h.lower().encode() for h in allow_headers if h != WILDCARD
        }

        common: list[Header] = []
        if allow_credentials:
            common.append((b"access-control-allow-credentials", b"true"))
        # With credentials a browser refuses a literal `*`, so the origin is echoed instead.
        self.echo_origin = allow_credentials or not self.any_origin

        actual = list(common)
        if expose_headers:
            actual.append((b"access-control-expose-headers", ", ".join(expose_headers).encode()))
        self.actual_extra = tuple(actual)

        preflight = [*common, (b"access-control-max-age", str(max_age_seconds).encode())]
        if not self.any_method:
            preflight.append((b"access-control-allow-methods", b", ".join(sorted(self.methods))))
        self.preflight_extra = tuple(preflight)

        self.actual_by_origin = {
            origin.encode(): ((b"access-control-allow-origin", origin.encode()), *actual)
            for origin in allow_origins
            if origin != WILDCARD
        }
        self.actual_any = ((b"access-control-allow-origin", b"*"), *actual)

    def allows(self, origin: bytes) -> bool:
        if origin == b"null":
            return False
        return self.any_origin or origin in self.actual_by_origin

    def actual_headers(self, origin: bytes) -> tuple[Header, ...]:
        """Headers for a request that is not a preflight: empty when the origin is not allowed."""
        headers = self.actual_by_origin.get(origin)
        if headers is not None:
            return headers
        if not self.allows(origin):
            return ()
        if self.echo_origin:
            return ((b"access-control-allow-origin", origin), *self.actual_extra)
        return self.actual_any

    def preflight(
        self, origin: bytes, method: bytes, requested_headers: bytes | None
    ) -> tuple[Header, ...] | str:
        """The headers of an allowed preflight, or the reason it is refused."""
        if not self.allows(origin):
            return "The origin is not allowed to call this API."
        if not self.any_method and method not in self.methods:
            return f"The method {method.decode('latin-1')} is not allowed from this origin."
        requested = [h.strip().lower() for h in (requested_headers or b"").split(b",") if h.strip()]
        if not self.any_header:
            refused = [h for h in requested if h not in self.headers]
            if refused:
                names = ", ".join(h.decode("latin-1") for h in refused)
                return f"The request headers {names} are not allowed from this origin."
        allow_origin = origin if self.echo_origin else b"*"
        headers: list[Header] = [(b"access-control-allow-origin", allow_origin)]
        headers.extend(self.preflight_extra)
        if self.any_method:
            headers.append((b"access-control-allow-methods", method))
        if requested:
            headers.append((b"access-control-allow-headers", b", ".join(requested)))
        return tuple(headers)
