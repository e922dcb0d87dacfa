"""This service's own token signing keys: a JWK set of private keys, the first signs, all verify.

Ed25519 (EdDSA) and P-256 (ES256) keys only: asymmetric, so a leaked verifying key signs
nothing, and each key's algorithm is fixed by its curve, never by a token's header. The set comes
from `AUTH_SIGNING_KEYS` or `AUTH_SIGNING_KEYS_FILE`; without either (development and tests only:
production refuses to start), each process makes a random key of its own.

Rotation without logging anyone out: `signing-keys new --keep <current set>` puts a new key
first and keeps the old ones after it. Deploy that set: new tokens are signed with the new key,
tokens of the old one still verify. Once `AUTH_ACCESS_TOKEN_SECONDS` have passed, drop the old
key from the set; its tokens have expired by then.
"""

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm
from jwt.exceptions import InvalidKeyError, PyJWKError

from ..settings import ENV_PREFIX, Settings
from .tokens import UnknownKey

# A key's algorithm by its curve: the only algorithm a token of that key is checked with.
ALGORITHM_OF_CURVE = {"Ed25519": "EdDSA", "P-256": "ES256"}
SIGNING_ALGORITHMS = tuple(ALGORITHM_OF_CURVE.values())


class SigningKeys:
    """The signing key, and the verifying (public) keys by `kid`, for `TokenVerifier`."""

    generation = 0  # the set is fixed for the process: a remembered token never needs a recheck
    random = False  # made by this process, for want of configured keys

    def __init__(self, document: Any) -> None:
        entries = _entries(document)
        self._verifying: dict[str, PyJWK] = {}
        for entry in entries:
            public = {name: value for name, value in entry.items() if name != "d"}
            self._verifying[entry["kid"]] = _jwk(public)
        first = entries[0]
        self.kid: str = first["kid"]
        self.algorithm = ALGORITHM_OF_CURVE[first["crv"]]
        self._signing = _jwk(first)

    @property
    def kids(self) -> list[str]:
        return list(self._verifying)

    async def key(self, kid: str) -> PyJWK:
        key = self._verifying.get(kid)
        if key is None:
            raise UnknownKey
        return key

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self._signing.key, algorithm=self.algorithm, headers={"kid": self.kid}
        )


def _jwk(entry: dict[str, Any]) -> PyJWK:
    try:
        return PyJWK(entry, ALGORITHM_OF_CURVE[entry["crv"]])
    except (PyJWKError, InvalidKeyError) as error:
        raise ValueError(f"signing key {entry['kid']!r} is not a usable key: {error}") from None


def _entries(document: Any) -> list[dict[str, Any]]:
    """The private keys of a JWK set, checked: each has a unique `kid`, a supported curve, its
    private part, and no `alg` other than its curve's."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError('the signing keys must be a JWK set: {"keys": [...]} with one key or more')
    entries: list[dict[str, Any]] = []
    for entry in keys:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise ValueError("every signing key needs a `kid`")
        kid = entry["kid"]
        algorithm = ALGORITHM_OF_CURVE.get(entry.get("crv", ""))
        if algorithm is None:
            raise ValueError(f"signing key {kid!r}: only Ed25519 and P-256 keys are accepted")
        if entry.get("alg", algorithm) != algorithm:
            raise ValueError(f"signing key {kid!r}: `alg` must be {algorithm} for its curve")
        if "d" not in entry:
            raise ValueError(f"signing key {kid!r} has no private part (`d`): it cannot sign")
        if any(seen["kid"] == kid for seen in entries):
            raise ValueError(f"signing key {kid!r} appears twice")
        entries.append(entry)
    return entries


def new_key() -> dict[str, Any]:
    """A new Ed25519 private JWK; its `kid` says when it was made, so a set reads in order."""
    jwk = OKPAlgorithm.to_jwk(Ed25519PrivateKey.generate(), as_dict=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return {**jwk, "kid": f"{stamp}-{secrets.token_hex(4)}", "alg": "EdDSA", "use": "sig"}


def rotated(current: Any | None) -> dict[str, Any]:
    """A set with a new key first, then the keys of `current` (checked) if given."""
    kept = _entries(current) if current is not None else []
    return {"keys": [new_key(), *kept]}


def load(settings: Settings) -> SigningKeys:
    """The configured key set; a random key of its own when none is (never in production)."""
    if settings.auth_signing_keys_file is not None:
        text = settings.auth_signing_keys_file.read_text()
        source = f"{ENV_PREFIX}AUTH_SIGNING_KEYS_FILE"
    elif settings.auth_signing_keys is not None:
        text = settings.auth_signing_keys.get_secret_value()
        source = f"{ENV_PREFIX}AUTH_SIGNING_KEYS"
    else:
        keys = SigningKeys(rotated(None))
        keys.random = True
        return keys
    try:
        return SigningKeys(json.loads(text))
    except (ValueError, KeyError) as error:
        raise ValueError(f"{source}: {error}") from None
