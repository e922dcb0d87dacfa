"""OWASP secure response headers, encoded once at startup and added to every response.

API responses get a Content-Security-Policy that allows nothing; the documentation pages get one
under which Swagger UI and ReDoc load from their CDN. A header that a handler set deliberately is
kept as it is; `Vary` is the exception: the handler's value is kept and `Origin` is added to it.
"""

from collections.abc import Sequence

Header = tuple[bytes, bytes]

# Every powerful feature denied (OWASP Secure Headers Project, Permissions-Policy list).
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), display-capture=(), "
    "encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), "
    "publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), web-share=(), "
    "xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(), gamepad=(), hid=(), "
    "idle-detection=(), interest-cohort=(), serial=(), unload=()"
)

API_CSP = "default-src 'none'; frame-ancestors 'none'"

# FastAPI's documentation pages load Swagger UI and ReDoc from jsDelivr and start Swagger UI with
# an inline script whose text depends on the request's root path, so it cannot be pinned by hash.
# ReDoc injects its styles at run time and parses the schema in a worker started from a blob.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)

VARY_ORIGIN: Header = (b"vary", b"Origin")


def hsts_value(max_age_seconds: int, *, include_subdomains: bool) -> str:
    value = f"max-age={max_age_seconds}"
    return value + "; includeSubDomains" if include_subdomains else value


def _encode(headers: Sequence[tuple[str, str]]) -> tuple[Header, ...]:
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
    )


def response_headers(*, hsts: str | None, csp: str, vary_origin: bool) -> tuple[Header, ...]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", csp),
    ]
    if hsts:
        headers.append(("Strict-Transport-Security", hsts))
    encoded = _encode(headers)
    return (*encoded, VARY_ORIGIN) if vary_origin else encoded


class HeaderSet:
    """Default headers of one kind of response, merged into what the handler sent.

    `extra_names` are the names of the per-request headers (request id, CORS) that may be added
    too; knowing them in advance keeps the common case to one set operation.
    """

    __slots__ = ("headers", "names")

    def __init__(self, headers: tuple[Header, ...], extra_names: frozenset[bytes]) -> None:
        self.headers = headers
        self.names = frozenset(name for name, _ in headers) | extra_names

    def merge(self, existing: list[Header], extra: tuple[Header, ...]) -> list[Header]:
        """The handler's headers, then every default and extra header it did not set itself.

        ASGI header names are lowercase, so they compare as they are.
        """
        names = self.names
        for name, _ in existing:
            if name in names:
                return _reconcile(existing, (*self.headers, *extra))
        return [*existing, *self.headers, *extra]  # the common case: nothing to reconcile


def _reconcile(existing: list[Header], defaults: tuple[Header, ...]) -> list[Header]:
    merged = list(existing)
    present = {name for name, _ in existing}
    for header in defaults:
        name = header[0]
        if name not in present:
            merged.append(header)
        elif name == b"vary":
            position = next(i for i, (n, _) in enumerate(merged) if n == b"vary")
            merged[position] = _add_vary(merged[position], header[1])
    return merged


def _add_vary(header: Header, token: bytes) -> Header:
    listed = {part.strip().lower() for part in header[1].split(b",")}
    if token.lower() in listed or b"*" in listed:
        return header
    return (header[0], header[1] + b", " + token)
