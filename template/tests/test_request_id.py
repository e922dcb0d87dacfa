import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_safe_inbound_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live", headers={"x-request-id": "abc-123.DEF:9_z"})
    assert response.headers["x-request-id"] == "abc-123.DEF:9_z"


@pytest.mark.parametrize(
    "inbound",
    [
        "a" * 129,
        "with space",
        "line\\nbreak",
        "semi;colon",
        "",
    ],
)
async def test_unsafe_inbound_id_is_replaced(client: httpx.AsyncClient, inbound: str) -> None:
    response = await client.get("/health/live", headers={"x-request-id": inbound})
    generated = response.headers["x-request-id"]
    assert generated != inbound
    assert len(generated) == 32
    assert all(c in "0123456789abcdef" for c in generated)


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    ids = {(await client.get("/health/live")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
