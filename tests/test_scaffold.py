"""`just new <module>` in rendered projects: modules that pass `just check`, bad names refused."""

import time
from pathlib import Path

import pytest

from tests.rendering import commit_all, render, run
from tests.variants import VARIANTS

BAD_NAMES = {
    "class": "is a Python keyword",
    "json": "would shadow the standard library",
    "fastapi": "would shadow an installed package",
    "my_service": "would shadow an installed package",
    "Bad Name": "is not a module name",
    "": "is not a module name",
    "a--b": "is not a module name",
    "9lives": "is not a module name",
    "widget": "already exists",  # created by the test before the bad names are tried
}


def tree(project: Path) -> dict[str, int]:
    skip = {".venv", ".git", "__pycache__", ".pytest_cache", ".ruff_cache"}
    return {
        str(path.relative_to(project)): path.stat().st_mtime_ns
        for path in project.rglob("*")
        if not skip.intersection(path.relative_to(project).parts)
    }


@pytest.mark.deep
@pytest.mark.parametrize("name", ["default", "no-database", "postgresql"])
def test_scaffolded_modules_pass_check(tmp_path: Path, name: str) -> None:
    project = render(tmp_path / name, **VARIANTS[name])
    run(project, "uv", "sync", "--quiet")
    commit_all(project)

    started = time.perf_counter()
    run(project, "uv", "run", "--locked", "just", "new", "widget")
    elapsed = time.perf_counter() - started
    print(f"\n`just new widget` ({name}): {elapsed:.2f} s including uv and just start-up")
    run(project, "uv", "run", "--locked", "just", "new", "order-line")

    package = project / "src" / "my_service" / "modules"
    assert (package / "widget" / "routes.py").is_file()
    assert (package / "order_line" / "routes.py").is_file()
    assert '"/order-lines"' in (package / "order_line" / "routes.py").read_text()
    assert (project / "tests" / "test_order_line.py").is_file()

    before = tree(project)
    for bad, message in BAD_NAMES.items():
        result = run(
            project,
            "uv",
            "run",
            "--locked",
            "python",
            "tools/new_module.py",
            bad,
            expect_failure=True,
        )
        assert message in result.stderr, (bad, result.stderr)
        assert "nothing was written" in result.stderr
    assert tree(project) == before, "a refused name wrote or touched files"

    run(project, "uv", "run", "--locked", "just", "check")
