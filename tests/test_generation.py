"""Cheap checks on every variant: each test checks one property of a rendered project."""

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

# Openers only: `%}` ends f-string format specs (`{share:.1%}`) too. A Jinja expression starts
# with a name (`{{ package_name`); f-strings escape braces as `{{"...`, GitHub writes `${{ ... }}`.
JINJA_LEFTOVER = re.compile(r"{%|{#|(?<!\$){{\s*[A-Za-z_]")
# `just` interpolates `{{name}}` itself.
JUST_LEFTOVER = re.compile(r"{%|{#")


# What tools write into a rendered project (a cheap check may have run ruff in it already).
NOT_RENDERED_PARTS = {".git", ".venv", ".ruff_cache", ".pytest_cache", "__pycache__"}


def rendered_files(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.is_file() and not NOT_RENDERED_PARTS.intersection(path.parts)
    ]


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
