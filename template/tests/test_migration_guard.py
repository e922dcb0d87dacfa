"""The migration guard itself: each destructive operation is flagged until acknowledged."""

import textwrap
from pathlib import Path

import pytest

from tools.migration_guard import (
    ACKNOWLEDGEMENT_NAME,
    DOWNGRADE_GUARDED,
    GUARDED_OPERATIONS,
    SquawkFinding,
    check_source,
    check_squawk_findings,
    main,
)

PATH = Path("migrations/versions/20260301_0002_change.py")
REASON = "reviewed: nothing reads this any more since release 2.3"


def migration(
    upgrade: str, acknowledged: dict[str, str] | None = None, downgrade: str = "pass"
) -> str:
    """A migration file running the given lines (marked `# flagged` where expected)."""
    header = "import sqlalchemy as sa\nfrom alembic import op\n\n"
    if acknowledged is not None:
        header += f"{ACKNOWLEDGEMENT_NAME} = {acknowledged!r}\n\n"
    up, down = (textwrap.indent(textwrap.dedent(b).strip(), "    ") for b in (upgrade, downgrade))
    return f"{header}\ndef upgrade() -> None:\n{up}\n\n\ndef downgrade() -> None:\n{down}\n"


def flagged_line(source: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if line.endswith("# flagged"))


DESTRUCTIVE = {
    "drop_table": ('op.drop_table("items")  # flagged', "drop_table"),
    "drop_column": ('op.drop_column("items", "description")  # flagged', "drop_column"),
    "drop_column_in_batch": (
        """
        with op.batch_alter_table("items") as batch_op:
            batch_op.drop_column("description")  # flagged
        """,
        "drop_column",
    ),
    "alter_column_type": (
        'op.alter_column("items", "name", type_=sa.String(50))  # flagged',
        "alter_column_type",
    ),
    "alter_column_type_in_batch": (
        """
        with op.batch_alter_table("items", recreate="always") as batch:
            batch.alter_column("name", type_=sa.Text())  # flagged
        """,
        "alter_column_type",
    ),
    "alter_column_not_null": (
        'op.alter_column("items", "description", nullable=False)  # flagged',
        "alter_column_not_null",
    ),
    "add_column_not_null": (
        'op.add_column("items", sa.Column("sku", sa.String(20), nullable=False))  # flagged',
        "add_column_not_null",
    ),
    "rename_table": ('op.rename_table("items", "products")  # flagged', "rename_table"),
    "rename_column": (
        'op.alter_column("items", "name", new_column_name="title")  # flagged',
        "rename_column",
    ),
    "rename_column_in_batch": (
        """
        with op.batch_alter_table("items") as batch_op:
            batch_op.alter_column("name", new_column_name="title")  # flagged
        """,
        "rename_column",
    ),
    "drop_constraint": (
        'op.drop_constraint("uq_items_name", "items", type_="unique")  # flagged',
        "drop_constraint",
    ),
    "drop_constraint_in_batch": (
        """
        with op.batch_alter_table("items") as batch_op:
            batch_op.drop_constraint("ck_items_name_length")  # flagged
        """,
        "drop_constraint",
    ),
    "drop_index": ('op.drop_index("ix_items_name", table_name="items")  # flagged', "drop_index"),
    "execute": ('op.execute("UPDATE items SET name = lower(name)")  # flagged', "execute"),
    "execute_on_the_bind": (
        'op.get_bind().execute(sa.text("DELETE FROM items"))  # flagged',
        "execute",
    ),
    "create_index": (
        'op.create_index("ix_items_name", "items", ["name"])  # flagged',
        "create_index_blocking",
    ),
    "create_index_in_batch": (
        """
        with op.batch_alter_table("items") as batch_op:
            batch_op.create_index("ix_items_name", ["name"])  # flagged
        """,
        "create_index_blocking",
    ),
}

SAFE = {
    "create_table_with_its_index": """
        op.create_table(
            "tags",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
        )
        op.create_index("ix_tags_name", "tags", ["name"])
        """,
    "add_nullable_column": 'op.add_column("items", sa.Column("sku", sa.String(20)))',
    "add_not_null_column_with_server_default": (
        'op.add_column("items", sa.Column("stock", sa.Integer(), nullable=False, '
        'server_default="0"))'
    ),
    "create_index_concurrently": """
        with op.get_context().autocommit_block():
            op.create_index("ix_items_name", "items", ["name"], postgresql_concurrently=True)
        """,
    "relax_not_null": 'op.alter_column("items", "name", nullable=True, existing_type=sa.Text())',
    "not_null_with_server_default": (
        'op.alter_column("items", "description", nullable=False, server_default="")'
    ),
    "bulk_insert": """
        items = sa.table("items", sa.column("name", sa.String()))
        op.bulk_insert(items, [{"name": "first"}])
        """,
    "add_check_constraint": (
        'op.create_check_constraint("name_length", "items", "length(name) <= 200")'
    ),
}


