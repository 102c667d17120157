"""Search the local directory: accent- and case-blind full text (FTS5), partial words, ordered by distance.

`senou` finds Sénou, `menuiserie` finds Menuiserie-bois, `menuis` finds both. With a point of reference, the
nearest office of each service gives its distance; services with no office (national coverage) come last.

Order: with text, best match first (FTS5 bm25: service name ×10, organisation ×5, places ×3, details ×1; then
the row's order in the index); without text, the services people can join first — organisations that are not
donor programmes, then active services, then organisation name, then the order they were loaded in. With a point
of reference, by distance to the nearest office (to 0.1 km), that order breaking ties.

Why it is fast (bench/search.py; at 10,000 services it read every service and office on each call, 150–454 ms):
it reads only the services it returns, and about as many more, through the indexes of migrations 1 and 3.

* Text, no point: FTS5 ranks the matches and SQLite keeps the best `limit` of them.
* No text, no point: organisations are walked in that order (a few hundred rows), and the services of the first
  few read by `services_organization` until `limit` are found.
* A point: office positions are gazetteer places (a hundred or so); they are walked nearest first, the services
  at each read from `service_offices_position`, until `limit` services are met (only then are they ranked
  among themselves: all of a town's services share a distance). A word matching few services starts from the
  full-text index instead and reads their offices by `service_offices_doc`. Services without an office, last,
  are read only if too few with one matched.

`today`, when given, is the day the statuses are stated for (`domain.directory.status_on`: past its end date a
service has ended, before its start it is planned): the status shown and the "active first" order follow it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from field_app.domain.directory import status_on
from field_app.domain.geo import fold, haversine_km
from field_app.domain.vocabulary import REGION_NAMES, Region, ServiceStatus
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


# ---------------------------------------------------------------------------------------------------------------
# The query

_BM25 = "bm25(services_fts, 0, 10, 5, 3, 1)"  # service_id (unindexed), service, organization, places, details
_FEW_MATCHES = 2000  # a word matching at most this many services near a point: start from them, not the offices


def _ids(values: Sequence[Any]) -> str:
    """A list for `IN (SELECT value FROM json_each(?))`: one parameter however many values."""
    return json.dumps(list(values))


def _active_sql(today: dt.date | None) -> tuple[str, list[str]]:
    """SQL true when service `s` is active (on `today` when given, as `status_on` says), and its parameters."""
    if today is None:
        return "s.status = 'active'", []
    day = today.isoformat()
    return (
        "(s.status = 'active' AND (s.end_date IS NULL OR s.end_date >= ?) "
        "AND (s.start_date IS NULL OR s.start_date <= ?))",
        [day, day],
    )


class _Ranking:
    """The order of services at one distance (or without one): best match for a text, else "joinable" first."""

    def __init__(self, db: sqlite_utils.Database, query: str | None, today: dt.date | None) -> None:
        self.db, self.query, self.today = db, query, today

    def keys(self, candidates: Sequence[tuple[str, int]]) -> dict[str, tuple[Any, ...]]:
        """The sort key of each (service id, full-text row) candidate; with a text, only those that match it."""
        if not candidates:
            return {}
        if self.query is not None:
            by_doc = {doc: sid for sid, doc in candidates}
            # `+rowid`: a filter on the matches, not one full-text lookup per candidate (which reads the whole
            # index each time to weigh the words).
            rows = self.db.execute(
                f"SELECT rowid, {_BM25} FROM services_fts WHERE services_fts MATCH ? "
                "AND +rowid IN (SELECT value FROM json_each(?))",
                [self.query, _ids(list(by_doc))],
            )
            return {by_doc[doc]: (score, doc) for doc, score in rows}
        active, params = _active_sql(self.today)
        rows = self.db.execute(
            f"SELECT s.id, o.kind = 'donor_programme', NOT {active}, o.name, s.rowid FROM services s "
            "JOIN organizations o ON o.id = s.organization_id WHERE s.id IN (SELECT value FROM json_each(?))",
            [*params, _ids([sid for sid, doc in candidates])],
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def _best_matches(db: sqlite_utils.Database, query: str, limit: int | None) -> list[str]:
    """Services matching `query`, best first (SQLite keeps only the best `limit` while ranking)."""
    sql = f"SELECT service_id FROM services_fts WHERE services_fts MATCH ? ORDER BY {_BM25}, rowid"
    params: list[Any] = [query]
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return [r[0] for r in db.execute(sql, params)]


def _joinable_first(db: sqlite_utils.Database, today: dt.date | None, limit: int | None) -> list[str]:
    """No text, no point: the first `limit` services in the "joinable first" order, organisation by organisation.

    Organisations come from `organizations_search_order` (donor programmes last, then by name; migration 13),
    read only as far as needed; for each part (not donors / donors) and each state (active, then not), the
    services of a few organisations at a time are read by `services_organization` and sorted (name, load
    order): a batch always ends with a change of name, so batches never interleave."""
    active, params = _active_sql(today)
    out: list[str] = []
    for donors in (False, True):
        for joinable in (True, False):
            orgs = db.execute(
                "SELECT id, name FROM organizations WHERE (kind = 'donor_programme') = ? ORDER BY name", [donors]
            )
            for batch in _batches(orgs, 16):
                rows = db.execute(
                    "SELECT s.id, o.name, s.rowid FROM services s JOIN organizations o ON o.id = s.organization_id "
                    f"WHERE s.organization_id IN (SELECT value FROM json_each(?)) AND ({active}) = ?",
                    [_ids([org_id for org_id, name in batch]), *params, joinable],
                ).fetchall()
                out.extend(r[0] for r in sorted(rows, key=lambda r: (r[1], r[2])))
                if limit and len(out) >= limit:
                    orgs.close()
                    return out[:limit]
    return out


def _batches(orgs: Iterator[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    """Consecutive runs of about `size` organisations (sorted by name), each ending where the name changes;
    the batches grow (few services are wanted usually: start small, read more only if more are needed)."""
    batch: list[tuple[str, str]] = []
    for org in orgs:
        if len(batch) >= size and org[1] != batch[-1][1]:
            yield batch
            batch, size = [], size * 2
        batch.append(org)
    if batch:
        yield batch


def _positions(db: sqlite_utils.Database, near: tuple[float, float]) -> list[tuple[float, float, float]]:
    """(distance, latitude, longitude) of every distinct office position, nearest first."""
    found = [
        (haversine_km(near[0], near[1], lat, lon), lat, lon)
        for lat, lon in db.execute("SELECT DISTINCT latitude, longitude FROM locations")
    ]
    found.sort()
    return found


def _nearest_first(
    db: sqlite_utils.Database, near: tuple[float, float], ranking: _Ranking, limit: int | None
) -> list[str]:
    """Services with an office, by distance to the nearest (0.1 km) then `ranking`: positions nearest first.

    A service is met first at its nearest position, so its distance is that position's. Candidates are
    collected a distance at a time and ranked once enough are met (with a text: once enough of them match)."""
    out: list[str] = []
    seen: set[str] = set()
    pending: list[tuple[float, str, int]] = []  # (distance, service, full-text row), not ranked yet
    checked = kept = 0  # candidates ranked so far, and how many of them matched the text

    def rank_pending() -> None:
        nonlocal checked, kept
        keys = ranking.keys([(sid, doc) for d, sid, doc in pending])
        out.extend(sid for d, sid, doc in sorted(pending, key=lambda p: (p[0], keys.get(p[1], ()))) if sid in keys)
        checked, kept = checked + len(pending), kept + len(keys)
        pending.clear()

    for rounded, group in itertools.groupby(_positions(db, near), key=lambda p: round(p[0], 1)):
        positions = list(group)
        where = " OR ".join("(latitude = ? AND longitude = ?)" for p in positions)
        rows = db.execute(
            f"SELECT service_id, doc FROM service_offices WHERE {where}",
            [v for d, lat, lon in positions for v in (lat, lon)],
        )
        for sid, doc in rows:
            if sid not in seen:
                seen.add(sid)
                pending.append((rounded, sid, doc))
        share = (kept + 1) / (checked + 1)  # of candidates matching the text (all of them without one)
        if limit and len(pending) * share >= limit - len(out):
            rank_pending()
            if len(out) >= limit:
                return out[:limit]
    rank_pending()
    return out


def _few_near(
    db: sqlite_utils.Database, near: tuple[float, float], ranked: Sequence[tuple[str, int]]
) -> tuple[list[str], list[str]]:
    """A word matching few services (`ranked`, best first): (those with an office by distance, those without)."""
    order = {sid: index for index, (sid, doc) in enumerate(ranked)}
    distance: dict[tuple[float, float], float] = {}
    best: dict[str, float] = {}
    for sid, lat, lon in db.execute(
        "SELECT service_id, latitude, longitude FROM service_offices WHERE doc IN (SELECT value FROM json_each(?))",
        [_ids([doc for sid, doc in ranked])],
    ):
        d = distance.get((lat, lon))
        if d is None:
            d = distance[(lat, lon)] = haversine_km(near[0], near[1], lat, lon)
        if sid not in best or d < best[sid]:
            best[sid] = d
    with_office = sorted(best, key=lambda sid: (round(best[sid], 1), order[sid]))
    return with_office, [sid for sid, doc in ranked if sid not in best]


def _office_less(db: sqlite_utils.Database, ranking: _Ranking, limit: int | None) -> list[str]:
    """Services without an office (matching the text, if any), in `ranking` order."""
    if ranking.query is not None:
        sql = (
            f"SELECT service_id FROM services_fts WHERE services_fts MATCH ? "
            f"AND +rowid NOT IN (SELECT doc FROM service_offices) ORDER BY {_BM25}, rowid"
        )
        params: list[Any] = [ranking.query]
    else:
        active, params = _active_sql(ranking.today)
        sql = (
            "SELECT s.id FROM services s JOIN organizations o ON o.id = s.organization_id "
            "WHERE NOT EXISTS (SELECT 1 FROM service_offices x WHERE x.service_id = s.id) "
            f"ORDER BY o.kind = 'donor_programme', NOT {active}, o.name, s.rowid"
        )
    if limit:
        sql += " LIMIT ?"
        params = [*params, limit]
    return [r[0] for r in db.execute(sql, params)]


def search(
    db: sqlite_utils.Database,
    text: str | None = None,
    *,
    near: tuple[float, float] | None = None,
    limit: int | None = 50,
    today: dt.date | None = None,
) -> list[SearchHit]:
    """Services matching `text` (all when empty), nearest first when `near` is given, else best match first.

    `limit` None (or 0): every one. `today`: the day statuses are stated for (the recorded status when None)."""
    query = fts_query(text or "")
    ranking = _Ranking(db, query, today)
    ids: list[str]
    if near is None:
        ids = _best_matches(db, query, limit) if query else _joinable_first(db, today, limit)
    else:
        few = None
        if query:
            probe = db.execute(
                "SELECT rowid FROM services_fts WHERE services_fts MATCH ? LIMIT ?", [query, _FEW_MATCHES + 1]
            ).fetchall()
            if len(probe) <= _FEW_MATCHES:
                few = db.execute(
                    f"SELECT service_id, rowid FROM services_fts WHERE services_fts MATCH ? ORDER BY {_BM25}, rowid",
                    [query],
                ).fetchall()
        if few is not None:
            ids, office_less = _few_near(db, near, few)
            ids += office_less
        else:
            ids = _nearest_first(db, near, ranking, limit)
            if not limit or len(ids) < limit:
                ids += _office_less(db, ranking, limit - len(ids) if limit else None)
    if limit:
        ids = ids[:limit]
    return _hits(db, ids, near, today)


def _hits(
    db: sqlite_utils.Database, ids: Sequence[str], near: tuple[float, float] | None, today: dt.date | None
) -> list[SearchHit]:
    """The hits for `ids`, in that order: each service's row and its offices (in the order they were listed)."""
    if not ids:
        return []
    dates = ", s.start_date, s.end_date" if today is not None else ""
    services = {
        r["id"]: r
        for r in db.query(
            "SELECT s.id, s.organization_id, s.name, s.pathway, s.category, s.status, s.service_area, "
            f"o.name AS org{dates} FROM services s JOIN organizations o ON o.id = s.organization_id "
            "WHERE s.id IN (SELECT value FROM json_each(?))",
            [_ids(ids)],
        )
    }
    offices: dict[str, list[dict[str, Any]]] = {}
    for r in db.query(
        "SELECT sl.service_id, l.region, l.latitude, l.longitude, loc.name AS town FROM service_locations sl "
        "JOIN locations l ON l.id = sl.location_id JOIN localities loc ON loc.id = l.locality_id "
        "WHERE sl.service_id IN (SELECT value FROM json_each(?)) ORDER BY sl.rowid",
        [_ids(ids)],
    ):
        offices.setdefault(r["service_id"], []).append(r)
    return [_hit(services[sid], offices.get(sid, []), near, today) for sid in ids if sid in services]


def _status(row: dict[str, Any], today: dt.date | None) -> str:
    if today is None:
        return str(row["status"])
    start = dt.date.fromisoformat(row["start_date"]) if row["start_date"] else None
    end = dt.date.fromisoformat(row["end_date"]) if row["end_date"] else None
    return status_on(ServiceStatus(row["status"]), start, end, today).value


def _hit(
    row: dict[str, Any], offices: list[dict[str, Any]], near: tuple[float, float] | None, today: dt.date | None
) -> SearchHit:
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
        status=_status(row, today),
        town=town,
        region=region,
        distance_km=distance,
    )
