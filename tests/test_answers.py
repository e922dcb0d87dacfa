"""Questions: derived defaults, and bad answers refused with a clear message and nothing written."""

import ast
import subprocess
import tomllib
import unicodedata
from pathlib import Path

import pytest
import yaml

from tests.rendering import TEMPLATE_ROOT, render


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_names_derive_from_the_project_name(tmp_path: Path) -> None:
    project = render(tmp_path / "p", project_name="My API 2.0")
    answers = answers_of(project)
    assert answers["project_slug"] == "my-api-2-0"
    assert answers["package_name"] == "my_api_2_0"
    assert answers["env_prefix"] == "MY_API_2_0"
    assert (project / "src" / "my_api_2_0" / "app.py").is_file()


def test_name_starting_with_a_digit_gets_a_valid_slug(tmp_path: Path) -> None:
    answers = answers_of(render(tmp_path / "p", project_name="3D Printer Queue"))
    assert answers["project_slug"] == "svc-3d-printer-queue"
    assert answers["package_name"] == "svc_3d_printer_queue"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "My_Service"}, "project_slug must match"),
        ({"project_slug": "9lives"}, "project_slug must match"),
        ({"project_slug": "trailing-"}, "project_slug must match"),
        ({"package_name": "import"}, "is a Python keyword"),
        ({"package_name": "json"}, "would shadow"),
        ({"package_name": "fastapi"}, "would shadow"),
        ({"package_name": "tests"}, "would shadow"),
        ({"package_name": "my-service"}, "must be a lowercase Python identifier"),
        ({"package_name": "2fast"}, "must be a lowercase Python identifier"),
        ({"env_prefix": "MY.API"}, "env_prefix must match"),
        ({"env_prefix": "my_api"}, "env_prefix must match"),
        ({"env_prefix": "API_"}, "env_prefix must match"),
        ({"author_email": "not-an-email"}, "author_email must look like"),
        ({"project_name": "   "}, "project_name must not be empty"),
        ({"database": "none", "example_module": True}, "example_module needs a database"),
        ({"api_prefix": "api/v1"}, "api_prefix must be empty or lowercase path segments"),
        ({"api_prefix": "/api/v1/"}, "api_prefix must be empty or lowercase path segments"),
        ({"api_prefix": "/API"}, "api_prefix must be empty or lowercase path segments"),
        ({"api_prefix": "/api//v1"}, "api_prefix must be empty or lowercase path segments"),
        ({"api_prefix": "/health/api"}, "would sit under a root path the service already serves"),
        ({"auth": "oidc", "outbound_http": False}, "auth=oidc fetches the provider's keys"),
        (
            {"auth": "local", "database": "none", "example_module": False},
            "auth=local keeps its accounts and refresh tokens in the database",
        ),
        ({"description": "Two\nlines"}, "description must be one line"),
        ({"description": "Tab\tseparated"}, "description must be one line"),
        ({"description": "x" * 81}, "description is 81 columns wide, more than 80"),
        ({"description": "🚀" * 41}, "description is 82 columns wide, more than 80"),
        ({"description": '"' * 41}, "description is 82 columns wide"),  # each quote is escaped
        ({"project_name": "A\nB"}, "project_name must be one line"),
        ({"project_name": "Ünïcode " * 7}, "is 70 columns wide, more than 60"),
        ({"author_name": "Team\r\nX-Injected: 1"}, "author_name must be one line"),
        # Nothing to derive a slug from: the message names what the user typed.
        ({"project_name": "日本語サービス"}, 'derived from the project name "日本語サービス"'),
        ({"project_name": "🚀🚀"}, 'derived from the project name "🚀🚀"'),
    ],
)
def test_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, answers: dict, message: str
) -> None:
    destination = tmp_path / "p"
    with pytest.raises(ValueError, match=message):
        render(destination, **answers)
    assert not destination.exists() or not any(destination.iterdir())


def python_constants(path: Path) -> dict[str, object]:
    module = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.targets[0].id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }


@pytest.mark.parametrize(
    ("project_name", "description", "author_name"),
    [
        ("My Service", 'He said "hi" {{ x }} {% if y %} \\ back\'slash', "Service Team"),
        ("Bob's \\ 'n' \"Co\"", "It's 'quoted' \\ twice", "O'Brien"),
        # tojson wrote an emoji as two lone surrogates: invalid TOML, broken Python strings.
        ("Rocket 🚀 Service", "Launches 🚀🛰️, counts 𝟙𝟚𝟛 <b>&amp;</b>", "Zoë 🦊 Ørsted"),  # noqa: RUF001
        ("Service " + "漢" * 26, "🚀" * 40, "Team"),  # the widest text accepted: 60 and 80
    ],
    ids=["more_double_quotes", "more_single_quotes", "emoji", "widest"],
)
def test_free_text_renders_literally_and_ruff_clean(
    tmp_path: Path, project_name: str, description: str, author_name: str
) -> None:
    answers = {"project_name": project_name, "description": description}
    project = render(tmp_path / "p", author_name=author_name, **answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description
    assert pyproject["project"]["authors"][0]["name"] == author_name
    assert description in (project / "README.md").read_text(encoding="utf-8")
    package = answers_of(project)["package_name"]
    constants = python_constants(project / "src" / package / "app.py")
    assert (constants["TITLE"], constants["DESCRIPTION"]) == (project_name, description)
    for command in (["ruff", "check", "."], ["ruff", "format", "--check", "."]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("project_name", "slug"),
    [
        ("Ünïcode Sërvice", "unicode-service"),
        ("Crème Brûlée API", "creme-brulee-api"),
        ("Straße Øl Łódź", "strasse-ol-lodz"),
        ("Rocket 🚀 Service", "rocket-service"),
        ("Cafe\u0301 Ne\u0301ant", "cafe-neant"),  # decomposed: combining accents dropped
    ],
)
def test_a_name_in_other_latin_letters_is_transliterated(
    tmp_path: Path, project_name: str, slug: str
) -> None:
    """`Ünïcode Sërvice` became `n-code-s-rvice`."""
    answers = answers_of(render(tmp_path / "p", project_name=project_name))
    assert answers["project_slug"] == slug
    assert answers["package_name"] == slug.replace("-", "_")


def test_the_folding_table_is_nfkd_without_combining_marks() -> None:
    """copier.yml carries the table (Copier's Jinja cannot normalise); this recomputes it."""
    folding = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["ascii_folding"]
    table = {letter: ascii for ascii, letters in folding["default"].items() for letter in letters}
    assert len(table) == sum(len(letters) for letters in folding["default"].values())
    for letter, ascii in table.items():
        decomposed = unicodedata.normalize("NFKD", letter)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        assert letter == letter.lower(), letter
        assert base == ascii or not base.isascii() or not base.isalpha(), (letter, ascii)
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        letter = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", letter) if not unicodedata.combining(c)
        )
        if letter == letter.lower() and letter.isalpha() and base.isascii() and base.isalpha():
            assert table.get(letter) == base.lower(), letter
