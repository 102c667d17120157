"""Search the local directory: accent- and case-blind full text (FTS5), partial words, ordered by distance.

`senou` finds Sénou, `menuiserie` finds Menuiserie-bois, `menuis` finds both. With a point of reference, the
nearest office of each service gives its distance; services with no office (national coverage) come last.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from field_app.domain.geo import fold, haversine_km
from field_app.domain.vocabulary import REGION_NAMES, Region
from field_app.errors import NotFound
from field_app.i18n import _


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    region: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class SearchHit:
    service_id: str
    organization_id: str
    organization: str
    service: str
    pathway: str
    category: str
    status: str
    town: str | None
    region: str | None
    distance_km: float | None

    def as_json(self, with_distance: bool) -> dict[str, Any]:
        data = asdict(self)
        if not with_distance:
            data.pop("distance_km")
        return data


def fts_query(text: str) -> str | None:
    """FTS5 MATCH expression: every folded word as a quoted prefix, all required. None when nothing to search."""
    words = fold(text).split()
    return " AND ".join(f'"{w}"*' for w in words) or None


def resolve_place(db: sqlite_utils.Database, name: str) -> Place:
    """A gazetteer locality by id, name or alternate name (accent/case-blind); exact match before prefix."""
    wanted = fold(name)
    rows = list(db.query("SELECT id, name, region, latitude, longitude, alternate_names, kind FROM localities"))
    rank = {"region_capital": 0, "cercle_capital": 1, "town": 2, "neighbourhood": 3, "village": 4}

    def names(row: dict[str, Any]) -> list[str]:
        return [fold(row["id"]), fold(row["name"]), *(fold(n) for n in json.loads(row["alternate_names"]))]

    for prefix in (False, True):
        found = [r for r in rows if any(n.startswith(wanted) if prefix else n == wanted for n in names(r))]
        if found and wanted:
            best = min(found, key=lambda r: (rank.get(r["kind"], 9), r["name"]))
            return Place(best["id"], best["name"], best["region"], best["latitude"], best["longitude"])
    raise NotFound(_("unknown place: {name}").format(name=name))


def search(
    db: sqlite_utils.Database,
    text: str | None = None,
    *,
    near: tuple[float, float] | None = None,
    limit: int | None = 50,
) -> list[SearchHit]:
    """Services matching `text` (all when empty), nearest first when `near` is given, else best match first."""
    query = fts_query(text or "")
    if query:
        ranked = [
            r["service_id"]
            for r in db.query(
                "SELECT service_id FROM services_fts WHERE services_fts MATCH ? "
                "ORDER BY bm25(services_fts, 0, 10, 5, 3, 1)",
                [query],
            )
        ]
    else:
        ranked = [  # no text: services people can join first, donor programmes last
            r["id"]
            for r in db.query(
                "SELECT s.id FROM services s JOIN organizations o ON o.id = s.organization_id "
                "ORDER BY o.kind = 'donor_programme', s.status != 'active', o.name, s.rowid"
            )
        ]
    if not ranked:
        return []
    order = {sid: i for i, sid in enumerate(ranked)}
    services = {
        r["id"]: r
        for r in db.query(
            "SELECT s.id, s.organization_id, s.name, s.pathway, s.category, s.status, s.service_area, o.name AS org "
            "FROM services s JOIN organizations o ON o.id = s.organization_id"
        )
        if r["id"] in order
    }
    offices: dict[str, list[dict[str, Any]]] = {}
    for r in db.query(
        "SELECT sl.service_id, l.region, l.latitude, l.longitude, loc.name AS town FROM service_locations sl "
        "JOIN locations l ON l.id = sl.location_id JOIN localities loc ON loc.id = l.locality_id"
    ):
        if r["service_id"] in order:
            offices.setdefault(r["service_id"], []).append(r)
    hits = [_hit(services[sid], offices.get(sid, []), near) for sid in ranked if sid in services]
    if near is not None:
        hits.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, order[h.service_id]))
    return hits[:limit] if limit else hits


def _hit(row: dict[str, Any], offices: list[dict[str, Any]], near: tuple[float, float] | None) -> SearchHit:
    distance: float | None = None
    town: str | None = None
    region: str | None = None
    if offices:
        best = offices[0]
        if near is not None:
            best = min(offices, key=lambda o: haversine_km(near[0], near[1], o["latitude"], o["longitude"]))
            distance = round(haversine_km(near[0], near[1], best["latitude"], best["longitude"]), 1)
        town, region = best["town"], REGION_NAMES[Region(best["region"])]
    elif row["service_area"]:
        area = json.loads(row["service_area"])
        region = (
            "national" if area["scope"] == "national" else ", ".join(REGION_NAMES[Region(r)] for r in area["regions"])
        )
    return SearchHit(
        service_id=row["id"],
        organization_id=row["organization_id"],
        organization=row["org"],
        service=row["name"],
        pathway=row["pathway"],
        category=row["category"],
        status=row["status"],
        town=town,
        region=region,
        distance_km=distance,
    )
