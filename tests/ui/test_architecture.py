"""Architecture: view models call use cases (never storage, sqlite3 or SQL); one route table drives the router."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from field_app.ui import routes

UI = Path(__file__).resolve().parents[2] / "field_app" / "ui"
VIEWMODELS = sorted((UI / "viewmodels").glob("*.py"))
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.I | re.S)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("path", VIEWMODELS, ids=lambda p: p.name)
def test_view_models_call_use_cases_not_storage_or_sql(path: Path) -> None:
    names = imported(path)
    bad = sorted(n for n in names if n == "sqlite3" or n.startswith(("sqlite3.", "field_app.storage", "flet")))
    assert not bad, f"{path.name} imports {bad}"
    strings = [n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)]
    assert not [s for s in strings if isinstance(s, str) and SQL.search(s)], f"{path.name} holds SQL"
    assert ".execute(" not in path.read_text() and ".query(" not in path.read_text()


def test_view_models_never_import_views_or_routes() -> None:
    for path in VIEWMODELS:
        assert not [n for n in imported(path) if n.startswith(("field_app.ui.views", "field_app.ui.routes"))]


def test_one_route_table_every_screen_reachable_and_named_once() -> None:
    names = [s.name for s in routes.SCREENS]
    assert len(names) == len(set(names))
    assert len({s.path for s in routes.SCREENS}) == len(names)
    sample = {f: f"x-{f}" for f in routes.FIELDS}
    for screen in routes.SCREENS:
        needed = {f: v for f, v in sample.items() if f"{{{f}" in screen.path or f in screen.required}
        route = routes.to_string(routes.Route(screen.name, **needed))
        assert routes.parse(route).name == screen.name, route
        assert routes.to_string(routes.parse(route)) == route
        for role in screen.roles:  # the back stack starts at the role's home and ends on the screen
            chain = routes.stack(routes.parse(route), role)
            tops = {routes.screen_path(n) for n in routes.MENUS[role]} if role != routes.AGENT else set()
            assert chain[0] in {routes.home_of(role)} | tops and chain[-1] == route
    for role, menu in routes.MENUS.items():
        assert all(role in routes.BY_NAME[n].roles and routes.BY_NAME[n].menu for n in menu)
        assert routes.HOMES[role] == menu[0]


def test_the_router_has_no_branch_per_screen() -> None:
    source = (UI / "router.py").read_text()
    tree = ast.parse(source)
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    screen_names = {s.name for s in routes.SCREENS}
    assert not literals & screen_names, f"the router names screens: {literals & screen_names}"
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Match)]
    assert "isinstance(vm" not in source
    screens = {
        n for n in imported(UI / "router.py") if n.startswith(("field_app.ui.viewmodels.", "field_app.ui.views."))
    }
    shared = {"common", "sync", "nearby"}  # building blocks, the session's one sync view model, the locator's type
    assert {n.split(".")[3] for n in screens} <= shared, screens
