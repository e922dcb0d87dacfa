from pathlib import Path

import pytest

from tests.rendering import Renders
from tests.variants import VARIANTS


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    """Every variant of the table, rendered once per session on first use."""
    return Renders(tmp_path_factory.mktemp("variants"), VARIANTS)


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, rendered: Renders) -> Path:
    """One rendered project per variant, shared by the cheap checks of the session."""
    return rendered[request.param]
