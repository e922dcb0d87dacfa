"""`just new <module>` in rendered projects: modules that pass `just check`, bad names refused,
and an example module that is exactly what the scaffold writes."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.rendering import NOT_RENDERED, Renders, commit_all, render, run, sync
from tests.variants import VARIANTS

# Writes the scaffold's module files for a name, formatted as `just new` formats them.
SCAFFOLD_FILES = """
import importlib.util, json, pathlib, subprocess, sys, tempfile
spec = importlib.util.spec_from_file_location("new_module", "tools/new_module.py")
new_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(new_module)
names = new_module.names_for(sys.argv[1])
files = {}
with tempfile.TemporaryDirectory() as scratch:
    for template in new_module.TEMPLATES.iterdir():
        name = template.name.removesuffix(".tmpl")
        if name not in {"test_module.py", "migration.py"}:
            (pathlib.Path(scratch) / name).write_text(new_module.render(template.name, names))
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", scratch], check=True)
    files = {path.name: path.read_text() for path in pathlib.Path(scratch).iterdir()}
print(json.dumps(files))
"""

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
    return {
        str(path.relative_to(project)): path.stat().st_mtime_ns
        for path in project.rglob("*")
        if not NOT_RENDERED.intersection(path.relative_to(project).parts)
    }


@pytest.mark.deep
@pytest.mark.parametrize("name", ["default", "no-database", "postgresql"])
def test_scaffolded_modules_pass_check(tmp_path: Path, locks: Path, name: str) -> None:
    project = render(tmp_path / name, **VARIANTS[name])
    sync(project, locks)
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


@pytest.mark.parametrize("name", ["default", "postgresql"])
def test_example_module_is_what_the_scaffold_writes(rendered: Renders, name: str) -> None:
    """`modules/items` cannot drift from `tools/module_template`: only its docstring differs."""
    project = rendered[name]
    result = subprocess.run(
        [sys.executable, "-c", SCAFFOLD_FILES, "item"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    scaffolded = json.loads(result.stdout)
    example = project / "src" / "my_service" / "modules" / "items"
    assert sorted(scaffolded) == sorted(path.name for path in example.glob("*.py"))
    for file_name, text in scaffolded.items():
        if file_name != "__init__.py":
            assert (example / file_name).read_text() == text, file_name
