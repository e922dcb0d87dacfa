"""Render the template with Copier into a folder, and run commands in a rendered project.

The helpers every test module of this repository shares; no test module imports another.
"""

import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import copier
from copier.errors import DirtyLocalWarning

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
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
    """Each variant rendered once, on first use, below one folder (a session-scoped cache)."""

    def __init__(self, root: Path, variants: dict[str, dict[str, Any]]) -> None:
        self.root = root
        self.variants = variants
        self.projects: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self.projects:
            self.projects[name] = render(self.root / name / "project", **self.variants[name])
        return self.projects[name]


# What tools write into a rendered project (a cheap check may have run ruff in it already).
NOT_RENDERED_PARTS = {".git", ".venv", ".ruff_cache", ".pytest_cache", "__pycache__"}


def rendered_files(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_RENDERED_PARTS.intersection(path.parts)
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


def commit_all(project: Path) -> None:
    run(project, "git", "init", "-q", "-b", "main")
    run(project, "git", "add", "-A")
    run(project, *GIT, "commit", "-q", "-m", "rendered")
