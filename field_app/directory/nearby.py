"""Eligible partners nearby: the services around a point, each with this person's verdict, best first.

Order: verdict (eligible, eligible if…, not eligible), then distance to the nearest office (to 0.1 km; services
without an office after those with one), then organisation, service name and id. Services with no office of
their own (programmes covering named regions or all of Mali) are listed when they cover the region in
question, marked "national" or with their regions. Works entirely on the local database.

Why it is fast (bench/nearby.py; at 10,000 services p95 under 2 ms with the default filters, under 5 ms with
a text filter): candidates are met in their final order within each verdict, so the query stops as soon as
`limit` of them are eligible, since nothing met later can rank higher, and reads the services it returns and
about as many more, by primary key. Without text, offices are visited by distinct position, nearest first
(positions are gazetteer places, a hundred or so, bounded by a box on `locations_position`), the services at one
position coming from `service_offices_position` already in name order; services without an office come from
`service_coverage` by region, in name order. A text filter matching few services leads from the full-text
index to their offices (`doc`). Without a position, `service_offices_name` walks the directory by name. A rule
set is assessed once per query. Migration 3 creates these tables; `build_directory` keeps them in step.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import math
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlite_utils

from field_app.directory.search import fts_query
from field_app.domain.directory import Eligibility, ServiceArea
from field_app.domain.eligibility import Profile, Status, Verdict, assess
from field_app.domain.geo import EARTH_RADIUS_KM, haversine_km
from field_app.domain.vocabulary import REGION_NAMES, Region, ServiceStatus

DEFAULT_RADIUS_KM = 150.0


@dataclass(frozen=True)
class Filters:
    pathway: str | None = None
    text: str | None = None  # a training field or sector, searched like the directory search
    free_only: bool = False
    eligible_only: bool = False  # hides "not eligible" (keeps "eligible if…": one document away)
    radius_km: float | None = DEFAULT_RADIUS_KM  # None: all of Mali


@dataclass(frozen=True)
class NearbyHit:
    service_id: str
    organization_id: str
    organization: str
    service: str
    pathway: str
    category: str
    verdict: Verdict
    distance_km: float | None  # to the nearest office; None when the service has no office
    town: str | None
    coverage: str | None  # "national", or region names, for services without an office
    free: bool
    fee_min: int | None  # lowest fee in FCFA when the source gives one


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing every point within `radius_km` of (lat, lon).

    Exact for the sphere of `haversine_km` (the widest longitude span is not at the centre's latitude), with a
    hair of margin for rounding, so that the box never drops an office the exact distance would keep.
    """
    angle = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-6
    if abs(lat) + dlat >= 90.0:  # the circle reaches a pole: every longitude
        return lat - dlat, lat + dlat, -180.0, 180.0
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat))))) + 1e-6
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


@lru_cache(maxsize=4096)
def _eligibility(text: str) -> Eligibility:
    return Eligibility.model_validate_json(text)


@lru_cache(maxsize=4096)
def _area(text: str | None) -> ServiceArea | None:
    return ServiceArea.model_validate_json(text) if text else None


@lru_cache(maxsize=4096)
def _fees(text: str) -> tuple[bool, int | None]:
    """(free, lowest fee) from a costs column: free when every cost option stated is 0 FCFA."""
    costs = json.loads(text)
    amounts = [c["amount"] for c in costs if c.get("amount") is not None]
    tops = [c.get("amount_max") or c["amount"] for c in costs if c.get("amount") is not None]
    return (bool(tops) and max(tops) == 0, min(amounts) if amounts else None)


# A candidate, met in final order within its verdict: (service id, its nearest office or None, distance to it
# rounded to 0.1 km or None, whether it has an office at all).
_Candidate = tuple[str, str | None, float | None, bool]
_FEW_MATCHES = 5000  # a text filter matching at most this many services: start from them, not from the offices
_MATCHED = "SELECT rowid FROM services_fts WHERE services_fts MATCH ?"
_SERVICE = (
    "SELECT s.id, s.organization_id, o.name, s.name, s.pathway, s.category, s.status, s.service_area, "
    "s.eligibility, s.costs FROM services s JOIN organizations o ON o.id = s.organization_id "
    "WHERE s.id IN (SELECT value FROM json_each(?))"
)
_TOWNS = (
    "SELECT l.id, loc.name FROM locations l JOIN localities loc ON loc.id = l.locality_id "
    "WHERE l.id IN (SELECT value FROM json_each(?))"
)


