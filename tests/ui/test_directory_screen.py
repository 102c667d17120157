"""The directory screen: the view model driven without Flet, and the Flet view built off-page."""

from __future__ import annotations

from collections.abc import Iterator

import flet as ft
import pytest
import sqlite_utils

from field_app import i18n
from field_app.ui.viewmodels.directory import DirectoryViewModel
from field_app.ui.views.directory import directory_view


@pytest.fixture(autouse=True)
def french() -> Iterator[None]:
    i18n.set_language("fr")
    yield


def test_lists_everything_then_filters(built_db: sqlite_utils.Database) -> None:
    vm = DirectoryViewModel(built_db, limit=1000)
    everything = len(vm.rows)
    vm.set_query("sénou")
    assert 0 < len(vm.rows) < everything
    assert all("Sénou" in r.subtitle or "Senou" in r.subtitle or "Sénou" in r.title for r in vm.rows[:3])
    assert vm.status == f"{len(vm.rows)} services"


def test_near_place_adds_distances_in_order(built_db: sqlite_utils.Database) -> None:
    vm = DirectoryViewModel(built_db)
    assert all(r.distance is None for r in vm.rows)
    vm.set_place("kayes")
    assert vm.rows[0].distance == "0 km"
    assert "Kayes" in vm.rows[0].subtitle
    assert any(p.id == "kayes" for p in vm.places())
    vm.set_place(None)
    assert vm.rows[0].distance is None


def test_nothing_found_says_so(built_db: sqlite_utils.Database) -> None:
    vm = DirectoryViewModel(built_db)
    vm.set_query("xyzzyq")
    assert vm.rows == [] and vm.status == "Aucun service trouvé."


def test_view_handlers_update_the_list(built_db: sqlite_utils.Database) -> None:
    vm = DirectoryViewModel(built_db)
    view = directory_view(vm)
    search = next(c for c in view.controls if isinstance(c, ft.TextField))
    results = next(c for c in view.controls if isinstance(c, ft.ListView))
    before = len(results.controls)
    search.value = "menuiserie"
    assert search.on_change is not None
    search.on_change(ft.Event(name="change", control=search))  # type: ignore[arg-type]
    titles = [tile.title.value for tile in results.controls]  # type: ignore[attr-defined]
    assert "Menuiserie-bois" in titles and len(titles) < before
