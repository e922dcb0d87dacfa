"""Memory stays bounded: 20 declared and 20 chunked 50 MiB uploads at once against a 1 MiB cap.

A real uvicorn in its own process (the one the session shares, tests/conftest.py); its peak
resident memory (VmHWM, reset through /proc/PID/clear_refs just before the uploads) may exceed
the resident memory it had before them by at most `RSS_GROWTH_BOUND`. Buffering even one of the
bodies would take 50 MiB.
"""

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live_server import LIVE_EDGE_CAP, LiveServer, exchange, request_bytes, upload

MiB = 1024 * 1024
UPLOAD_SIZE = 50 * MiB
CONCURRENT_EACH = 20
RSS_GROWTH_BOUND = 10 * MiB

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


@pytest.fixture
def server(live_edge_server: LiveServer) -> LiveServer:
    return live_edge_server


def reset_peak_rss(server: LiveServer) -> None:
    Path(f"/proc/{server.process.pid}/clear_refs").write_text("5")


def test_concurrent_oversized_uploads_do_not_grow_memory(
    server: LiveServer, record_property: Callable[[str, object], None]
) -> None:
    for chunked in (False, True):  # warm every code path before the baseline
        response, _ = upload(server.port, "/sink", size=2 * LIVE_EDGE_CAP, chunked=chunked)
        assert response.status == 413
    assert exchange(server.port, request_bytes("GET", "/health/live")).status == 200

    try:
        reset_peak_rss(server)
    except OSError:
        pytest.skip("cannot reset the peak RSS of the server process")
    baseline = server.rss_kib() * 1024

    with ThreadPoolExecutor(max_workers=2 * CONCURRENT_EACH) as pool:
        uploads = [
            pool.submit(upload, server.port, "/sink", size=UPLOAD_SIZE, chunked=chunked)
            for chunked in (False, True)
            for _ in range(CONCURRENT_EACH)
        ]
        answers = [future.result(timeout=120) for future in uploads]

    growth = server.rss_kib("VmHWM") * 1024 - baseline
    record_property("rss_growth_bytes", growth)
    for response, closed in answers:
        assert response.status == 413
        assert json.loads(response.body)["status"] == 413
        assert closed
    assert growth <= RSS_GROWTH_BOUND, f"RSS grew by {growth / MiB:.1f} MiB"
    assert exchange(server.port, request_bytes("GET", "/health/live")).status == 200
