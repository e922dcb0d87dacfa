"""Memory stays bounded: 20 concurrent 50 MiB multipart uploads against a 10 MiB route cap.

A real uvicorn in its own process. The uploads are chunked (no declared length to refuse up
front), so each one is parsed and written to its staging file until the cap stops it: the
server reads 10 MiB of each. Its peak resident memory (VmHWM, reset through
/proc/PID/clear_refs just before the uploads) may exceed what it had before them by at most
`RSS_GROWTH_BOUND`; holding even one upload in memory would take 10 MiB. Every refused upload's
staging file is gone by the time its 413 arrives.
"""

import json
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live_server import LiveServer, exchange, live_server, request_bytes, upload
from tests.upload_corpus import BOUNDARY, PNG, file_part_head, multipart

MiB = 1024 * 1024
ROUTE_CAP = 10 * MiB
UPLOAD_SIZE = 50 * MiB
CONCURRENT = 20
RSS_GROWTH_BOUND = 20 * MiB
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def server(tmp_path: Path, upload_dir: Path) -> Iterator[LiveServer]:
    settings = {
        "environment": "production",
        "allowed_hosts": "127.0.0.1",
        "upload_dir": str(upload_dir),
        "upload_max_bytes": str(ROUTE_CAP),
    }
    with live_server(tmp_path, settings) as running:
        yield running


def oversized_upload(server: LiveServer, size: int = UPLOAD_SIZE) -> tuple[int, bool | None]:
    response, closed = upload(
        server.port, "/uploads", size=size, chunked=True, headers=MULTIPART, prefix=head()
    )
    assert response.header("content-type") == "application/problem+json"
    return json.loads(response.body)["status"], closed


def head() -> bytes:
    return file_part_head("big.png") + PNG


def accepted_upload(server: LiveServer) -> int:
    headers, body = multipart([("file", PNG, "small.png")])
    framing = {**headers, "Content-Length": str(len(body))}
    return exchange(server.port, request_bytes("POST", "/uploads", framing) + body).status


def test_concurrent_oversized_uploads_do_not_grow_memory(
    server: LiveServer, upload_dir: Path, record_property: Callable[[str, object], None]
) -> None:
    # Warm every code path before the baseline: a refusal at the cap and an accepted upload.
    assert oversized_upload(server, size=2 * ROUTE_CAP) == (413, True)
    assert accepted_upload(server) == 201
    try:
        Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")
    except OSError:
        pytest.skip("cannot reset the peak RSS of the server process")
    baseline = server.rss_kib() * 1024

    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        uploads = [pool.submit(oversized_upload, server) for _ in range(CONCURRENT)]
        answers = [future.result(timeout=120) for future in uploads]

    growth = server.rss_kib("VmHWM") * 1024 - baseline
    record_property("rss_growth_bytes", growth)
    print(f"peak RSS growth during the uploads: {growth / MiB:.2f} MiB")
    assert answers == [(413, True)] * CONCURRENT
    assert list((upload_dir / "staging").iterdir()) == []
    assert len([path for path in (upload_dir / "objects").rglob("*") if path.is_file()]) == 1
    assert growth <= RSS_GROWTH_BOUND, f"RSS grew by {growth / MiB:.1f} MiB"
