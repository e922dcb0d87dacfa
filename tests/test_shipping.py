"""What a rendered project ships: Dockerfile, CI workflow, dependabot, Kubernetes manifests.

One table of variants; each test checks one property on the variants it concerns. The linters
(hadolint, actionlint, zizmor, kubernetes-validate) run offline, see `shipping_checks`.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import shipping_checks
from tests.rendering import Renders, commit_all, lock, recipes_run_by, render, run, sync
from tests.variants import VARIANTS, answers_of, variants_where

REPO_ROOT = Path(__file__).resolve().parent.parent

PACKAGE = "my_service"
PREFIX = "MY_SERVICE"


# --- files each flag renders -------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_flag_renders_exactly_its_files(rendered: Renders, variant: str) -> None:
    project = rendered[variant]
    answers = answers_of(variant)
    autoscaling = answers.get("kubernetes_autoscaling", answers["database"] != "sqlite")
    expected = {
        "Dockerfile": answers["docker"],
        ".dockerignore": answers["docker"],
        "compose.yaml": answers["database"] == "postgresql",
        ".github/workflows/ci.yml": answers["github_ci"],
        ".github/dependabot.yml": answers["github_ci"],
        "deploy/kubernetes/deployment.yaml": answers["kubernetes"],
        "deploy/kubernetes/service.yaml": answers["kubernetes"],
        "deploy/kubernetes/pdb.yaml": answers["kubernetes"],
        "deploy/kubernetes/kustomization.yaml": answers["kubernetes"],
        "deploy/kubernetes/hpa.yaml": answers["kubernetes"] and autoscaling,
        "deploy/kubernetes/migrate/job.yaml": answers["kubernetes"]
        and answers["database"] == "postgresql",
    }
    present = {path: (project / path).exists() for path in expected}
    assert present == expected


# --- Dockerfile --------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variants_where(docker=True))
def test_dockerfile_lints_clean(rendered: Renders, variant: str) -> None:
    shipping_checks.lint_dockerfile(rendered[variant])


def dockerfile_instructions(project: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (project / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


@pytest.mark.parametrize("variant", variants_where(docker=True))
def test_image_runs_serve_entry_as_non_root(rendered: Renders, variant: str) -> None:
    instructions = dockerfile_instructions(rendered[variant])
    final_stage = instructions[
        max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM") :
    ]
    by_keyword: dict[str, list[str]] = {}
    for keyword, arguments in final_stage:
        by_keyword.setdefault(keyword, []).append(arguments)
    # Exec form, the module itself as PID 1: SIGTERM reaches the app, not a shell or just.
    assert by_keyword["CMD"] == [f'["python", "-m", "{PACKAGE}", "serve"]']
    assert "ENTRYPOINT" not in by_keyword
    assert by_keyword["USER"] == ["10001:10001"]
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "/health/live" in healthcheck
    assert "curl" not in healthcheck
    assert "wget" not in healthcheck
    assert healthcheck.split(" CMD ")[1].startswith('["python"')


@pytest.mark.parametrize("variant", variants_where(docker=True))
def test_image_installs_exactly_the_lock_with_bytecode(rendered: Renders, variant: str) -> None:
    instructions = dockerfile_instructions(rendered[variant])
    stages = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert len(stages) == 3  # uv binary, build, runtime
    syncs = [args for keyword, args in instructions if keyword == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    assert all("--locked" in args and "--no-dev" in args for args in syncs)
    build_env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "UV_COMPILE_BYTECODE=1" in build_env
    assert "UV_PYTHON_DOWNLOADS=never" in build_env


@pytest.mark.parametrize("variant", variants_where(docker=True))
def test_image_carries_oci_labels(rendered: Renders, variant: str) -> None:
    instructions = dockerfile_instructions(rendered[variant])
    final_stage = stages(instructions)[-1]
    labels = " ".join(arguments for keyword, arguments in final_stage if keyword == "LABEL")
    for key in ("title", "description", "authors", "version", "revision", "created"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert 'org.opencontainers.image.title="my-service"' in labels
    assert 'org.opencontainers.image.revision="${REVISION}"' in labels  # a build argument


@pytest.mark.parametrize("variant", variants_where(docker=True))
def test_dockerignore_sends_only_an_allowlist(rendered: Renders, variant: str) -> None:
    project = rendered[variant]
    lines = [
        line.strip()
        for line in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"pyproject.toml", "uv.lock", "src"} <= allowed
    assert not allowed & {".env", ".git", ".venv", "var", "tests"}
    # Every allowed path exists in the project (uv.lock appears after `uv lock`).
    assert all((project / path).exists() for path in allowed - {"uv.lock"})


def stage_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for pair in arguments.split():
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.deep
def test_image_steps_give_a_service_that_writes_only_its_data(tmp_path: Path, locks: Path) -> None:
    """Replays the Dockerfile without a Docker engine: its `uv sync` steps with its environment,
    then its CMD and HEALTHCHECK. The service, running without PYTHONDONTWRITEBYTECODE, must write
    nothing but the SQLite directory: every module it imports was byte-compiled at build time, so a
    read-only root filesystem costs nothing."""
    project = render(tmp_path / "project")
    uv = shutil.which("uv")
    assert uv is not None
    base_env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    base_env["UV_PYTHON_DOWNLOADS"] = "never"
    lock(project, locks)
    _, build, runtime = stages(dockerfile_instructions(project))
    app = tmp_path / "app"
    build_env = {
        **base_env,
        **stage_env(build),
        "UV_PYTHON": sys.executable,  # the image's Python is /usr/local/bin/python3
        "UV_PROJECT_ENVIRONMENT": str(app / ".venv"),
    }
    syncs = [args[args.index("uv sync") :] for keyword, args in build if keyword == "RUN"]
    # First sync: only the two bind-mounted files are there.
    lock_only = tmp_path / "lock-only"
    lock_only.mkdir()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(project / name, lock_only / name)
    subprocess.run([uv, *syncs[0].split()[1:]], cwd=lock_only, env=build_env, check=True)
    subprocess.run([uv, *syncs[1].split()[1:]], cwd=project, env=build_env, check=True)
    for keyword, arguments in runtime:
        if keyword == "COPY" and not arguments.startswith("--from"):
            source, target = (Path(part) for part in arguments.split())
            if (project / source).is_dir():
                shutil.copytree(project / source, app / target.name)
            else:
                shutil.copy(project / source, app / target.name)
    (app / "var").mkdir()

    image_env = {**base_env, **stage_env(runtime)}
    image_env["PATH"] = f"{app / '.venv' / 'bin'}{os.pathsep}{base_env['PATH']}"
    image_env[f"{PREFIX}_HOST"] = "127.0.0.1"
    image_env[f"{PREFIX}_PORT"] = str(free_port())
    # What a deployment provides beside the image: production refuses to start without it.
    image_env[f"{PREFIX}_CURSOR_SECRET"] = "cursor-secret-of-this-test-32-chars"
    before = {path for path in app.rglob("*") if "var" not in path.relative_to(app).parts}
    subprocess.run(["alembic", "upgrade", "head"], cwd=app, env=image_env, check=True, timeout=60)
    run_env = {k: v for k, v in image_env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    by_keyword = {keyword: arguments for keyword, arguments in runtime}
    command = json.loads(by_keyword["CMD"])
    healthcheck = json.loads(by_keyword["HEALTHCHECK"].split(" CMD ", 1)[1])
    server = subprocess.Popen(command, cwd=app, env=run_env)
    try:
        base = f"http://127.0.0.1:{run_env[f'{PREFIX}_PORT']}"
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(
                    f"{base}/health/ready", headers={"Host": "localhost"}
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert response.status == 200
                break
            except OSError:
                assert server.poll() is None, "the service exited"
                assert time.monotonic() < deadline, "the service did not start within 30 s"
                time.sleep(0.2)
        probe = subprocess.run(healthcheck, cwd=app, env=run_env, timeout=10, check=False)
        assert probe.returncode == 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    after = {path for path in app.rglob("*") if "var" not in path.relative_to(app).parts}
    assert after == before
    assert any((app / "var").iterdir())  # the database is where the volume goes


# --- justfile ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_check_lints_the_dockerfile_only_when_there_is_one(rendered: Renders, variant: str) -> None:
    dependencies = recipes_run_by(rendered[variant], "check")
    assert ("lint-docker" in dependencies) == answers_of(variant)["docker"]
    assert "audit" not in dependencies  # it needs the network


@pytest.mark.deep
def test_check_fails_on_a_dockerfile_finding(tmp_path: Path, locks: Path) -> None:
    """The rendered `just check` really runs hadolint: a finding fails it, and it says so."""
    project = render(tmp_path / "project")
    sync(project, locks)
    commit_all(project)  # `just check` scans the files git knows for secrets
    run(project, "uv", "run", "--locked", "just", "lint-docker")  # clean as rendered
    with (project / "Dockerfile").open("a", encoding="utf-8") as dockerfile:
        dockerfile.write("RUN apt-get install curl\n")
    # One test file instead of the suite: the full suite passes in every deep check already.
    # Its coverage is short of the gate, so the check fails either way: what this test looks for
    # is hadolint's finding and the check's report that `static` failed.
    only_a_few_tests = ("env", "PYTEST_ADDOPTS=tests/test_health.py")
    broken = run(
        project, *only_a_few_tests, "uv", "run", "--locked", "just", "check", expect_failure=True
    )
    assert "DL3008" in broken.stdout + broken.stderr
    assert "just static failed" in broken.stderr


# --- GitHub CI and dependabot --------------------------------------------------------------------


@pytest.mark.parametrize("variant", variants_where(github_ci=True))
def test_workflows_lint_clean(rendered: Renders, variant: str) -> None:
    shipping_checks.lint_workflows(rendered[variant])


def test_this_repository_workflows_lint_clean() -> None:
    shipping_checks.lint_workflows(REPO_ROOT)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("variant", variants_where(github_ci=True))
def test_ci_runs_just_check_with_the_services_used(rendered: Renders, variant: str) -> None:
    workflow = load_yaml(rendered[variant] / ".github" / "workflows" / "ci.yml")
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands[-1] == "uv run --locked just check"
    services = job.get("services", {})
    assert ("postgres" in services) == (answers_of(variant)["database"] == "postgresql")
    assert ("redis" in services) == answers_of(variant)["rate_limit"]


@pytest.mark.parametrize("variant", variants_where(github_ci=True))
def test_dependabot_groups_and_cools_down_every_ecosystem(rendered: Renders, variant: str) -> None:
    config = load_yaml(rendered[variant] / ".github" / "dependabot.yml")
    answers = answers_of(variant)
    ecosystems = [update["package-ecosystem"] for update in config["updates"]]
    expected = ["uv", "github-actions"]
    if answers["docker"]:
        expected.append("docker")
    if answers["database"] == "postgresql":
        expected.append("docker-compose")
    assert ecosystems == expected
    for update in config["updates"]:
        assert update["cooldown"]["default-days"] >= 3
        if update["package-ecosystem"] != "docker-compose":  # a single image needs no group
            assert update["groups"]


# --- Kubernetes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_manifests_validate(rendered: Renders, variant: str) -> None:
    shipping_checks.validate_manifests(rendered[variant])


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_grace_period_covers_the_drain(rendered: Renders, variant: str) -> None:
    deployment = load_yaml(rendered[variant] / "deploy" / "kubernetes" / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(container)
    delay = float(env[f"{PREFIX}_DRAIN_DELAY"])
    timeout = float(env[f"{PREFIX}_DRAIN_TIMEOUT"])
    assert 0 < delay < timeout
    # Room for the lifespan shutdown (closing pools, flushing telemetry) after the drain.
    assert pod["terminationGracePeriodSeconds"] >= delay + timeout + 5
    # The service keeps serving through the delay itself: a preStop sleep would only add to it.
    assert "lifecycle" not in container
    # Service links would inject <PREFIX>_PORT=tcp://... for a Service named like the project.
    assert pod["enableServiceLinks"] is False


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_probes_use_the_health_endpoints(rendered: Renders, variant: str) -> None:
    deployment = load_yaml(rendered[variant] / "deploy" / "kubernetes" / "deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    probes = {
        name: container[name]["httpGet"]
        for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["startupProbe"]["path"] == "/health/live"
    assert probes["livenessProbe"]["path"] == "/health/live"
    assert probes["readinessProbe"]["path"] == "/health/ready"
    allowed_hosts = env_of(container)[f"{PREFIX}_ALLOWED_HOSTS"].split(",")
    for probe in probes.values():
        (host,) = [h["value"] for h in probe["httpHeaders"] if h["name"] == "Host"]
        assert host in allowed_hosts  # else the trusted-host check answers the probe with 400


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_pod_is_locked_down(rendered: Renders, variant: str) -> None:
    deployment = load_yaml(rendered[variant] / "deploy" / "kubernetes" / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's USER
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert {"requests", "limits"} <= set(container["resources"])
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    sqlite = answers_of(variant)["database"] == "sqlite"
    assert mounts == ({"/tmp", "/app/var"} if sqlite else {"/tmp"})
    if answers_of(variant)["database"] == "postgresql":
        url = env_of(container)[f"{PREFIX}_DATABASE_URL"]
        assert "secretKeyRef" in url  # never a literal in the manifest
    assert "secretKeyRef" in env_of(container)[f"{PREFIX}_CURSOR_SECRET"]  # required in production
    if answers_of(variant)["auth"] == "local":
        assert "secretKeyRef" in env_of(container)[f"{PREFIX}_AUTH_SIGNING_KEYS"]


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_replicas_follow_the_database(rendered: Renders, variant: str) -> None:
    directory = rendered[variant] / "deploy" / "kubernetes"
    spec = load_yaml(directory / "deployment.yaml")["spec"]
    if (directory / "hpa.yaml").exists():
        assert "replicas" not in spec  # the autoscaler owns the count
        assert load_yaml(directory / "hpa.yaml")["spec"]["minReplicas"] >= 2
    elif answers_of(variant)["database"] == "sqlite":
        assert spec["replicas"] == 1  # one SQLite file per replica would split the data
    else:
        assert spec["replicas"] >= 2
    assert load_yaml(directory / "pdb.yaml")["spec"] == {
        "maxUnavailable": 1,
        "selector": spec["selector"],
    }


MIGRATE = ["alembic", "upgrade", "head"]


@pytest.mark.parametrize("variant", variants_where(kubernetes=True))
def test_migrations_run_before_the_service_never_in_it(
    rendered: dict[str, Path], variant: str
) -> None:
    """SQLite: an init container on the pod's own file. PostgreSQL: a Job applied first."""
    directory = rendered[variant] / "deploy" / "kubernetes"
    deployment = load_yaml(directory / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (service,) = pod["containers"]
    assert not {"command", "args"} & service.keys()  # the image's CMD: serve
    database = answers_of(variant)["database"]
    init = pod.get("initContainers", [])
    job_path = directory / "migrate" / "job.yaml"
    if database == "sqlite":
        (migrate,) = init
        assert (migrate["image"], migrate["command"]) == (service["image"], MIGRATE)
        assert {m["mountPath"] for m in migrate["volumeMounts"]} == {"/tmp", "/app/var"}
        assert migrate["securityContext"] == service["securityContext"]
    else:
        assert init == []
    assert job_path.exists() == (database == "postgresql")
    if database != "postgresql":
        return
    job = load_yaml(job_path)
    job_pod = job["spec"]["template"]["spec"]
    (migrate,) = job_pod["containers"]
    assert (migrate["image"], migrate["command"]) == (service["image"], MIGRATE)
    assert job["spec"]["backoffLimit"] == 0  # a failed migration waits for a person
    assert job_pod["restartPolicy"] == "Never"
    assert job_pod["securityContext"] == pod["securityContext"]
    assert migrate["securityContext"] == service["securityContext"]
    url = f"{PREFIX}_DATABASE_URL"
    assert env_of(migrate)[url] == env_of(service)[url]  # the service's Secret
    # The Service and the PodDisruptionBudget must not select the migration's pod.
    selector = load_yaml(directory / "service.yaml")["spec"]["selector"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= labels.items()
    resources = load_yaml(directory / "kustomization.yaml")["resources"]
    assert not any("migrate" in resource for resource in resources)  # applied first, alone


# --- refused combinations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"kubernetes": True, "docker": False}, "kubernetes runs the image"),
        ({"kubernetes": True, "kubernetes_autoscaling": True}, "needs a shared database"),
    ],
)
def test_incoherent_answers_are_refused(
    tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(tmp_path / "project", **answers)


# --- the checks themselves can fail ------------------------------------------------------------


def test_lint_dockerfile_reports_findings(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python\nRUN apt-get install curl\n")
    with pytest.raises(AssertionError, match="DL3006"):
        shipping_checks.lint_dockerfile(tmp_path)


def test_lint_workflows_reports_an_unpinned_persisting_checkout(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        "name: CI\non: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        "    permissions:\n      contents: read\n    steps:\n"
        "      - uses: actions/checkout@v6\n      - run: echo ok\n"
    )
    with pytest.raises(AssertionError, match=r"artipacked|persist-credentials"):
        shipping_checks.lint_workflows(tmp_path)


def test_workflow_policy_requires_commit_pins(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_text(
        "name: CI\non: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-24.04\n"
        "    permissions: {}\n    steps:\n      - uses: actions/setup-python@v6\n"
    )
    with pytest.raises(AssertionError, match="not pinned to a full commit SHA"):
        shipping_checks.check_workflow_policy(workflow)


def test_validate_manifests_reports_unknown_fields(tmp_path: Path) -> None:
    directory = tmp_path / "deploy" / "kubernetes"
    directory.mkdir(parents=True)
    (directory / "kustomization.yaml").write_text("resources:\n  - service.yaml\n")
    (directory / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "spec:\n  ports:\n    - port: 80\n      targetPorts: http\n"
    )
    with pytest.raises(AssertionError, match="targetPorts"):
        shipping_checks.validate_manifests(tmp_path)
