"""The answers of a refused request: RFC 6750 codes in `WWW-Authenticate`, problem+json bodies.

The details say what the client must do, never why a token failed (expired, wrong issuer,
unknown key...): that would tell an attacker which part of a forgery to fix next.
"""

from ..http.problems import ProblemError

_BEARER = "Bearer"


def credentials_missing() -> ProblemError:
    # RFC 6750 section 3.1: a request without credentials gets no error code.
    return ProblemError(
        "This operation needs an access token.",
        status=401,
        headers={"WWW-Authenticate": _BEARER},
    )


def invalid_request() -> ProblemError:
    return ProblemError(
        "Send the access token in the Authorization header as `Bearer <token>`, and only there.",
        status=400,
        headers={"WWW-Authenticate": f'{_BEARER} error="invalid_request"'},
    )


def invalid_token() -> ProblemError:
    return ProblemError(
        "The access token is not valid: get a new one.",
        status=401,
        headers={"WWW-Authenticate": f'{_BEARER} error="invalid_token"'},
    )


def insufficient_scope(needed: tuple[str, ...]) -> ProblemError:
    scope = " ".join(needed)
    return ProblemError(
        f"This operation needs the scope {scope}.",
        status=403,
        headers={"WWW-Authenticate": f'{_BEARER} error="insufficient_scope", scope="{scope}"'},
    )


def keys_unavailable(retry_after_seconds: float) -> ProblemError:
    return ProblemError(
        "Access tokens cannot be checked right now.",
        status=503,
        headers={"Retry-After": str(max(1, round(retry_after_seconds)))},
    )
