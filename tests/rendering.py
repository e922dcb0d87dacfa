"""Render the template with Copier into a folder, and run commands in a rendered project."""

import os
import subprocess
from pathlib import Path
from typing import Any

import copier

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent


def render(destination: Path, **answers: Any) -> Path:
    """Render the working tree of the template (uncommitted changes included) with defaults."""
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
