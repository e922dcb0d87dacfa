"""Trusted hosts: a request whose Host header names no configured host is refused with 400.

Entries are exact names (`api.example.com`) or one-level wildcards (`*.example.com`); `*` allows
any host and is refused in production by the settings. The port is ignored.
"""

from functools import lru_cache


class TrustedHosts:
    def __init__(self, allowed: list[str]) -> None:
        self.any = "*" in allowed
        self.exact = frozenset(h.lower().encode() for h in allowed if not h.startswith("*"))
        self.suffixes = tuple(h[1:].lower().encode() for h in allowed if h.startswith("*."))
        # A service sees a handful of Host values; the bound keeps forged ones from growing it.
        self.allows = lru_cache(maxsize=256)(self._allows)

    def _allows(self, host_header: bytes | None) -> bool:
        if self.any:
            return True
        if not host_header:
            return False
        host = _strip_port(host_header.lower())
        if host in self.exact:
            return True
        return bool(self.suffixes) and host.endswith(self.suffixes)


def _strip_port(host: bytes) -> bytes:
    if host.startswith(b"["):  # [::1]:8000
        end = host.find(b"]")
        return host[1:end] if end != -1 else host
    name, sep, port = host.rpartition(b":")
    if sep and port.isdigit() and b":" not in name:
        return name
    return host
