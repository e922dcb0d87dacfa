"""Benchmark: the hardened service against bare FastAPI, on 127.0.0.1, with wrk.

Starts both servers side by side, checks that each answers as expected (the hardened one with its
security headers, the bare one without), then load-tests the same endpoint in interleaved rounds
(bare first in even rounds, hardened first in odd ones) so that drifting machine load hits both
alike. Prints each round and the median ratios: throughput hardened/bare (goal >= 0.90) and p99
latency hardened/bare (goal <= 1.15).

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
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ENDPOINT = "/health/live"
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


@contextmanager
def server(kind: str, port: int, cpu: int | None):
    command = [sys.executable, str(HERE / "serve.py"), kind, str(port)]
    process = subprocess.Popen(command, preexec_fn=pinned_to(cpu))  # noqa: S603
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
        yield f"http://127.0.0.1:{port}{ENDPOINT}", process.pid
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--origin", action="store_true", help="send an allowed Origin header")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to CPUs")
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pin = not args.no_pin and len(cpus) >= 2
    server_cpu, wrk_cpu = (cpus[-1], cpus[0]) if pin else (None, None)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk (Debian/Ubuntu) or brew install wrk")

    headers = [*PROXY_HEADERS, *([ORIGIN_HEADER] if args.origin else [])]
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
        for kind, (url, pid) in servers.items():
            check_response(kind, url)
            load(url, pid, **{**options, "seconds": 2})  # warm-up

        placement = f"servers on CPU {server_cpu}, wrk on CPU {wrk_cpu}" if pin else "not pinned"
        print(
            f"GET {ENDPOINT}, {args.connections} connections, {args.seconds:g} s/run, {placement}"
        )
        print("round | req/s bare, hardened, ratio | p99 ms bare, hardened, ratio | CPU µs/req")
        throughput, p99, cpu = [], [], []
        for round_number in range(1, args.rounds + 1):
            order = ("bare", "hardened") if round_number % 2 else ("hardened", "bare")
            figures = {kind: load(*servers[kind], **options) for kind in order}
            bare, hardened = figures["bare"], figures["hardened"]
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

    print(f"throughput ratio hardened/bare, median: {statistics.median(throughput):.3f}x")
    print(f"p99 latency ratio hardened/bare, median: {statistics.median(p99):.3f}x")
    if cpu:
        print(
            f"CPU-bound throughput ratio (CPU per request bare/hardened), median: "
            f"{statistics.median(cpu):.3f}x"
        )
    print("goal: throughput >= 0.90x, p99 <= 1.15x")


if __name__ == "__main__":
    main()
