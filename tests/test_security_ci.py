"""Security in a rendered project's CI: coverage gate, secret scan (just and the pre-commit
hooks), audit workflow, SBOM. The deep tests share one synced, committed project and put it back
as it was after each."""

import hashlib
import json
import shlex
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.rendering import (
    commit_all,
    recipes_run_by,
    render,
    rendered_files,
    run,
    run_folder,
    sync,
)
from tests.variants import VARIANTS

# A key in the documented AWS format (AWS's own example key): found by detect-secrets' AWS plugin.
PLANTED_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
# A revision id that detect-secrets' hex entropy check reports unless the line is excluded.
REVISION_ID = "515d7e7e482f"
# The prek next to the running Python: a dev dependency of this repository.
PREK = str(Path(shutil.which("prek") or "prek"))


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- cheap checks on every variant -------------------------------------------------------------


def test_check_runs_the_secret_scan_and_the_coverage_gate(variant: Path) -> None:
    recipes = recipes_run_by(variant, "check")
    assert {"lint", "secrets", "typecheck", "coverage"} <= recipes
    assert "test" not in recipes  # `coverage` runs the tests, once
    coverage = tomllib.loads((variant / "pyproject.toml").read_text())["tool"]["coverage"]
    assert coverage["run"]["branch"] is True
    assert coverage["report"]["fail_under"] >= 90
    assert coverage["report"]["show_missing"] is True


