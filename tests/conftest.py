from pathlib import Path

import pytest

from tests.rendering import render
from tests.variants import VARIANTS


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendered project per variant, shared by the cheap checks of the session."""
    name = request.param
    return render(tmp_path_factory.mktemp(name) / "project", **VARIANTS[name])
