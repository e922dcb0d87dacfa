"""Health probes: liveness says the process answers, readiness says its dependencies do."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..state import service_state
from .problems import problem_response

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", response_model=None)
async def ready(request: Request) -> dict[str, Any] | JSONResponse:
    state = service_state(request.app)
    if state.drain.draining:
        return problem_response(503, "The service is shutting down: send requests elsewhere.")
    results: dict[str, str] = {}
    for name, check in state.readiness_checks.items():
        try:
            await asyncio.wait_for(check(), state.settings.readiness_check_timeout_seconds)
        except TimeoutError:
            results[name] = "timeout"
        except Exception:  # noqa: BLE001
            # Any failure means not ready; the check logs its reason.
            results[name] = "failed"
        else:
            results[name] = "ok"
    if all(result == "ok" for result in results.values()):
        return {"status": "ready", "checks": results}
    return problem_response(503, "A dependency of this service is not available.", checks=results)
