import os
from pathlib import Path

import pytest

from tests.rendering import Renders, run_folder
from tests.variants import VARIANTS


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Renders:
    """Every variant of the table, rendered once a run on first use (by whichever worker)."""
    return Renders(run_folder(tmp_path_factory, "variants"), VARIANTS)


@pytest.fixture(params=sorted(VARIANTS))
def variant(request: pytest.FixtureRequest, rendered: Renders) -> Path:
    """One rendered project per variant, shared by the cheap checks of the run."""
    return rendered[request.param]


@pytest.fixture(scope="session")
def locks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uv.lock files of the run by pyproject.toml (tests/rendering.py `lock`)."""
    return run_folder(tmp_path_factory, "uv-locks")


# The deep checks that run a rendered `just check`: longest first.
LONGEST_DEEP_CHECKS = [
    "test_scaffolded_modules_pass_check",  # a check after `just new`
    "test_rendered_check_passes_and_changes_nothing",
]


def _deep_rank(item: pytest.Item) -> int:
    name = getattr(item, "originalname", item.name)
    ranked = LONGEST_DEEP_CHECKS
    return ranked.index(name) if name in ranked else len(ranked)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The deep checks first, longest first, spread over the xdist workers; the cheap tests after.

    `--dist worksteal` hands each worker an equal run of consecutive tests and lets an idle one
    take the queued tail of another's. Each run here starts with its share of the deep checks
    (minutes each), so every worker starts one at once and the cheap tests fill the end.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    deep = sorted((item for item in items if item.get_closest_marker("deep")), key=_deep_rank)
    cheap = [item for item in items if not item.get_closest_marker("deep")]
    ordered: list[pytest.Item] = []
    for worker in range(workers):
        share = (len(items) - len(ordered)) // (workers - worker)  # as worksteal slices them
        own_deep = deep[worker::workers]
        fill = max(0, share - len(own_deep))
        ordered += own_deep + cheap[:fill]
        del cheap[:fill]
    items[:] = ordered + cheap
