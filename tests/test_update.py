"""`copier update` from the previous release to this working tree keeps the user's changes."""

import re
import shlex
import shutil
import sys
from pathlib import Path

import copier
import pytest
import yaml

from tests.releases import previous_release, template_repository, working_tree_clone
from tests.rendering import GIT, TEMPLATE_ROOT, commit_all, rendered_files, run

NEW_TAG = "v999.0.0"
USER_README_LINE = "Our team's on-call notes live in the wiki."
USER_README_SECTION = f"\n## Operations\n\n{USER_README_LINE}\n"


def conflict_markers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if not path.is_file() or {".git", ".venv"}.intersection(path.parts):
            continue
        if path.suffix == ".rej":
            found.append(str(path.relative_to(project)))
            continue
        text = path.read_text(errors="replace")
        if any(marker in text for marker in ("<<<<<<< ", "\n=======\n", ">>>>>>> ")):
            found.append(str(path.relative_to(project)))
    return found


def tree_differences(updated: Path, fresh: Path, ignored: set[str]) -> list[str]:
    """The files that are not byte for byte the same in two projects (or are in one only)."""
    updated_files = {str(path.relative_to(updated)) for path in rendered_files(updated)}
    fresh_files = {str(path.relative_to(fresh)) for path in rendered_files(fresh)}
    differences = sorted((updated_files ^ fresh_files) - ignored)
    for name in sorted((updated_files & fresh_files) - ignored):
        if (updated / name).read_bytes() != (fresh / name).read_bytes():
            differences.append(name)
    return differences


@pytest.mark.deep
def test_update_from_previous_release_keeps_user_changes(tmp_path: Path) -> None:
    """The updated project is a fresh render of the new version plus the user's changes, file
    for file. The fresh render, with modules from `just new`, passes its whole `just check` in
    the scaffold's deep checks (tests/test_scaffold.py); here the updated project's own venv
    runs its static checks and the tests of the module it gained."""
    old_tag, old_commit = previous_release()
    template = template_repository(tmp_path / "template", old_commit, old_tag, NEW_TAG)
    project = tmp_path / "project"
    copier.run_copy(str(template), str(project), defaults=True, vcs_ref=old_tag, quiet=True)
    run(project, "uv", "sync", "--quiet")
    commit_all(project)

    # What a user does in the months between: a module, a local setting, a README note.
    run(project, "uv", "run", "--locked", "just", "new", "widget")
    (project / ".env").write_text("MY_SERVICE_LOG_LEVEL=DEBUG\n")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + USER_README_SECTION)
    run(project, "git", "add", "-A")
    run(project, *GIT, "commit", "-q", "-m", "our changes")

    copier.run_update(
        str(project),
        defaults=True,
        overwrite=True,
        vcs_ref=NEW_TAG,
        conflict="inline",
        quiet=True,
    )

    assert conflict_markers(project) == []
    assert (project / "src" / "my_service" / "modules" / "widget" / "routes.py").is_file()
    assert (project / "tests" / "test_widget.py").is_file()
    assert (project / ".env").read_text() == "MY_SERVICE_LOG_LEVEL=DEBUG\n"
    assert USER_README_LINE in readme.read_text()
    assert f"_commit: {NEW_TAG}" in (project / ".copier-answers.yml").read_text()

    run(project, "uv", "sync", "--quiet")  # the new template may bring new dependencies
    # The contract test holds every module to what the scaffold writes now (CHANGELOG, "Updating
    # from 0.4.0"): a module the user never edited is recreated with `just new`, as it says.
    shutil.rmtree(project / "src" / "my_service" / "modules" / "widget")
    (project / "tests" / "test_widget.py").unlink()
    for migration in (project / "migrations" / "versions").glob("*_create_widgets.py"):
        migration.unlink()
    run(project, "uv", "run", "--locked", "just", "new", "widget")

    fresh = tmp_path / "fresh"
    copier.run_copy(str(template), str(fresh), defaults=True, vcs_ref=NEW_TAG, quiet=True)
    (new_migration,) = (project / "migrations" / "versions").glob("*_create_widgets.py")
    # `just new widget` makes the resource `widgets` now: names are taken in either number.
    widgets = project / "src" / "my_service" / "modules" / "widgets"
    users_files = {
        ".env",
        "README.md",
        "uv.lock",  # resolved by the user's `uv sync`; the fresh render has none yet
        "tests/test_widgets.py",
        str(new_migration.relative_to(project)),
        *(str(path.relative_to(project)) for path in rendered_files(widgets)),
    }
    assert tree_differences(project, fresh, users_files) == []
    assert readme.read_text() == (fresh / "README.md").read_text() + USER_README_SECTION

    run(project, "uv", "run", "--locked", "just", "static")
    run(project, "uv", "run", "--locked", "pytest", "-q", "tests/test_widgets.py")


def quick_start_copy() -> str:
    """The `copier copy` of the README's quick start, as a user would paste it into a shell."""
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if re.match(r"uvx copier copy ", line))
    return line.split(" && ")[0]


def test_a_project_made_by_the_quick_start_updates(tmp_path: Path) -> None:
    """`_src_path: .` made `copier update` look for the template inside the project."""
    copy = quick_start_copy()
    assert copy.endswith(" ../my-service"), copy
    copier_cli = str(Path(sys.executable).with_name("copier"))  # this venv's, not uvx's
    clone = working_tree_clone(tmp_path / "clone")
    project = tmp_path / "my-service"
    copy = copy.replace("uvx copier", shlex.quote(copier_cli))
    copy = copy.replace("../my-service", shlex.quote(str(project)))
    run(clone, "bash", "-c", copy)  # from the clone, as the README says

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(clone)
    commit_all(project)
    run(project, copier_cli, "update", "--defaults", "--vcs-ref=HEAD")
    assert conflict_markers(project) == []
