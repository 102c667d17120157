"""Search: accent- and case-blind, partial words, ordered by distance from a place."""

from __future__ import annotations

import pytest
import sqlite_utils

from field_app.directory.search import fts_query, resolve_place, search
from field_app.domain.geo import haversine_km
from field_app.errors import NotFound


@pytest.mark.parametrize("text", ["senou", "SENOU", "Sénou", "sÉnOu"])
def test_accent_and_case_blind(built_db: sqlite_utils.Database, text: str) -> None:
    hits = search(built_db, text, limit=None)
    assert hits and all(h.organization_id == "cfp-senou" for h in hits[:3])


def test_word_inside_a_hyphenated_name(built_db: sqlite_utils.Database) -> None:
    names = {h.service for h in search(built_db, "menuiserie", limit=None)}
    assert "Menuiserie-bois" in names


def test_partial_words(built_db: sqlite_utils.Database) -> None:
    full = {h.service_id for h in search(built_db, "menuiserie", limit=None)}
    partial = {h.service_id for h in search(built_db, "menuis", limit=None)}
    assert full and full <= partial


def test_all_words_must_match(built_db: sqlite_utils.Database) -> None:
    def ids(text: str) -> set[str]:
        return {h.service_id for h in search(built_db, text, limit=None)}

    both = ids("couture kayes")
    assert both and both == ids("couture") & ids("kayes")
    assert both < ids("couture")


def test_nothing_found(built_db: sqlite_utils.Database) -> None:
    assert search(built_db, "zzzzqqq") == []


def test_quotes_and_operators_are_only_text(built_db: sqlite_utils.Database) -> None:
    assert fts_query('a "b" OR c*') == '"a"* AND "b"* AND "or"* AND "c"*'
    search(built_db, 'NEAR( "x" OR ) *')  # must not raise an FTS syntax error


def test_near_place_orders_by_distance(built_db: sqlite_utils.Database) -> None:
    kayes = resolve_place(built_db, "kayes")
    hits = search(built_db, "", near=(kayes.latitude, kayes.longitude), limit=None)
    distances = [h.distance_km for h in hits if h.distance_km is not None]
    assert distances == sorted(distances)
    assert hits[0].town == "Kayes" and hits[0].distance_km == 0.0
    assert all(h.distance_km is None for h in hits[len(distances) :])  # no office: last


def test_distances_are_real_kilometres(built_db: sqlite_utils.Database) -> None:
    markala = resolve_place(built_db, "Markala")
    hits = search(built_db, "", near=(markala.latitude, markala.longitude), limit=None)
    assert hits[0].organization_id == "cfp-markala"
    bamako_hit = next(h for h in hits if h.town == "Bamako")
    bamako = resolve_place(built_db, "Bamako")
    expected = haversine_km(markala.latitude, markala.longitude, bamako.latitude, bamako.longitude)
    assert bamako_hit.distance_km == pytest.approx(expected, abs=0.1)
    assert 200 < expected < 260


def test_place_names_resolve_accent_blind(built_db: sqlite_utils.Database) -> None:
    assert resolve_place(built_db, "segou").name == "Ségou"
    assert resolve_place(built_db, "Timbuktu").name == "Tombouctou"
    assert resolve_place(built_db, "senou").id == "bamako-senou"
    with pytest.raises(NotFound):
        resolve_place(built_db, "Paris")