@pytest.mark.parametrize(("upgrade", "operation"), DESTRUCTIVE.values(), ids=DESTRUCTIVE.keys())
def test_destructive_operation_is_flagged_with_file_line_and_remedy(
    upgrade: str, operation: str
) -> None:
    source = migration(upgrade)
    findings = check_source(source, PATH, postgresql=True)
    assert [(f.operation, f.line) for f in findings] == [(operation, flagged_line(source))]
    message = str(findings[0])
    assert message.startswith(f"{PATH}:{flagged_line(source)}: {operation}: ")
    assert GUARDED_OPERATIONS[operation] in message
    assert f'{ACKNOWLEDGEMENT_NAME} = {{"{operation}": ' in message


@pytest.mark.parametrize(("upgrade", "operation"), DESTRUCTIVE.values(), ids=DESTRUCTIVE.keys())
def test_destructive_operation_is_accepted_once_acknowledged(upgrade: str, operation: str) -> None:
    source = migration(upgrade, acknowledged={operation: REASON})
    assert check_source(source, PATH, postgresql=True) == []


@pytest.mark.parametrize("postgresql", [True, False], ids=["postgresql", "sqlite"])
@pytest.mark.parametrize("upgrade", SAFE.values(), ids=SAFE.keys())
def test_safe_operation_is_never_flagged(upgrade: str, postgresql: bool) -> None:
    assert check_source(migration(upgrade), PATH, postgresql=postgresql) == []


def test_blocking_index_is_a_postgresql_concern_only() -> None:
    source = migration(DESTRUCTIVE["create_index"][0])
    assert check_source(source, PATH, postgresql=False) == []


# What an autogenerated downgrade writes when upgrade() dropped a column or relaxed NOT NULL.
DOWNGRADE_FAILING_ON_ROWS = {
    "re_add_not_null_column": (
        'op.add_column("items", sa.Column("code", sa.VARCHAR(), nullable=False))  # flagged',
        "add_column_not_null",
    ),
    "re_add_not_null_column_in_batch": (
        """
        with op.batch_alter_table("items") as batch_op:
            batch_op.add_column(sa.Column("code", sa.VARCHAR(), nullable=False))  # flagged
        """,
        "add_column_not_null",
    ),
    "tighten_not_null_again": (
        'op.alter_column("items", "description", nullable=False)  # flagged',
        "alter_column_not_null",
    ),
}


@pytest.mark.parametrize(
    ("downgrade", "operation"),
    DOWNGRADE_FAILING_ON_ROWS.values(),
    ids=DOWNGRADE_FAILING_ON_ROWS.keys(),
)
def test_a_downgrade_that_fails_on_a_table_with_rows_is_flagged(
    downgrade: str, operation: str
) -> None:
    source = migration("pass", downgrade=downgrade)
    findings = check_source(source, PATH, postgresql=False)
    key = f"downgrade:{operation}"
    assert [(f.operation, f.line) for f in findings] == [(key, flagged_line(source))]
    assert DOWNGRADE_GUARDED[operation] in str(findings[0])
    assert f'{ACKNOWLEDGEMENT_NAME} = {{"{key}": ' in str(findings[0])
    acknowledged = migration("pass", acknowledged={key: REASON}, downgrade=downgrade)
    assert check_source(acknowledged, PATH, postgresql=False) == []


def test_a_downgrade_is_otherwise_free_to_destroy() -> None:
    """Undoing a migration is destructive by nature; only what cannot run on rows is flagged."""
    upgrade = 'op.create_table("tags", sa.Column("id", sa.Integer(), primary_key=True))'
    downgrade = """
        op.drop_table("tags")
        op.execute("DROP TYPE mood")
        op.add_column("items", sa.Column("code", sa.VARCHAR(), nullable=False, server_default=""))
        """
    assert check_source(migration(upgrade, downgrade=downgrade), PATH, postgresql=True) == []


def squawk_finding(rule: str) -> SquawkFinding:
    return SquawkFinding(rule=rule, line=3, message=f"what {rule} is about.")


def test_a_squawk_finding_is_acknowledged_like_an_operation(tmp_path: Path) -> None:
    path = tmp_path / "0002_sku.py"
    path.write_text(migration("pass"))
    reported = [squawk_finding("adding-required-field")]
    (finding,) = check_squawk_findings(path, reported)
    assert finding.operation == "squawk:adding-required-field"
    assert "what adding-required-field is about." in str(finding)
    assert f'{ACKNOWLEDGEMENT_NAME} = {{"squawk:adding-required-field": ' in str(finding)

    path.write_text(migration("pass", acknowledged={"squawk:adding-required-field": REASON}))
    assert check_squawk_findings(path, reported) == []
    assert check_source(path.read_text(), path, postgresql=True) == []


