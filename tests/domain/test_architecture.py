"""field_app/domain stays pure: no UI, storage, network or clock-reading libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "field_app" / "domain"
FORBIDDEN = {
    "flet", "sqlite_utils", "sqlite3", "httpx", "fastapi", "starlette", "uvicorn", "psycopg", "requests",
    "yaml", "phonenumbers", "socket", "subprocess", "os", "pathlib", "time", "field_app.storage",
    "field_app.directory", "field_app.ui", "field_app.sync", "field_app.hub",
}  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def violations(path: Path) -> list[str]:
    return sorted(
        name for name in imported_modules(path) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    assert violations(path) == []


def test_guard_catches_an_impure_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import flet as ft\nfrom sqlite_utils import Database\nfrom field_app.storage import x\n")
    assert violations(bad) == ["field_app.storage", "flet", "sqlite_utils"]


def test_domain_does_not_read_the_clock() -> None:
    for path in DOMAIN.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "date.today(", "dt.datetime.now(", "dt.date.today(", "time.time("):
            assert call not in text, f"{path.name} reads the clock ({call}): pass time in"
