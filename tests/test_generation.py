"""Cheap checks on every variant: each test checks one property of a rendered project."""

import ast
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from tests.rendering import rendered_files

# Openers only: `%}` ends f-string format specs (`{share:.1%}`) too. A Jinja expression starts
# with a name (`{{ package_name`); f-strings escape braces as `{{"...`, GitHub writes `${{ ... }}`.
JINJA_LEFTOVER = re.compile(r"{%|{#|(?<!\$){{\s*[A-Za-z_]")
# `just` interpolates `{{name}}` itself.
JUST_LEFTOVER = re.compile(r"{%|{#")


def test_no_template_syntax_left(variant: Path) -> None:
    leftovers = []
    for path in rendered_files(variant):
        text = path.read_text(encoding="utf-8")
        pattern = JUST_LEFTOVER if path.name == "justfile" else JINJA_LEFTOVER
        leftovers += [f"{path.relative_to(variant)}: {m.group()}" for m in pattern.finditer(text)]
    assert not leftovers, leftovers


def test_no_template_file_names_left(variant: Path) -> None:
    names = [str(p.relative_to(variant)) for p in rendered_files(variant)]
    assert not [n for n in names if n.endswith(".jinja") or "{{" in n], names


def test_toml_and_yaml_files_parse(variant: Path) -> None:
    for path in rendered_files(variant):
        if path.suffix == ".toml":
            tomllib.loads(path.read_text())
        elif path.suffix in (".yml", ".yaml"):
            list(yaml.safe_load_all(path.read_text()))


def test_answers_file_is_present(variant: Path) -> None:
    answers = yaml.safe_load((variant / ".copier-answers.yml").read_text())
    assert answers["_src_path"]
    assert answers["_commit"]
    assert answers["package_name"] == "my_service"


def test_ruff_is_clean(variant: Path) -> None:
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        result = subprocess.run(command, cwd=variant, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


# `docs/name.md` anywhere, and relative Markdown links `](name.md)` inside a rendered doc.
DOC_PATH = re.compile(r"(?<![\w/.-])docs/[\w-]+\.md")
DOC_LINK = re.compile(r"\]\(([\w-]+\.md)(?:#[\w-]*)?\)")


def test_every_docs_reference_resolves(variant: Path) -> None:
    """Comments, README and docs point only to documents the project contains."""
    dangling = []
    for path in rendered_files(variant):
        if path.name == ".copier-answers.yml":
            continue
        text = path.read_text(encoding="utf-8")
        for match in DOC_PATH.finditer(text):
            if not (variant / match.group()).is_file():
                dangling.append(f"{path.relative_to(variant)}: {match.group()}")
        if path.parent == variant / "docs":
            for match in DOC_LINK.finditer(text):
                if not (path.parent / match.group(1)).is_file():
                    dangling.append(f"{path.relative_to(variant)}: {match.group(1)}")
    assert not dangling, "\n".join(dangling)


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_a_screen(variant: Path) -> None:
    """Long functions hide their concerns; ruff holds complexity to 15, this holds length."""
    long = []
    for path in (variant / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(variant)}:{node.lineno} {node.name}: {lines}")
    assert not long, "\n".join(long)
