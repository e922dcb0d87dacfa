"""Questions: derived defaults, and bad answers refused with a clear message and nothing written."""

import ast
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.rendering import render


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
    ],
)
def test_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, answers: dict, message: str
) -> None:
    destination = tmp_path / "p"
    with pytest.raises(ValueError, match=message):
        render(destination, **answers)
    assert not destination.exists() or not any(destination.iterdir())


def test_description_renders_literally(tmp_path: Path) -> None:
    description = 'He said "hi" {{ x }} {% if y %} \\ back\'slash'
    project = render(tmp_path / "p", description=description)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == description
    assert description in (project / "README.md").read_text()
    main = ast.parse((project / "src" / "my_service" / "app.py").read_text())
    constants = {
        node.targets[0].id: node.value.value
        for node in main.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    assert constants["DESCRIPTION"] == description
