"""The rendered CRUD benchmark runs from end to end on each database, in a few seconds.

Short runs on a tiny table: what is checked is that the benchmark works (both servers answer the
same items, the loads run, the summary is printed), never a figure. On PostgreSQL it also reads
the local server's CPU, the cost of a request that the servers' own CPU does not show.
"""

import os
import re
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.rendering import render, run, sync
from tests.variants import VARIANTS, answers_of

# The server the rendered PostgreSQL tests use (their `<PREFIX>TEST_DATABASE_URL`, with the
# same default); the bench gets a database of its own there, dropped at the end.
SERVER_URL = os.environ.get(
    "MY_SERVICE_TEST_DATABASE_URL",
    "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres",
)
SHORT_RUN = ["--rounds", "1", "--seconds", "0.3", "--rows", "50", "--connections", "2"]
LOADS = ["list", "create"]
# Scripts run by the rendered project's Python, which has the driver.
CONNECT = """
import asyncio, sys
import asyncpg
from sqlalchemy import make_url

def connect(url):
    plain = make_url(url).set(drivername="postgresql")
    return asyncpg.connect(plain.render_as_string(hide_password=False))
"""
# `CREATE` or `DROP`, then a database's name.
DATABASE_STATEMENT = (
    CONNECT
    + """
async def main(server, statement, name):
    connection = await connect(server)
    try:
        await connection.execute(f'{statement} DATABASE "{name}"')
    finally:
        await connection.close()

asyncio.run(main(*sys.argv[1:]))
"""
)
# The bench's readings of the database's CPU: before a query that costs the server a few hundred
# milliseconds of CPU, after it on the backend still open, and once that backend has exited (its
# time is then the postmaster's to report); and no reading of a server elsewhere.
CPU_READINGS = (
    CONNECT
    + """
from bench.crud import database_cpu_seconds

async def readings(url):
    before = database_cpu_seconds(url)
    connection = await connect(url)
    try:
        await connection.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")
        open_backend = database_cpu_seconds(url)
    finally:
        await connection.close()
    return before, open_backend, database_cpu_seconds(url)

url = sys.argv[1]
elsewhere = database_cpu_seconds("postgresql+asyncpg://app@db.example.com:5432/app")
print(*asyncio.run(readings(url)), elsewhere)
"""
)


@contextmanager
def throwaway_database(project: Path) -> Generator[str]:
    name = f"bench_test_{uuid.uuid4().hex[:12]}"
    python = ["uv", "run", "--locked", "python", "-c", DATABASE_STATEMENT, SERVER_URL]
    run(project, *python, "CREATE", name)
    try:
        yield urlsplit(SERVER_URL)._replace(path=f"/{name}").geturl()
    finally:
        run(project, *python, "DROP", name)


def summary_line(output: str, load: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(f"  {load} ")]
    return line


def database_cpu_of_first_round(output: str, load: str) -> list[float]:
    """The database's CPU µs per request, conventional and rendered, of the load's first round
    (the columns after the third `|`); empty where the round has no such columns."""
    lines = output.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith(f"{load}: round"))
    columns = lines[header + 1].split("|")
    return [float(value) for value in columns[4].split()] if len(columns) > 4 else []


@pytest.mark.deep
@pytest.mark.parametrize("name", ["default", "postgresql"])
def test_crud_bench_compares_the_two_servers(tmp_path: Path, locks: Path, name: str) -> None:
    project = render(tmp_path / name, **VARIANTS[name])
    sync(project, locks)
    on_postgresql = answers_of(name)["database"] == "postgresql"
    bench = ["uv", "run", "--locked", "python", "bench/crud.py", *SHORT_RUN, "--loads", *LOADS]
    if on_postgresql:
        with throwaway_database(project) as url:
            output = run(project, *bench, "--database-url", url, timeout=600).stdout
    else:
        output = run(project, *bench, timeout=600).stdout

    for load in LOADS:
        line = summary_line(output, load)
        assert re.search(r"throughput \d+\.\d{3}x .* p99 \d+\.\d{3}x", line), line
        assert re.search(r"CPU-bound throughput \d+\.\d{3}x", line), line
        with_database = re.search(r"with the database's CPU \d+\.\d{3}x", line)
        assert bool(with_database) == on_postgresql, line
    database_cpu = database_cpu_of_first_round(output, "create")
    assert len(database_cpu) == (2 if on_postgresql else 0), output
    if on_postgresql:
        assert_database_cpu_is_read(project)
    served = re.search(r"^create .*\| *(\d+) *$", output, re.MULTILINE)  # the memory table
    assert served, output
    assert int(served.group(1)) > 0, output


def assert_database_cpu_is_read(project: Path) -> None:
    with throwaway_database(project) as url:
        output = run(project, "uv", "run", "--locked", "python", "-c", CPU_READINGS, url).stdout
    before, open_backend, closed_backend, elsewhere = output.split()
    # The query's CPU, read from its backend, then from the postmaster's reaped time.
    assert float(open_backend) - float(before) >= 0.1, output
    assert float(closed_backend) - float(before) >= 0.1, output
    assert elsewhere == "None", output
