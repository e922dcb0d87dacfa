"""Proxy trust: `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from known proxies.

Anyone can send these headers, so they are read only when the connection comes from an address in
the configured list (single addresses or CIDR networks). The client is then the nearest address in
`X-Forwarded-For` that is not itself a trusted proxy, walking from the right (each proxy appends the
address it saw); the scheme is the last `X-Forwarded-Proto` value, the one our own proxy wrote.
Entries that are not IP addresses (ports, `unknown`, obfuscated names) are not believed.

The app does this, not uvicorn (which is started with `proxy_headers=False`): one setting, the same
behaviour under any server and in the tests, and no second pass over the headers.
"""

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.types import Scope

from ..validation import parse_network

# X-Forwarded-Proto value -> (HTTP scheme, WebSocket scheme)
_SCHEMES = {b"https": ("https", "wss"), b"http": ("http", "ws")}


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class TrustedProxies:
    def __init__(self, entries: Sequence[str]) -> None:
        self.networks = tuple(parse_network(entry) for entry in entries)
        self.addresses = frozenset(
            str(n.network_address) for n in self.networks if n.num_addresses == 1
        )
        # Both caches are bounded, so forged header values cannot grow them.
        self._trusts_slow = lru_cache(maxsize=1024)(self._contains)
        self._client_address = lru_cache(maxsize=4096)(self._client_from_forwarded_for)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        return address in self.addresses or self._trusts_slow(address)

    def _contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def apply(
        self, scope: Scope, forwarded_for: bytes | None, forwarded_proto: bytes | None
    ) -> None:
        """Rewrite the scope's client and scheme from a trusted peer's forwarded headers.

        `forwarded_for` holds every X-Forwarded-For header of the request, joined with commas.
        """
        client = scope.get("client")
        if not client or not self.trusts(client[0]):
            return
        if forwarded_proto is not None:
            schemes = _SCHEMES.get(forwarded_proto.rsplit(b",", 1)[-1].strip().lower())
            if schemes is not None:
                scope["scheme"] = schemes[scope["type"] == "websocket"]
        if forwarded_for is not None:
            address = self._client_address(forwarded_for)
            if address is not None:
                scope["client"] = (address, 0)

    def _client_from_forwarded_for(self, forwarded_for: bytes) -> str | None:
        hops = [hop.strip() for hop in forwarded_for.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop if _is_address(hop) else None
        # Every hop is a trusted proxy: the leftmost is as close to the client as we can tell.
        return hops[0] if _is_address(hops[0]) else None
