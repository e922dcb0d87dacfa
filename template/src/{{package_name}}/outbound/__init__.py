"""Outbound HTTP: the shared client, its dependency, and the errors a failed call raises."""

from fastapi import FastAPI

from ..state import Feature, ServiceState
from . import routes
from .client import OutboundClient, OutboundDep
from .errors import UpstreamBadResponse, UpstreamError, UpstreamTimeout, UpstreamUnavailable

__all__ = [
    "OutboundClient",
    "OutboundDep",
    "UpstreamBadResponse",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "install",
]


def install(app: FastAPI, state: ServiceState) -> Feature:
    """One shared client per process, opened at startup and closed at shutdown."""
    app.include_router(routes.router)

    async def startup() -> None:
        state.outbound = OutboundClient.from_settings(state.settings)

    async def shutdown() -> None:
        await state.outbound.aclose()

    return Feature("outbound", startup, shutdown)