@dataclass
class _Collector:
    """Assesses candidates met in final order (within a verdict) and keeps the hits; knows when to stop."""

    profile: Profile
    filters: Filters
    limit: int | None
    hits: list[NearbyHit] = field(default_factory=list)
    eligible: int = 0
    verdicts: dict[tuple[str, str, str | None], Verdict] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        """True once `limit` services are eligible: every candidate met later ranks after them."""
        return self.limit is not None and self.limit > 0 and self.eligible >= self.limit

    def consume(self, db: sqlite_utils.Database, candidates: Generator[_Candidate]) -> None:
        """Assess candidates until they run out or enough are eligible, reading services by key in chunks."""
        with contextlib.closing(candidates):  # an unfinished walk releases its statement now
            met = 0
            while not self.full:
                chunk = list(itertools.islice(candidates, self._chunk_size(met)))
                if not chunk:
                    return
                met += len(chunk)
                rows = {r[0]: r for r in db.execute(_SERVICE, [json.dumps([c[0] for c in chunk])])}
                offices = [c[1] for c in chunk if c[1] is not None]
                towns = dict(db.execute(_TOWNS, [json.dumps(offices)]).fetchall()) if offices else {}
                for sid, location_id, distance, has_office in chunk:
                    row = rows[sid]
                    town = towns[location_id] if location_id is not None else None
                    self.consider(row, distance, town, None if has_office else _coverage(row[7]))
                    if self.full:
                        return

    def _chunk_size(self, met: int) -> int:
        """About as many candidates as should still be needed, at the eligible share seen so far."""
        if self.limit is None or self.limit <= 0:
            return 512
        share = (self.eligible + 1) / (met + 2)
        return max(16, min(1024, int((self.limit - self.eligible) / share) + 8))

    def consider(self, row: Sequence[Any], distance: float | None, town: str | None, coverage: str | None) -> None:
        sid, org_id, org, name, pathway, category, status, area_text, rules, costs = row
        free, fee_min = _fees(costs)
        if self.filters.free_only and not free:
            return
        key = (rules, status, area_text)  # a verdict depends on nothing else (the profile is fixed)
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = assess(self.profile, _eligibility(rules), ServiceStatus(status), _area(area_text))
            self.verdicts[key] = verdict
        if self.filters.eligible_only and verdict.status is Status.NOT_ELIGIBLE:
            return
        self.hits.append(
            NearbyHit(
                service_id=sid,
                organization_id=org_id,
                organization=org,
                service=name,
                pathway=pathway,
                category=category,
                verdict=verdict,
                distance_km=distance,
                town=town,
                coverage=coverage,
                free=free,
                fee_min=fee_min,
            )
        )
        if verdict.status is Status.ELIGIBLE:
            self.eligible += 1


def _coverage(area_text: str | None) -> str | None:
    area = _area(area_text)
    if area is None:
        return None
    return "national" if area.scope == "national" else ", ".join(REGION_NAMES[r] for r in area.regions)


def _positions(
    db: sqlite_utils.Database, near: tuple[float, float], radius_km: float | None
) -> list[tuple[float, float, float]]:
    """(distance, latitude, longitude) of every distinct office position within the radius, nearest first."""
    sql = "SELECT DISTINCT latitude, longitude FROM locations"
    params: list[float] = []
    if radius_km is not None:
        sql += " WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?"
        params = list(bounding_box(near[0], near[1], radius_km))
    found = []
    for lat, lon in db.execute(sql, params):
        distance = haversine_km(near[0], near[1], lat, lon)
        if radius_km is None or distance <= radius_km:
            found.append((distance, lat, lon))
    found.sort()
    return found


