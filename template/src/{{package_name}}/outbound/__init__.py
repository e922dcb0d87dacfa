"""Outbound HTTP: the shared client, its dependency, and the errors a failed call raises."""

from .client import OutboundClient, OutboundDep
from .errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout, UpstreamUnavailable

__all__ = [
    "OutboundClient",
    "OutboundDep",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
