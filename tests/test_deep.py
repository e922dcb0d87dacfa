"""Deep checks: a rendered project's own `just check` passes and modifies nothing."""

from pathlib import Path

import pytest

from tests.rendering import commit_all, render, run, sync
from tests.variants import DEEP, VARIANTS


@pytest.mark.deep
@pytest.mark.parametrize("name", DEEP)
def test_rendered_check_passes_and_changes_nothing(tmp_path: Path, locks: Path, name: str) -> None:
    project = render(tmp_path / name, **VARIANTS[name])
    sync(project, locks)  # writes uv.lock, which the user commits
    commit_all(project)
    run(project, "uv", "run", "--locked", "just", "check")
    status = run(project, "git", "status", "--porcelain").stdout
    assert status == "", f"`just check` modified the project:\n{status}"