def test_a_squawk_acknowledgement_squawk_no_longer_reports_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "0002_sku.py"
    path.write_text(migration("pass", acknowledged={"squawk:adding-required-field": REASON}))
    (finding,) = check_squawk_findings(path, [])
    assert "'squawk:adding-required-field', which squawk does not report" in str(finding)


def test_an_acknowledgement_covers_its_own_operation_only() -> None:
    upgrade = """
        op.drop_table("legacy")
        op.drop_column("items", "description")  # flagged
        """
    source = migration(upgrade, acknowledged={"drop_table": REASON})
    findings = check_source(source, PATH, postgresql=True)
    assert [(f.operation, f.line) for f in findings] == [("drop_column", flagged_line(source))]


def test_annotated_acknowledgement_is_read() -> None:
    annotated = f'{ACKNOWLEDGEMENT_NAME}: dict[str, str] = {{"drop_table": "{REASON}"}}\n\n\n'
    source = migration('op.drop_table("items")').replace("def upgrade", annotated + "def upgrade")
    assert check_source(source, PATH, postgresql=True) == []


@pytest.mark.parametrize(
    ("acknowledged", "complaint"),
    [
        ({"drop_tables": REASON}, "'drop_tables' is not a guarded operation"),
        ({"drop_table": "ok"}, "must be a string of at least 10 characters"),
        ({"drop_table": REASON, "drop_column": REASON}, "'drop_column', which this migration"),
        ({"drop_table": REASON, "downgrade:drop_table": REASON}, "is not a guarded operation"),
        (
            {"drop_table": REASON, "downgrade:add_column_not_null": REASON},
            "'downgrade:add_column_not_null', which this migration",
        ),
        ({"drop_table": REASON, "squawk:Not A Rule": REASON}, "is not a guarded operation"),
    ],
    ids=[
        "unknown_operation",
        "reason_too_short",
        "operation_not_performed",
        "unknown_downgrade_operation",
        "downgrade_operation_not_performed",
        "malformed_squawk_rule",
    ],
)
def test_bad_acknowledgement_is_reported(acknowledged: dict[str, str], complaint: str) -> None:
    source = migration('op.drop_table("items")', acknowledged=acknowledged)
    findings = check_source(source, PATH, postgresql=True)
    assert any(complaint in str(finding) for finding in findings), findings


def test_a_squawk_acknowledgement_has_no_place_without_postgresql() -> None:
    acknowledged = {"drop_table": REASON, "squawk:ban-drop-table": REASON}
    source = migration('op.drop_table("items")', acknowledged=acknowledged)
    (finding,) = check_source(source, PATH, postgresql=False)
    assert "'squawk:ban-drop-table' is not a guarded operation" in str(finding)


def test_acknowledgement_must_be_a_literal() -> None:
    source = migration('op.drop_table("items")').replace(
        "def upgrade", f"{ACKNOWLEDGEMENT_NAME} = dict(drop_table='{REASON}')\n\n\ndef upgrade"
    )
    messages = [str(finding) for finding in check_source(source, PATH, postgresql=True)]
    assert any("must be a literal dict" in message for message in messages)
    assert any(": drop_table: " in message for message in messages)


def test_unparsable_migration_is_reported() -> None:
    findings = check_source("def upgrade(:\n", PATH, postgresql=True)
    assert [finding.operation for finding in findings] == ["syntax"]


def test_cli_fails_on_findings_and_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "0001_safe.py").write_text(migration(SAFE["add_nullable_column"]))
    destructive = tmp_path / "0002_drop.py"
    destructive.write_text(migration(DESTRUCTIVE["drop_table"][0]))
    assert main([str(tmp_path)]) == 1
    assert f"{destructive}:{flagged_line(destructive.read_text())}: drop_table: " in (
        capsys.readouterr().err
    )

    destructive.write_text(migration(DESTRUCTIVE["drop_table"][0], {"drop_table": REASON}))
    assert main([str(tmp_path)]) == 0
    assert "2 migration(s)" in capsys.readouterr().out


def test_cli_postgresql_flag_adds_the_index_rule(tmp_path: Path) -> None:
    path = tmp_path / "0002_index.py"
    path.write_text(migration(DESTRUCTIVE["create_index"][0]))
    assert main([str(path)]) == 0
    assert main(["--postgresql", str(path)]) == 1


def test_cli_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "missing")])
    assert exit_info.value.code == 2
