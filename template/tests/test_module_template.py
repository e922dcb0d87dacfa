"""The example module is what `just new item` would write: the two cannot drift apart.

Every fix made to `modules/items` must be made to `tools/module_template` too (and the other
way round), so that each new module is born with it; this test fails until both agree.
"""

import pytest

from tools.new_module import MODULES, render

ITEM = {"module": "item", "Model": "Item", "Label": "Item", "table": "items", "url": "items"}
SHARED = ["models.py", "repository.py", "routes.py", "schemas.py", "service.py"]


@pytest.mark.parametrize("name", SHARED)
def test_example_module_file_is_the_template_rendered_for_item(name: str) -> None:
    assert render(f"{name}.tmpl", ITEM) == (MODULES / "items" / name).read_text()
