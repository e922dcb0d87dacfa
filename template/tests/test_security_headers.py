import httpx
import pytest
from fastapi import FastAPI, Response

pytestmark = pytest.mark.anyio

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "x-permitted-cross-domain-policies": "none",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def assert_secure(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "camera=()" in response.headers["permissions-policy"]
    assert "server" not in response.headers


@pytest.mark.parametrize("path", ["/health/live", "/does-not-exist"])
async def test_every_response_is_secured(client: httpx.AsyncClient, path: str) -> None:
    assert_secure(await client.get(path))


async def test_unhandled_errors_are_secured(client: httpx.AsyncClient, app: FastAPI) -> None:
    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError

    assert_secure(await client.get("/boom"))


async def test_handler_header_is_kept(client: httpx.AsyncClient, app: FastAPI) -> None:
    @app.get("/cached")
    async def cached(response: Response) -> dict[str, str]:
        response.headers["Cache-Control"] = "public, max-age=60"
        return {}

    response = await client.get("/cached")
    assert response.headers.get_list("cache-control") == ["public, max-age=60"]


async def test_docs_get_their_own_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "https://cdn.jsdelivr.net" in response.headers["content-security-policy"]


async def test_no_hsts_outside_production(client: httpx.AsyncClient) -> None:
    assert "strict-transport-security" not in (await client.get("/health/live")).headers
