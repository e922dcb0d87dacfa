"""Every error leaves as RFC 9457 problem+json with the request id."""

import httpx
import pytest
from fastapi import FastAPI, Request

pytestmark = pytest.mark.anyio


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"] == "about:blank"
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no/such/path"), 404)


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/health/live")
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET"


async def test_malformed_json_is_400(client: httpx.AsyncClient, app: FastAPI) -> None:
    from pydantic import BaseModel

    class Payload(BaseModel):
        name: str

    @app.post("/echo")
    async def echo(payload: Payload) -> Payload:
        return payload

    response = await client.post(
        "/echo", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


async def test_schema_mismatch_is_422_without_echoing_input(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    from pydantic import BaseModel

    class Payload(BaseModel):
        count: int

    @app.post("/count")
    async def count(payload: Payload) -> Payload:
        return payload

    response = await client.post("/count", json={"count": "secret-token-value"})
    body = assert_problem(response, 422)
    assert body["errors"][0]["loc"] == ["body", "count"]
    assert "secret-token-value" not in response.text


async def test_declared_body_over_cap_is_413_before_reading(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    limit = app.state.service.settings.max_body_bytes
    response = await client.post("/health/live", content=b"x" * (limit + 1))
    assert_problem(response, 413)


async def test_streamed_body_over_cap_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    @app.post("/sink")
    async def sink(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    limit = app.state.service.settings.max_body_bytes

    async def chunks():  # no Content-Length: the body is counted as it streams
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    assert_problem(await client.post("/sink", content=chunks()), 413)

    async def small():
        yield b"ok"

    response = await client.post("/sink", content=small())
    assert response.json() == {"size": 2}


async def test_malformed_content_length_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/health/live", headers={"content-length": "12abc"})
    assert_problem(response, 400)


async def test_unhandled_exception_is_500_without_internals(
    client: httpx.AsyncClient, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    response = await client.get("/boom", headers={"x-request-id": "trace-me-42"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "trace-me-42"
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.exc_info and "boom" in r.getMessage()]
    assert logged, "the unhandled error is logged"
    assert getattr(logged[0], "request_id", None) == "trace-me-42"


async def test_bad_host_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"host": "evil.example"})
    assert_problem(response, 400)
