"""A stand-in identity provider on 127.0.0.1: signing keys made in the test, a discovery
document and a JWK set served over real HTTP, every request counted, and a switch to take it
down. Tokens are signed here exactly as a provider signs them (and forged as attackers do)."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "test-api"
JWKS_PATH = "/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Provider:
    def __init__(self, issuer: str = "https://idp.test.invalid") -> None:
        """The issuer is `serving()`'s address once it serves; until then, one never called."""
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.issuer = issuer
        self.down = False
        self.published = {"rsa-1", "ec-1"}  # the kids the JWK set holds
        self.hits: list[str] = []

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
        keys = [
            {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
            {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
        ]
        return {"keys": [key for key in keys if key["kid"] in self.published]}

    def fetches(self) -> int:
        return self.hits.count(JWKS_PATH)

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-42",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "scope": "items:read items:write",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self,
        *,
        kid: str = "rsa-1",
        algorithm: str = "RS256",
        signing_key: rsa.RSAPrivateKey | None = None,
        **changes: Any,
    ) -> str:
        key = signing_key or (self.ec_key if algorithm.startswith("ES") else self.rsa_key)
        return jwt.encode(self.claims(**changes), key, algorithm=algorithm, headers={"kid": kid})

    def forged(self, header: dict[str, Any], signature: bytes | None = None) -> str:
        """A token PyJWT would refuse to make: `alg: none`, or HMAC keyed with the public key."""
        encoded = [_b64(json.dumps(part).encode()) for part in (header, self.claims())]
        signing_input = ".".join(encoded)
        if signature is None:
            public_pem = self.rsa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    @contextmanager
    def serving(self) -> Generator["Provider"]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.hits.append(self.path)
                documents = {
                    DISCOVERY_PATH: {
                        "issuer": provider.issuer,
                        "jwks_uri": provider.issuer + JWKS_PATH,
                    },
                    JWKS_PATH: provider.jwks(),
                }
                document = documents.get(self.path)
                status = 503 if provider.down else 200 if document is not None else 404
                body = json.dumps(document if status == 200 else {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests count the requests in `hits`."""

        return Handler
