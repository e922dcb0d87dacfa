"""`just new <module>` in rendered projects: modules that pass `just check`, bad names refused,
and an example module that is exactly what the scaffold writes; names given in the singular or
the plural, and `just remove-module`."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.rendering import NOT_RENDERED, Renders, commit_all, render, run, sync
from tests.variants import DEEP_SCAFFOLDED, VARIANTS, answers_of

# Writes the scaffold's module files for a name, formatted as `just new` formats them.
SCAFFOLD_FILES = """
import importlib.util, json, pathlib, subprocess, sys, tempfile
spec = importlib.util.spec_from_file_location("new_module", "tools/new_module.py")
new_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(new_module)
new_module.MODULES = new_module.ROOT / "no-such-folder"  # the example module exists
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
@pytest.mark.parametrize("name", DEEP_SCAFFOLDED)
def test_scaffolded_modules_pass_check(tmp_path: Path, locks: Path, name: str) -> None:
    project = render(tmp_path / name, **VARIANTS[name])
    sync(project, locks)
    commit_all(project)

    with_database = answers_of(name)["database"] != "none"
    run(project, "uv", "run", "--locked", "just", "new", "widget")
    hard_delete = ["--hard-delete"] if with_database else []
    created = run(
        project, "uv", "run", "--locked", "just", "new", "order-lines", *hard_delete
    ).stdout
    assert "resource order_lines: class OrderLine" in created
    assert "mounted at /api/v1/order-lines" in created

    package = project / "src" / "my_service" / "modules"
    assert (package / "widgets" / "routes.py").is_file()
    assert (package / "order_lines" / "routes.py").is_file()
    assert '"/order-lines"' in (package / "order_lines" / "routes.py").read_text()
    assert "class OrderLineRead(" in (package / "order_lines" / "schemas.py").read_text()
    generated_tests = (project / "tests" / "test_order_lines.py").read_text()
    # The list contract of `items` (sort whitelist, cursor pages, refused cursors), run by the
    # `just check` below.
    assert "def test_order_lines_sort_outside_the_whitelist_is_422(" in generated_tests
    assert "def test_order_lines_cursor_pages_cover_every_record_once(" in generated_tests
    if with_database:  # widgets soft-deletes (the default), order_lines does not
        soft = (package / "widgets" / "models.py").read_text()
        assert "class Widget(SoftDeletable, Base)" in soft
        hard = (package / "order_lines" / "repository.py").read_text()
        assert "delete(OrderLine)" in hard
        for absent in ("deleted_at", "[soft-delete]", "[hard-delete]"):
            assert absent not in hard

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

    commit_all(project)
    run(project, "uv", "run", "--locked", "just", "check")
    status = run(project, "git", "status", "--porcelain").stdout
    assert status == "", f"`just check` modified the project:\n{status}"


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


# Either form of a name -> (package and table, model class, URL)
EITHER_FORM = {
    ("paste", "pastes"): ("pastes", "Paste", "pastes"),
    ("item", "items"): ("items", "Item", "items"),
    ("category", "categories"): ("categories", "Category", "categories"),
    ("box", "boxes"): ("boxes", "Box", "boxes"),
    ("person", "people"): ("people", "Person", "people"),
    ("status", "statuses"): ("statuses", "Status", "statuses"),
    ("order-line", "order_lines"): ("order_lines", "OrderLine", "order-lines"),
}
# name, --singular, --plural -> the same
OVERRIDDEN = {
    ("box", None, "boxen"): ("boxen", "Box", "boxen"),
    ("campus", "campus", "campuses"): ("campuses", "Campus", "campuses"),
}


@pytest.mark.deep
def test_a_resource_is_named_in_the_singular_or_the_plural(tmp_path: Path) -> None:
    """`just new pastes` made /pasteses, table pasteses, class Pastes."""
    project = render(tmp_path / "p", **VARIANTS["no-database"])
    run(project, "uv", "sync", "--quiet")
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, "tools")
        from new_module import names_for
        cases = json.loads(sys.argv[1])
        print(json.dumps([names_for(*case) for case in cases]))
        """
    )
    cases = [(name, None, None) for names in EITHER_FORM for name in names]
    expected = [forms for names, forms in EITHER_FORM.items() for _ in names]
    cases += list(OVERRIDDEN)
    expected += list(OVERRIDDEN.values())
    output = run(project, "uv", "run", "--locked", "python", "-c", script, json.dumps(cases))
    derived = [
        (names["package"], names["Model"], names["url"]) for names in json.loads(output.stdout)
    ]
    assert all(names["table"] == names["package"] for names in json.loads(output.stdout))
    assert derived == expected


@pytest.mark.deep
def test_removing_the_example_module_leaves_a_project_that_passes(tmp_path: Path) -> None:
    """Deleting `items` by hand left the next migration chained to 0001 and tests on `items`."""
    project = render(tmp_path / "p")
    run(project, "uv", "sync", "--quiet")
    commit_all(project)

    run(project, "uv", "run", "--locked", "just", "new", "pastes")  # on 0002, itself on 0001
    removed = run(project, "uv", "run", "--locked", "just", "remove-module", "items").stdout
    assert "removed migrations/versions/20260101_0001_create_items.py" in removed
    assert not (project / "src" / "my_service" / "modules" / "items").exists()
    assert not (project / "tests" / "test_items.py").exists()
    assert not (project / "tests" / "test_items_listing.py").exists()
    assert "removed bench/crud.py" in removed  # it imports the module's model
    assert (project / "bench" / "run.py").exists()  # the edge's benchmark measures no module
    versions = project / "migrations" / "versions"
    idempotency_keys = versions / "20261206_0002_create_idempotency_keys.py"
    assert "down_revision: str | Sequence[str] | None = None" in idempotency_keys.read_text()
    (pastes,) = versions.glob("*_create_pastes.py")
    assert 'down_revision: str | Sequence[str] | None = "0002"' in pastes.read_text()
    run(project, "uv", "run", "--locked", "just", "new", "boxes")
    (boxes,) = versions.glob("*_create_boxes.py")
    assert f'= "{pastes.name.split("_")[1]}"' in boxes.read_text()

    # A module whose migration does more than create its tables is not silently rewritten.
    created = pastes.read_text()
    upgrade = "def upgrade() -> None:\n"
    pastes.write_text(created.replace(upgrade, f'{upgrade}    op.execute("SELECT 1")\n'))
    refused = run(
        project, "uv", "run", "--locked", "just", "remove-module", "pastes", expect_failure=True
    )
    assert "does more than create the tables of 'pastes'" in refused.stderr
    assert (project / "src" / "my_service" / "modules" / "pastes").is_dir()
    pastes.write_text(created)

    run(project, "uv", "run", "--locked", "just", "lint")
    run(project, "uv", "run", "--locked", "just", "typecheck")
    run(project, "uv", "run", "--locked", "just", "migrations-check")
    run(project, "uv", "run", "--locked", "pytest", "-q", "tests/test_pastes.py")
