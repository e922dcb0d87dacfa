# Recipes of the template repository. `uv run just <recipe>` works with only uv installed.

export UV_PYTHON_DOWNLOADS := "never"

# List the recipes
default:
    @just --list

# Every test: cheap checks on all variants, deep checks (rendered `just check`) on the chosen ones
test *args:
    uv run --locked pytest -n auto --dist worksteal {{args}}

# Cheap checks only (no rendered project runs its own suite)
test-fast *args:
    uv run --locked pytest -n auto --dist worksteal -m "not deep" {{args}}

# Lint and type-check this repository's own code (never modifies a file)
lint:
    uv run --locked ruff check .
    uv run --locked ruff format --check .
    uv run --locked ty check tests

# Lint, then every test: what CI runs
check: lint test

# Render the defaults into a temporary folder and serve it on SQLite (Ctrl-C stops it)
demo:
    #!/usr/bin/env bash
    set -euo pipefail
    target="$(mktemp -d)/my-service"
    # The absolute path, as `_src_path` in the answers file: `copier update` must find the template.
    uv run --locked copier copy --quiet --defaults --vcs-ref=HEAD "$PWD" "$target"
    cd "$target"
    echo "rendered into $target"
    uv run just migrate serve
