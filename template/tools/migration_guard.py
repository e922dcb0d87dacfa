"""Refuse destructive or locking migration operations unless the migration acknowledges them.

The guard parses each migration file (it never imports or runs it) and reports every guarded
operation in it, `batch_alter_table` blocks included. `downgrade()` is not checked: undoing a
migration is destructive by nature and only runs on purpose.

A migration acknowledges an operation with a module-level literal that names it and says why it
is safe, reviewed like any other line of the migration:

    ACKNOWLEDGED_OPERATIONS = {
        "drop_column": "items.legacy_code has been unused since 2.3; nothing reads it any more",
    }

Usage: python tools/migration_guard.py [--postgresql] PATH...   (files or directories)
Exit status: 0 when every guarded operation is acknowledged, 1 otherwise.
"""

import argparse
import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ACKNOWLEDGEMENT_NAME = "ACKNOWLEDGED_OPERATIONS"
MIN_REASON_LENGTH = 10

# Operation key -> what it risks. The keys are what a migration acknowledges.
GUARDED_OPERATIONS = {
    "drop_table": "drops a table and every row in it",
    "drop_column": "drops a column and its data",
    "alter_column_type": "changes a column type: may rewrite the table under an exclusive lock "
    "and lose data the new type cannot hold",
    "alter_column_not_null": "makes a column NOT NULL without a server default: fails on "
    "existing NULLs and scans the table under an exclusive lock",
    "add_column_not_null": "adds a NOT NULL column without a server default: fails on a table "
    "that has rows",
    "rename_table": "renames a table: code still running with the old name breaks",
    "rename_column": "renames a column: code still running with the old name breaks",
    "drop_constraint": "drops a constraint: the data it protected is no longer checked",
    "drop_index": "drops an index: queries that used it may slow down sharply",
    "execute": "runs SQL the guard cannot inspect",
    "create_index_blocking": "creates an index without postgresql_concurrently=True: writes to "
    "the table wait until the index is built",
}
# Where a safe way exists, the message suggests it before the acknowledgement.
SAFER_WAYS = {
    "create_index_blocking": "build it inside `with op.get_context().autocommit_block():` with "
    "`postgresql_concurrently=True, if_not_exists=True`",
    "add_column_not_null": "add it nullable or with a server_default, backfill, then tighten",
    "alter_column_not_null": "backfill the NULLs first and give the column a server_default",
}
POSTGRESQL_ONLY = frozenset({"create_index_blocking"})
RAW_SQL_METHODS = frozenset({"execute", "exec_driver_sql"})
NOT_CHECKED_FUNCTIONS = frozenset({"downgrade"})


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.operation}: {self.message}"


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _is_literal(node: ast.expr | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _given(node: ast.expr | None) -> bool:
    """A keyword passed with a value other than a literal None."""
    return node is not None and not _is_literal(node, None)


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return _keyword(call, name)


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _has_not_null_column_without_default(call: ast.Call) -> bool:
    for argument in [*call.args, *(keyword.value for keyword in call.keywords)]:
        if (
            isinstance(argument, ast.Call)
            and _callee_name(argument) == "Column"
            and _is_literal(_keyword(argument, "nullable"), False)
            and not _given(_keyword(argument, "server_default"))
        ):
            return True
    return False


def _callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


class _OperationFinder(ast.NodeVisitor):
    """Collects (node, operation key) for every guarded call outside `downgrade()`."""

    def __init__(self, *, postgresql: bool) -> None:
        self.postgresql = postgresql
        self.found: list[tuple[ast.Call, str]] = []
        self.created_tables: set[str] = set()
        self.batch_tables: dict[str, str | None] = {}  # `as` name -> table of the batch block

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name not in NOT_CHECKED_FUNCTIONS:
            self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        if node.name not in NOT_CHECKED_FUNCTIONS:
            self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            call = item.context_expr
            if (
                isinstance(call, ast.Call)
                and _callee_name(call) == "batch_alter_table"
                and isinstance(item.optional_vars, ast.Name)
            ):
                table = _string(_argument(call, 0, "table_name"))
                self.batch_tables[item.optional_vars.id] = table
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "create_table":
            table = _string(_argument(node, 0, "table_name"))
            if table is not None:
                self.created_tables.add(table)
        for operation in self._classify(node):
            if self.postgresql or operation not in POSTGRESQL_ONLY:
                self.found.append((node, operation))
        self.generic_visit(node)

    def _table_of(self, node: ast.Call, position: int) -> str | None:
        """The table a call works on: its own argument, or the table of its batch block."""
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if isinstance(receiver, ast.Name) and receiver.id in self.batch_tables:
            return self.batch_tables[receiver.id]
        return _string(_argument(node, position, "table_name"))

    def _classify(self, node: ast.Call) -> Iterator[str]:
        name = _callee_name(node) if isinstance(node.func, ast.Attribute) else None
        if name in {"drop_table", "drop_column", "rename_table", "drop_constraint", "drop_index"}:
            yield name
        elif name in RAW_SQL_METHODS:
            yield "execute"
        elif name == "alter_column":
            if _given(_keyword(node, "type_")):
                yield "alter_column_type"
            if _given(_keyword(node, "new_column_name")):
                yield "rename_column"
            if _is_literal(_keyword(node, "nullable"), False) and not (
                _given(_keyword(node, "server_default"))
                or _given(_keyword(node, "existing_server_default"))
            ):
                yield "alter_column_not_null"
        elif name == "add_column":
            if _has_not_null_column_without_default(node):
                yield "add_column_not_null"
        elif name == "create_index":
            # An index on a table created by this same migration blocks nobody: it is empty.
            on_new_table = self._table_of(node, 1) in self.created_tables
            concurrent = _is_literal(_keyword(node, "postgresql_concurrently"), True)
            if not (concurrent or on_new_table):
                yield "create_index_blocking"


def _read_acknowledgements(tree: ast.Module, path: Path) -> tuple[dict[str, str], list[Finding]]:
    acknowledged: dict[str, str] = {}
    problems: list[Finding] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == ACKNOWLEDGEMENT_NAME for t in targets):
            continue
        if not isinstance(value, ast.Dict):
            problems.append(
                Finding(
                    path,
                    statement.lineno,
                    ACKNOWLEDGEMENT_NAME,
                    'must be a literal dict: {"<operation>": "<why it is safe>"}',
                )
            )
            continue
        for key, reason in zip(value.keys, value.values, strict=True):
            operation, text = _string(key), _string(reason)
            line = (key or reason).lineno
            if operation not in GUARDED_OPERATIONS:
                known = ", ".join(sorted(GUARDED_OPERATIONS))
                problems.append(
                    Finding(
                        path,
                        line,
                        ACKNOWLEDGEMENT_NAME,
                        f"{ast.unparse(key) if key else '**'} is not a guarded operation "
                        f"(known: {known})",
                    )
                )
            elif text is None or len(text.strip()) < MIN_REASON_LENGTH:
                problems.append(
                    Finding(
                        path,
                        line,
                        ACKNOWLEDGEMENT_NAME,
                        f"the reason for {operation!r} must be a string of at least "
                        f"{MIN_REASON_LENGTH} characters saying why it is safe",
                    )
                )
            else:
                acknowledged[operation] = text
    return acknowledged, problems


