"""Render the template with Copier into a folder, and run commands in a rendered project.

The helpers every test module of this repository shares; no test module imports another.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import copier
import pytest
from copier.errors import DirtyLocalWarning

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
# How long a worker waits for a variant another worker is rendering.
RENDER_WAIT_SECONDS = 300
# A recipe's first line (`name params: dependencies`), and a recipe run from another's body.
_RECIPE = re.compile(r"^@?([\w-]+)[^:=]*:(?!=)(.*)$")
_CALLED = re.compile(r"\{\{just\}\} ([\w-]+)")
GIT = ("git", "-c", "user.name=Template Test", "-c", "user.email=test@example.com")


def render(destination: Path, **answers: Any) -> Path:
    """Render the working tree of the template (uncommitted changes included) with defaults."""
    with warnings.catch_warnings():
        # Rendering uncommitted template changes is what a developer does on purpose.
        warnings.simplefilter("ignore", DirtyLocalWarning)
        copier.run_copy(
            str(TEMPLATE_ROOT),
            str(destination),
            data=answers,
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
            unsafe=False,
        )
    return destination


class Renders:
    """Each variant rendered once a run, on first use, below one folder that every xdist worker
    of the run shares: the first worker to need a variant renders it, the others wait for it."""

    def __init__(self, root: Path, variants: dict[str, dict[str, Any]]) -> None:
        self.root = root
        self.variants = variants
        self.projects: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.projects:
            self.projects[name] = self._render_once(name)
        return self.projects[name]

    def _render_once(self, name: str) -> Path:
        folder = self.root / name
        project, done, failed = folder / "project", folder / "rendered", folder / "failed"
        try:
            folder.mkdir(parents=True)  # atomic: the worker that creates it renders
            renders_here = True
        except FileExistsError:
            renders_here = False
        if renders_here:
            try:
                render(project, **self.variants[name])
            except BaseException as error:
                failed.write_text(repr(error))
                raise
            done.touch()
        deadline = time.monotonic() + RENDER_WAIT_SECONDS
        while not done.exists():
            if failed.exists():
                raise AssertionError(f"rendering {name} failed: {failed.read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not rendered within {RENDER_WAIT_SECONDS} s")
            time.sleep(0.05)
        return project


# What tools write into a project: not rendered, and written while other tests read the project.
NOT_RENDERED = frozenset({".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache"})


def rendered_files(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_RENDERED.intersection(path.relative_to(project).parts)
    ]


def project_env() -> dict[str, str]:
    """The environment a rendered project's commands run in: our venv stays out of it."""
    ours = {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}
    env = {name: value for name, value in os.environ.items() if name not in ours}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.setdefault("UV_LINK_MODE", "copy")
    return env


def run(
    project: Path, *command: str, timeout: float = 900, expect_failure: bool = False
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command,
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if expect_failure:
        if result.returncode == 0:
            raise AssertionError(f"`{' '.join(command)}` succeeded but should have failed")
    elif result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(command)}` failed in {project.name} with exit code {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


def run_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder of this run that every xdist worker of the run shares."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / name
    path.mkdir(exist_ok=True)
    return path


def commit_all(project: Path) -> None:
    run(project, "git", "init", "-q", "-b", "main")
    run(project, "git", "add", "-A")
    run(project, *GIT, "commit", "-q", "-m", "rendered")


def lock(project: Path, locks: Path) -> None:
    """`uv lock`, resolved once a run for each distinct pyproject.toml: a lock made for the same
    file earlier in the run (by any xdist worker) is reused instead of asking the index again."""
    digest = hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:16]
    cached = locks / f"{digest}.lock"
    if cached.is_file():
        shutil.copyfile(cached, project / "uv.lock")
        return
    run(project, "uv", "lock", "--quiet")
    partial = locks / f"{digest}.{os.getpid()}.partial"
    shutil.copyfile(project / "uv.lock", partial)
    partial.replace(cached)  # atomic: another worker never reads half a file


def sync(project: Path, locks: Path) -> None:
    """What a user runs after rendering: `uv sync`, which writes the uv.lock they commit."""
    lock(project, locks)
    run(project, "uv", "sync", "--locked", "--quiet")


def recipes_run_by(project: Path, name: str) -> set[str]:
    """The recipes `just <name>` runs in a rendered project: its dependencies, those its body
    starts with `{{just}}`, and theirs in turn (the justfile's text, not a run)."""
    dependencies: dict[str, set[str]] = {}
    current = None
    for line in (project / "justfile").read_text(encoding="utf-8").splitlines():
        if line[:1] in (" ", "\t"):
            if current is not None:
                dependencies[current].update(_CALLED.findall(line))
        elif header := _RECIPE.match(line):
            current = header[1]
            dependencies[current] = set(header[2].split("#")[0].split())
        elif line.strip() and not line.startswith(("#", "[")):
            current = None
    found: set[str] = set()
    pending = [name]
    while pending:
        for recipe in dependencies[pending.pop()] - found:
            found.add(recipe)
            pending.append(recipe)
    return found
