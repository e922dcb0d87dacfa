"""Bearer access tokens (JWT) checked against the provider's keys, with PyJWT.

A token is accepted only when all of these hold: its header names an allowed asymmetric
algorithm and a `kid` the provider publishes; that algorithm is the key's own (so a token
"signed" HS256 with a public key, or with `alg: none`, is refused before any check); the
signature verifies; `iss` and `aud` are the configured ones; `exp`, `nbf` and `iat` hold within
the leeway; every required claim is there. Why a token failed is logged at DEBUG, never
answered.

A client sends the same token with many requests, and checking one costs a few hundred
microseconds (PyJWT validates each base64 character in Python, then the signature): an accepted
token is remembered for at most `VERIFIED_SECONDS`, never past its `exp`, and forgotten when the
key set changes. Only accepted tokens are remembered, so made-up ones cannot fill the memory
(`VERIFIED_MAX` bounds it anyway).
"""

import logging
import time
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

import jwt
from jwt import PyJWK

from .principal import Principal

logger = logging.getLogger(__name__)

ALWAYS_REQUIRED = ("iss", "aud", "exp", "sub")
VERIFIED_SECONDS = 60.0
VERIFIED_MAX = 10_000


class UnknownKey(Exception):
    """The token names a key that is not (or no longer) among the verifying keys."""


class InvalidToken(Exception):
    """The token is not one this service accepts; the reason stays in the log."""


class KeySource(Protocol):
    """Where the verifying keys come from: the provider's (`keys.py`) or this service's own."""

    generation: int
    """Counts the key sets seen: what was checked with an older one is checked again."""

    async def key(self, kid: str) -> PyJWK:
        """The key `kid` names; raises `UnknownKey`."""
        ...


Keys = TypeVar("Keys", bound=KeySource)


class TokenVerifier(Generic[Keys]):
    def __init__(
        self,
        keys: Keys,
        *,
        issuer: str | None,
        audience: str | None,
        algorithms: Iterable[str],
        leeway_seconds: int,
        required_claims: Iterable[str] = (),
        scopes_claim: str = "scope",
    ) -> None:
        self.keys = keys
        self.algorithms = frozenset(algorithms)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self.required = list(dict.fromkeys([*ALWAYS_REQUIRED, *required_claims]))
        self.scopes_path = tuple(scopes_claim.split("."))
        # token -> (principal, wall-clock time it stops being trusted, key set generation)
        self._verified: dict[str, tuple[Principal, float, int]] = {}
        self.wall_clock = time.time

    async def verify(self, token: str) -> Principal:
        """The token's principal; raises `InvalidToken`, or `KeysUnavailable` (no key at all)."""
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, until, generation = remembered
            if self.wall_clock() < until and generation == self.keys.generation:
                return principal
            del self._verified[token]
        principal, expires = await self._check(token)
        # Read after the check: its last await is the key lookup, so this is the key's set.
        generation = self.keys.generation
        if len(self._verified) >= VERIFIED_MAX:
            del self._verified[next(iter(self._verified))]  # the oldest
        until = min(expires + self.leeway, self.wall_clock() + VERIFIED_SECONDS)
        self._verified[token] = (principal, until, generation)
        return principal

    async def _check(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise _refused("malformed", error) from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self.algorithms or not isinstance(kid, str):
            raise _refused("algorithm or kid", algorithm)
        try:
            key = await self.keys.key(kid)
        except UnknownKey:
            raise _refused("unknown kid", kid) from None
        if key.algorithm_name != algorithm:
            raise _refused("algorithm is not the key's", algorithm)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": self.required},
            )
        except jwt.InvalidTokenError as error:
            raise _refused("claims or signature", error) from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise _refused("sub", None)
        return Principal(id=subject, scopes=self._scopes(claims)), float(claims["exp"])

    def _scopes(self, claims: dict[str, Any]) -> frozenset[str]:
        value: Any = claims
        for part in self.scopes_path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            return frozenset(value.split())
        if isinstance(value, list) and all(isinstance(scope, str) for scope in value):
            return frozenset(value)
        if value is None:
            return frozenset()
        raise _refused("scopes claim", type(value).__name__)


def _refused(reason: str, detail: object) -> InvalidToken:
    logger.debug("access token refused: %s (%r)", reason, detail)
    return InvalidToken(reason)