def check_source(source: str, path: Path, *, postgresql: bool) -> list[Finding]:
    """Every unacknowledged guarded operation in one migration, and every bad acknowledgement."""
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        return [Finding(path, error.lineno or 1, "syntax", f"cannot parse: {error.msg}")]
    acknowledged, findings = _read_acknowledgements(tree, path)
    finder = _OperationFinder(postgresql=postgresql)
    finder.visit(tree)
    performed = set()
    for call, operation in finder.found:
        performed.add(operation)
        if operation in acknowledged:
            continue
        safer = f"Safer: {SAFER_WAYS[operation]}. " if operation in SAFER_WAYS else ""
        findings.append(
            Finding(
                path,
                call.lineno,
                operation,
                f"`{ast.unparse(call.func)}(...)` {GUARDED_OPERATIONS[operation]}. {safer}"
                "If it is intended, acknowledge it in this file: "
                f'{ACKNOWLEDGEMENT_NAME} = {{"{operation}": "<why it is safe>"}}',
            )
        )
    for operation in sorted(set(acknowledged) - performed):
        findings.append(
            Finding(
                path,
                1,
                ACKNOWLEDGEMENT_NAME,
                f"acknowledges {operation!r}, which this migration does not perform: "
                "remove the entry",
            )
        )
    return sorted(findings, key=lambda finding: finding.line)


def check_file(path: Path, *, postgresql: bool) -> list[Finding]:
    return check_source(path.read_text(encoding="utf-8"), path, postgresql=postgresql)


def migration_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.py") if p.name != "__init__.py"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no such migration file or directory: {path}")
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("paths", nargs="+", type=Path, help="migration files or directories")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="also refuse create_index without postgresql_concurrently=True",
    )
    arguments = parser.parse_args(argv)
    try:
        files = migration_files(arguments.paths)
    except FileNotFoundError as missing:
        parser.error(str(missing))
    findings = [
        finding for path in files for finding in check_file(path, postgresql=arguments.postgresql)
    ]
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings:
        print(
            f"migration guard: {len(findings)} problem(s) in {len(files)} migration(s)",
            file=sys.stderr,
        )
        return 1
    print(f"migration guard: {len(files)} migration(s), every guarded operation acknowledged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
