"""Checks of configured values, shared by the settings (at startup) and the edge.

The lowest layer of the package: it imports nothing of ours, so `settings.py` can validate
origins and proxy networks without importing the request edge.
"""

import ipaddress
import re

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

WILDCARD = "*"

# Sent by browsers for sandboxed frames, `file:` pages and some redirects: never a real caller.
NULL_ORIGIN = "null"

_HOST = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
_ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_HOST}|\[[0-9a-f:.]+\])(?::(?P<port>\d{{1,5}}))?"
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def check_origin(origin: str) -> None:
    """Raise ValueError, saying what is wrong, unless `origin` is a browser-serialised origin."""
    if origin == NULL_ORIGIN:
        raise ValueError("the 'null' origin is never allowed: it identifies no caller")
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        raise ValueError(
            f"{origin!r} is not an origin: write scheme://host[:port] in lowercase, with no "
            "path or trailing slash, e.g. https://app.example.com"
        )
    port = match["port"]
    if port is not None and (not 0 < int(port) < 65536):
        raise ValueError(f"{origin!r} has an invalid port")
    if port == _DEFAULT_PORTS[match["scheme"]]:
        raise ValueError(
            f"{origin!r} names the default port, which browsers never send: "
            f"write {match['scheme']}://{match['host']}"
        )


def check_token(value: str, what: str) -> None:
    if value != WILDCARD and not _TOKEN.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid {what}")


def parse_network(entry: str) -> Network:
    """An address or CIDR network; raises ValueError naming the entry."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=True)
    except ValueError as error:
        raise ValueError(
            f"{entry!r} is not an IP address or a CIDR network with its host bits zero "
            f"(e.g. 10.0.0.0/8): {error}"
        ) from None
