"""Who a client is, for counting its requests: its address as the edge settled it.

A trusted proxy's `X-Forwarded-For` has already replaced the proxy's own address, and the
header from anyone else changed nothing. An IPv6 client is counted by its /64 network, which one
host usually controls whole.
"""

import ipaddress
from functools import lru_cache

from starlette.types import Scope

IPV6_CLIENT_PREFIX = 64


@lru_cache(maxsize=4096)  # bounded: clients choose their addresses
def _ipv6_network(address: str) -> str:
    try:
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    except ValueError:
        return address


def client_key(scope: Scope) -> str:
    """`client:<address>` (IPv6: `client:<network>/64`), `client:unknown` without one."""
    client = scope.get("client")
    if not client:
        return "client:unknown"
    address = client[0]
    return "client:" + (_ipv6_network(address) if ":" in address else address)