def _by_position(
    db: sqlite_utils.Database,
    near: tuple[float, float],
    radius_km: float | None,
    pathway: str | None,
    docs: set[int] | None = None,
) -> Generator[_Candidate]:
    """Services with an office within the radius, nearest first, by name at the same distance (to 0.1 km).

    Each comes once, at its nearest office (the first listed on a tie). One position at a time: the services
    there come from `service_offices_position` already in name order, read only as far as needed. `docs`
    keeps only the services with those rows in services_fts (a text filter).
    """
    seen: set[str] = set()
    extra, params = (" AND pathway = ?", [pathway]) if pathway else ("", [])
    for rounded, group in itertools.groupby(_positions(db, near, radius_km), key=lambda p: round(p[0], 1)):
        positions = list(group)
        if len(positions) == 1:
            _, lat, lon = positions[0]
            rows = db.execute(
                "SELECT service_id, location_id, doc FROM service_offices WHERE latitude = ? AND longitude = ?"
                f"{extra} ORDER BY organization, service, service_id, listed",
                [lat, lon, *params],
            )
            for sid, location_id, doc in rows:
                if sid not in seen and (docs is None or doc in docs):
                    seen.add(sid)
                    yield sid, location_id, rounded, True
            continue
        distance = {(lat, lon): d for d, lat, lon in positions}  # several positions at the same rounded distance
        where = " OR ".join("(latitude = ? AND longitude = ?)" for _ in positions)
        rows = db.execute(
            f"SELECT service_id, location_id, latitude, longitude, listed, doc FROM service_offices WHERE ({where})"
            f"{extra} ORDER BY organization, service, service_id",
            [v for _, lat, lon in positions for v in (lat, lon)] + params,
        )
        for sid, offices in itertools.groupby(rows, key=lambda r: r[0]):
            best = min(offices, key=lambda r: (distance[(r[2], r[3])], r[4]))
            if sid not in seen and (docs is None or best[5] in docs):
                seen.add(sid)
                yield sid, best[1], rounded, True


def _covering(
    db: sqlite_utils.Database, region: Region | None, pathway: str | None
) -> Iterable[tuple[str, str, str, int]]:
    """(organisation, service, id, doc) of the services without an office covering `region` (any region when
    None), by name, each once."""
    extra, params = (" AND pathway = ?", [pathway]) if pathway else ("", [])
    if region is None:
        return db.execute(
            f"SELECT DISTINCT organization, service, service_id, doc FROM service_coverage WHERE 1{extra} "
            "ORDER BY organization, service, service_id",
            params,
        )
    sql = (  # two walks of the primary key, merged: national programmes and the region's own
        f"SELECT organization, service, service_id, doc FROM service_coverage WHERE region = ?{extra} "
        "ORDER BY organization, service, service_id"
    )
    return heapq.merge(db.execute(sql, ["national", *params]), db.execute(sql, [region.value, *params]))


def _office_less(
    db: sqlite_utils.Database, region: Region | None, pathway: str | None, docs: set[int] | None = None
) -> Generator[_Candidate]:
    """Services without an office covering `region`, by name; `docs` as for `_by_position`."""
    for _, _, sid, doc in _covering(db, region, pathway):
        if docs is None or doc in docs:
            yield sid, None, None, False


def _everywhere(
    db: sqlite_utils.Database, region: Region | None, pathway: str | None, query: str | None
) -> Generator[_Candidate]:
    """No point of reference: every service with an office (at its first listed one) and those without one that
    cover `region`, all without a distance, so mixed, by name; only those matching `query` (FTS) if given."""
    extra, params = (" AND pathway = ?", [pathway]) if pathway else ("", [])
    rows: Iterable[tuple[str, str, str, str | None]]
    if query:  # few: sorted by SQLite
        covered = "" if region is None else " AND region IN ('national', ?)"
        rows = db.execute(
            "SELECT organization, service, service_id, location_id, listed FROM service_offices "
            f"WHERE doc IN ({_MATCHED}){extra} UNION ALL "
            "SELECT organization, service, service_id, NULL, -1 FROM service_coverage "
            f"WHERE doc IN ({_MATCHED}){covered}{extra} ORDER BY 1, 2, 3, 5",
            [query, *params, query] + ([region.value] if region is not None else []) + params,
        )
    else:  # the whole directory, walked in name order (`service_offices_name`), read only as far as needed
        offices = db.execute(
            f"SELECT organization, service, service_id, location_id FROM service_offices WHERE 1{extra} "
            "ORDER BY organization, service, service_id, listed",
            params,
        )
        office_less = ((org, name, sid, None) for org, name, sid, _ in _covering(db, region, pathway))
        rows = heapq.merge(offices, office_less, key=lambda r: r[:3])
    for sid, found in itertools.groupby(rows, key=lambda r: r[2]):
        location_id = next(found)[3]  # the first listed office
        yield sid, location_id, None, location_id is not None


