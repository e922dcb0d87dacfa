"""`GET /health/upstreams`: the circuit breaker of every upstream called so far.

This is a diagnostic view, not a probe: it always answers 200. Readiness deliberately ignores
open circuits: an upstream outage is not something restarting or unrouting this instance can
fix, and since every instance shares the upstream, all of them would go unready at once.
"""

from fastapi import APIRouter
from pydantic import BaseModel

from .breaker import BreakerState
from .client import OutboundDep

router = APIRouter(prefix="/health", tags=["health"])


class UpstreamCircuit(BaseModel):
    state: BreakerState
    consecutive_failures: int
    retry_in_seconds: float | None


class Upstreams(BaseModel):
    upstreams: dict[str, UpstreamCircuit]


@router.get("/upstreams")
async def upstreams(outbound: OutboundDep) -> Upstreams:
    return Upstreams.model_validate({"upstreams": outbound.breaker_states()})
