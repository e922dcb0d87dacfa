"""OWASP secure response headers, computed once at startup.

API responses get a CSP that allows nothing; /docs and /redoc get one under which Swagger UI and
ReDoc load from their CDN. A header that a handler set deliberately is kept as it is.
"""

from collections.abc import Sequence

Header = tuple[bytes, bytes]

# Every powerful feature denied (OWASP Secure Headers Project, permissions-policy list).
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), cross-origin-isolated=(), display-capture=(), "
    "encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), keyboard-map=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), "
    "publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), web-share=(), "
    "xr-spatial-tracking=(), clipboard-read=(), clipboard-write=(), gamepad=(), hid=(), "
    "idle-detection=(), interest-cohort=(), serial=(), unload=()"
)

API_CSP = "default-src 'none'; frame-ancestors 'none'"

# FastAPI's documentation pages load Swagger UI / ReDoc from jsDelivr and start them with a
# small inline script; ReDoc runs a web worker from a blob.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)


def _encode(headers: Sequence[tuple[str, str]]) -> tuple[Header, ...]:
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
    )


def response_headers(*, hsts: str | None, csp: str) -> tuple[Header, ...]:
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
    return _encode(headers)


def merge(existing: list[Header], defaults: tuple[Header, ...]) -> list[Header]:
    """`existing` plus every default whose name the handler did not set itself."""
    present = {name.lower() for name, _ in existing}
    merged = list(existing)
    merged.extend(header for header in defaults if header[0] not in present)
    return merged