def _matching(
    db: sqlite_utils.Database, query: str, near: tuple[float, float], filters: Filters, region: Region | None
) -> Generator[_Candidate]:
    """With a text filter matching few services: from the full-text index to their offices in the radius (not
    the other way round), nearest office of each, ordered here."""
    distance = {(lat, lon): d for d, lat, lon in _positions(db, near, filters.radius_km)}
    sql = (
        "SELECT o.service_id, o.location_id, o.listed, o.latitude, o.longitude, o.organization, o.service "
        f"FROM ({_MATCHED}) m CROSS JOIN service_offices o ON o.doc = m.rowid"
    )
    params: list[Any] = [query]
    if filters.radius_km is not None:
        sql += " WHERE o.latitude BETWEEN ? AND ? AND o.longitude BETWEEN ? AND ?"
        params += bounding_box(near[0], near[1], filters.radius_km)
    if filters.pathway:
        sql += f" {'AND' if filters.radius_km is not None else 'WHERE'} o.pathway = ?"
        params.append(filters.pathway)
    best: dict[str, tuple[float, int, str, str, str]] = {}  # service → (distance, listed, office, org, name)
    for sid, location_id, listed, lat, lon, org, name in db.execute(sql, params):
        d = distance.get((lat, lon))
        if d is None:  # beyond the radius
            continue
        if sid not in best or (d, listed) < best[sid][:2]:
            best[sid] = (d, listed, location_id, org, name)
    ranked = sorted((round(d, 1), org, name, sid, office) for sid, (d, _, office, org, name) in best.items())
    for rounded, _, _, sid, office in ranked:
        yield sid, office, rounded, True
    covered, params = ("", []) if region is None else (" AND c.region IN ('national', ?)", [region.value])
    if filters.pathway:
        covered += " AND c.pathway = ?"
        params.append(filters.pathway)
    for _, _, sid in db.execute(
        f"SELECT DISTINCT c.organization, c.service, c.service_id FROM ({_MATCHED}) m "
        f"CROSS JOIN service_coverage c ON c.doc = m.rowid WHERE 1{covered} ORDER BY 1, 2, 3",
        [query, *params],
    ):
        yield sid, None, None, False


def nearby(
    db: sqlite_utils.Database,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters = Filters(),
    *,
    region: Region | None = None,
    limit: int | None = 50,
) -> list[NearbyHit]:
    """Services near `near` (anywhere when None) for `profile`, best verdict first, then nearest.

    Services without an office are included when they cover `region` (default: the person's region).
    """
    region = region or profile.region
    collector = _Collector(profile, filters, limit)
    query = fts_query(filters.text or "")
    if near is None:
        collector.consume(db, _everywhere(db, region, filters.pathway, query))
    elif query is None:
        collector.consume(db, _by_position(db, near, filters.radius_km, filters.pathway))
        collector.consume(db, _office_less(db, region, filters.pathway))
    elif db.execute(f"SELECT count(*) FROM ({_MATCHED})", [query]).fetchone()[0] <= _FEW_MATCHES:
        collector.consume(db, _matching(db, query, near, filters, region))
    else:  # a broad word: walk outwards as without text, skipping what it does not match
        docs = {r[0] for r in db.execute(_MATCHED, [query])}
        collector.consume(db, _by_position(db, near, filters.radius_km, filters.pathway, docs))
        collector.consume(db, _office_less(db, region, filters.pathway, docs))
    hits = sorted(collector.hits, key=_rank)
    return hits[:limit] if limit else hits


def _rank(hit: NearbyHit) -> tuple[Status, bool, float, str, str, str]:
    """The order of results: verdict, services with an office first, nearest, organisation, service, id."""
    return (
        hit.verdict.status,
        hit.distance_km is None,
        hit.distance_km or 0.0,
        hit.organization,
        hit.service,
        hit.service_id,
    )