def test_ruff_runs_the_security_rules_without_blanket_ignores(variant: Path) -> None:
    lint = tomllib.loads((variant / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"S", "BLE", "PGH", "T20"} <= set(lint["select"])
    assert not [code for code in lint.get("ignore", []) if code.startswith("S")]
    for pattern, codes in lint["per-file-ignores"].items():
        assert "S" not in codes, f"{pattern}: the whole of bandit is ignored"


def secret_scan_arguments(project: Path) -> list[str]:
    """The detect-secrets-hook options of the rendered `secrets` recipe."""
    justfile = (project / "justfile").read_text(encoding="utf-8").replace("\\\n", " ")
    (command,) = [line for line in justfile.splitlines() if "detect-secrets-hook" in line]
    words = shlex.split(command)
    return words[words.index("detect-secrets-hook") + 1 : words.index("$@")]


@pytest.fixture(scope="session")
def scanned_clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One empty file per (options, path, content) the secret scan passed earlier in the run."""
    return run_folder(tmp_path_factory, "secret-scan-clean")


def test_the_rendered_project_passes_its_own_secret_scan(
    variant: Path, scanned_clean: Path
) -> None:
    """What `just secrets` runs, with its options, on every rendered file: no false positive.

    Most files are the same in every variant, and the scan reads each file alone: one scanned
    clean earlier in the run with the same options, path and content is not scanned again."""
    arguments = secret_scan_arguments(variant)
    unscanned: dict[str, Path] = {}
    for path in rendered_files(variant):
        relative = str(path.relative_to(variant))
        identity = hashlib.sha256("\0".join([*arguments, relative, ""]).encode())
        identity.update(path.read_bytes())
        if not (marker := scanned_clean / identity.hexdigest()).exists():
            unscanned[relative] = marker
    if unscanned:
        hook = str(Path(shutil.which("detect-secrets-hook") or "detect-secrets-hook"))
        run(variant, hook, *arguments, *unscanned)
    for marker in unscanned.values():
        marker.touch()


def test_pre_commit_hooks_are_local_and_never_modify_files(variant: Path) -> None:
    config = load_yaml(variant / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert all(repo["repo"] == "local" for repo in config["repos"])  # nothing fetched
    assert {"ruff-check", "ruff-format", "secrets"} <= set(hooks)
    entries = " ".join(hook["entry"] for hook in hooks.values())
    assert "--fix" not in entries
    assert "ruff format --check" in entries
    result = run(variant, PREK, "validate-config", ".pre-commit-config.yaml")
    assert "error" not in (result.stdout + result.stderr).lower()


def test_security_workflow_audits_daily_and_on_pull_requests(variant: Path) -> None:
    if not (variant / ".github").is_dir():
        pytest.skip("github_ci is off in this variant: no workflows")
    workflow = load_yaml(variant / ".github" / "workflows" / "security.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    assert triggers["schedule"]
    audit = workflow["jobs"]["audit"]
    assert [step["run"] for step in audit["steps"] if "run" in step] == [
        "uv run --locked just audit"
    ]
    sbom = workflow["jobs"]["sbom"]
    assert "uv run --locked just sbom" in [step.get("run") for step in sbom["steps"]]
    (upload,) = [s for s in sbom["steps"] if s.get("uses", "").startswith("actions/upload-")]
    assert upload["with"]["path"] == "dist/sbom.cdx.json"
    assert upload["with"]["if-no-files-found"] == "error"


# --- deep: the tools really run in a rendered project -------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, locks: Path) -> Path:
    project = render(tmp_path_factory.mktemp("security") / "project", **VARIANTS["default"])
    sync(project, locks)
    commit_all(project)
    return project


@pytest.fixture
def clean_project(project: Path) -> Iterator[Path]:
    yield project
    run(project, "git", "reset", "--quiet", "--hard")
    run(project, "git", "clean", "-fdxq", "--exclude=.venv")


@pytest.mark.deep
def test_coverage_below_the_threshold_fails_and_names_missed_lines(clean_project: Path) -> None:
    # One test file alone covers far less than the threshold.
    result = run(
        clean_project,
        "uv",
        "run",
        "--locked",
        "just",
        "coverage",
        "-q",
        "tests/test_health.py",
        expect_failure=True,
    )
    output = result.stdout + result.stderr
    assert "Missing" in output
    assert "src/my_service/settings.py" in output or "src/my_service/app.py" in output
    assert "Coverage failure: total of" in output


@pytest.mark.deep
def test_a_planted_key_is_found_by_just_secrets_and_the_hooks(clean_project: Path) -> None:
    # Alembic's random revision ids look like hex secrets; `just new` and `migrate-new` write them.
    migration = clean_project / "migrations" / "versions" / "20270101_0002_widgets.py"
    migration.write_text(f'revision: str = "{REVISION_ID}"\ndown_revision: str = "0001"\n')
    run(clean_project, "uv", "run", "--locked", "just", "secrets")  # clean as rendered
    run(clean_project, PREK, "run", "--all-files")
    planted = clean_project / "src" / "my_service" / "cloud.py"
    planted.write_text(f'AWS_ACCESS_KEY_ID = "{PLANTED_KEY}"\n', encoding="utf-8")
    # Not even added to git: `just secrets` scans the files git would add too.
    scan = run(clean_project, "uv", "run", "--locked", "just", "secrets", expect_failure=True)
    assert "AWS Access Key" in scan.stdout
    assert "src/my_service/cloud.py:1" in scan.stdout
    run(clean_project, "git", "add", "src/my_service/cloud.py")
    hooks = run(clean_project, PREK, "run", expect_failure=True)
    assert "src/my_service/cloud.py:1" in hooks.stdout + hooks.stderr


@pytest.mark.deep
def test_sbom_lists_the_locked_runtime_dependencies(clean_project: Path) -> None:
    run(clean_project, "uv", "run", "--locked", "just", "sbom")
    sbom = json.loads((clean_project / "dist" / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "my-service"
    components = {component["name"]: component["version"] for component in sbom["components"]}
    lock = tomllib.loads((clean_project / "uv.lock").read_text(encoding="utf-8"))
    locked = {package["name"]: package["version"] for package in lock["package"]}
    assert components["fastapi"] == locked["fastapi"]
    assert "pytest" not in components  # a dev tool does not ship
    assert set(components) <= set(locked)
