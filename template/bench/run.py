"""Benchmark: the hardened service against bare FastAPI, on 127.0.0.1, with wrk.

Starts both servers side by side, checks that each answers as expected (the hardened one with its
security headers, the bare one without), then load-tests the same endpoint in interleaved rounds
(bare first in even rounds, hardened first in odd ones) so that drifting machine load hits both
alike. Prints each round and the median ratios: throughput hardened/bare (goal >= 0.90) and p99
latency hardened/bare (goal <= 1.15).

Two endpoints, each measured on its own (`--endpoint` picks one):
- `logged`: a trivial route of the app's own, for which the hardened service writes its JSON
  access line, as it does for every request a client makes;
- `probe`: `/health/live`, whose access line is written at DEBUG only, so it measures the edge
  without the access log. Its figure is not the one a client's request sees.
The servers' standard error goes to a pipe that a thread empties, as a container runtime's log
collector would; the harness checks that the hardened server did write an access line for each
logged request.

On a shared machine wall-clock figures swing with the neighbours' load, so the harness also reads
each server's CPU time from /proc (Linux) and prints CPU microseconds per request: for a
single-process server that is the cost that bounds its throughput, and it is far less noisy.

    uv run just bench                      # or: uv run python bench/run.py --rounds 10
    uv run python bench/run.py --origin    # requests carry an allowed Origin (the CORS path)

On Linux with two or more CPUs the servers run on one CPU and wrk on another (`--no-pin` to let
the scheduler place them), so that the load generator never takes CPU time from the server.

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`). A benchmark, not a
test: it asserts nothing, and its figures are only comparable within one run on one machine.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
ENDPOINTS = {"logged": "/bench/ping", "probe": "/health/live"}
SECURITY_HEADERS = ("content-security-policy", "strict-transport-security", "x-request-id")
# Every request looks like one relayed by a trusted proxy, so the proxy-trust path does its work.
PROXY_HEADERS = ("X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https")
ORIGIN_HEADER = "Origin: https://app.example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc; None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pinned_to(cpu: int | None) -> Callable[[], None] | None:
    """A `preexec_fn` that runs the child on one CPU, or None to leave placement alone."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


class LineCounter:
    """Reads a server's standard error to its end in a thread, counting access lines."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.access_lines = 0
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            if b'"event":"request"' in line:
                self.access_lines += 1


@contextmanager
def server(kind: str, port: int, cpu: int | None):
    command = [sys.executable, str(HERE / "serve.py"), kind, str(port)]
    process = subprocess.Popen(command, preexec_fn=pinned_to(cpu), stderr=subprocess.PIPE)  # noqa: S603
    assert process.stderr is not None
    lines = LineCounter(process.stderr)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the {kind} server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process.pid, lines
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def check_response(kind: str, url: str) -> None:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback URL)
        if response.status != 200:
            raise SystemExit(f"{kind}: {url} answered {response.status}")
        present = [name for name in SECURITY_HEADERS if response.headers.get(name)]
    expected = list(SECURITY_HEADERS) if kind == "hardened" else []
    if present != expected:
        raise SystemExit(f"{kind}: expected the headers {expected}, got {present}")


def load(
    url: str,
    pid: int,
    *,
    seconds: float,
    connections: int,
    headers: list[str],
    cpu: int | None,
) -> dict[str, Any]:
    cpu_before = cpu_seconds(pid)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    command += ["-s", str(HERE / "report.lua")]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(  # noqa: S603
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
        preexec_fn=pinned_to(cpu),
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    if figures["socket_errors"] or figures["bad_status"]:
        raise SystemExit(f"wrk saw errors against {url}: {figures}")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    cpu_after = cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        figures["cpu_us"] = (cpu_after - cpu_before) * 1e6 / figures["requests"]
    return figures


def compare(
    endpoint: str, servers: dict[str, Any], rounds: int, options: dict[str, Any]
) -> tuple[float, float, float | None]:
    """Interleaved rounds on one endpoint; the median ratios (throughput, p99, CPU-bound)."""
    path = ENDPOINTS[endpoint]
    print(f"\n{endpoint}: GET {path}")
    print("round | req/s bare, hardened, ratio | p99 ms bare, hardened, ratio | CPU µs/req")
    hardened_lines = servers["hardened"][2]
    lines_before, requests = hardened_lines.access_lines, 0
    throughput, p99, cpu = [], [], []
    for round_number in range(1, rounds + 1):
        order = ("bare", "hardened") if round_number % 2 else ("hardened", "bare")
        figures = {}
        for kind in order:
            base_url, pid, _ = servers[kind]
            figures[kind] = load(base_url + path, pid, **options)
        bare, hardened = figures["bare"], figures["hardened"]
        requests += hardened["requests"]
        throughput.append(hardened["rps"] / bare["rps"])
        p99.append(hardened["p99_us"] / bare["p99_us"])
        line = (
            f"{round_number:5d} | {bare['rps']:6.0f} {hardened['rps']:6.0f} "
            f"{throughput[-1]:6.3f} | {bare['p99_us'] / 1000:6.2f} "
            f"{hardened['p99_us'] / 1000:6.2f} {p99[-1]:6.3f} |"
        )
        if "cpu_us" in bare and "cpu_us" in hardened:
            cpu.append(bare["cpu_us"] / hardened["cpu_us"])
            line += f" {bare['cpu_us']:6.1f} {hardened['cpu_us']:6.1f}"
        print(line)
    if endpoint == "logged":
        time.sleep(0.5)  # the last lines are still in the pipe
        written = hardened_lines.access_lines - lines_before
        print(f"access lines written by the hardened server: {written} for {requests} requests")
        if written < requests:
            raise SystemExit("the hardened server did not log every request: figures not valid")
    return (
        statistics.median(throughput),
        statistics.median(p99),
        statistics.median(cpu) if cpu else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--endpoint", choices=[*ENDPOINTS, "both"], default="both")
    parser.add_argument("--origin", action="store_true", help="send an allowed Origin header")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to CPUs")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(cpus) >= 2
    server_cpu, wrk_cpu = (cpus[-1], cpus[0]) if pin else (None, None)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    endpoints = list(ENDPOINTS) if args.endpoint == "both" else [args.endpoint]

    headers = [*PROXY_HEADERS, *([ORIGIN_HEADER] if args.origin else [])]
    results = {}
    with ExitStack() as stack:
        servers = {
            kind: stack.enter_context(server(kind, free_port(), server_cpu))
            for kind in ("bare", "hardened")
        }
        options = {
            "seconds": args.seconds,
            "connections": args.connections,
            "headers": headers,
            "cpu": wrk_cpu,
        }
        for kind, (base_url, pid, _) in servers.items():
            for path in ENDPOINTS.values():
                check_response(kind, base_url + path)
                load(base_url + path, pid, **{**options, "seconds": 2})  # warm-up

        placement = f"servers on CPU {server_cpu}, wrk on CPU {wrk_cpu}" if pin else "not pinned"
        print(f"{args.connections} connections, {args.seconds:g} s/run, {placement}")
        for endpoint in endpoints:
            results[endpoint] = compare(endpoint, servers, args.rounds, options)

    print()
    for endpoint, (throughput, p99, cpu) in results.items():
        line = f"{endpoint:7s} throughput {throughput:.3f}x, p99 {p99:.3f}x"
        if cpu is not None:
            line += f", CPU-bound throughput (CPU per request bare/hardened) {cpu:.3f}x"
        print(line + "  (median hardened/bare)")
    print("goal: throughput >= 0.90x, p99 <= 1.15x")


if __name__ == "__main__":
    main()
