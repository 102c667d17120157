"""The command line is a door, like the screens: each module parses, calls a use case and prints.

So no command module reads or writes storage itself (no repository, outbox or sync-state module, no sqlite3, no
SQL): only the data directory's location (`storage.paths`) and opening the database (`storage.database`) are
allowed. Every group is a module of field_app/cli with `COMMANDS`, `add_parsers` and `run`, listed in GROUPS.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from field_app import cli

CLI = Path(cli.__file__).resolve().parent
ALLOWED_STORAGE = {"field_app.storage.paths", "field_app.storage.database"}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE | re.DOTALL)


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "field_app.storage":
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from field_app.storage import outbox`
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def storage_reach(path: Path) -> list[str]:
    found = imports(path)
    bad = [n for n in found if n.startswith("field_app.storage") and n not in ALLOWED_STORAGE]
    bad += [n for n in found if n == "sqlite3"]
    strings = [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Constant)]
    bad += [f"SQL: {s[:40]}" for s in strings if isinstance(s, str) and SQL.search(s)]
    return sorted(bad)


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_command_modules_reach_storage_only_through_use_cases(path: Path) -> None:
    assert storage_reach(path) == []


def test_the_guard_catches_a_repository_import_and_sql(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from field_app.storage import outbox\nimport sqlite3\nQ = 'SELECT id FROM referrals WHERE x = 1'\n"
    )
    assert storage_reach(sneaky) == [
        "SQL: SELECT id FROM referrals WHERE x = 1",
        "field_app.storage.outbox",
        "sqlite3",
    ]


def test_every_command_group_is_listed() -> None:
    modules = {p.stem for p in CLI.glob("*.py")} - {"__init__", "common"}
    assert {g.__name__.rsplit(".", 1)[1] for g in cli.GROUPS} == modules
    for group in cli.GROUPS:
        assert group.COMMANDS and callable(group.add_parsers) and callable(group.run)
