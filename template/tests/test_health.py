import asyncio

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio


async def test_live_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_reports_each_check(client: httpx.AsyncClient, app: FastAPI) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == set(app.state.service.readiness_checks)
    assert all(result == "ok" for result in body["checks"].values())


async def test_ready_is_503_problem_when_a_dependency_fails(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    async def broken() -> None:
        raise ConnectionError("down")

    app.state.service.readiness_checks["broken"] = broken
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["checks"]["broken"] == "failed"
    assert "down" not in response.text  # the reason stays in the logs


async def test_ready_reports_a_check_that_outlasts_its_timeout(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    service = app.state.service
    service.settings = service.settings.model_copy(update={"readiness_check_timeout_seconds": 0.05})
    never = asyncio.Event()
    service.readiness_checks["hung"] = never.wait
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["hung"] == "timeout"
