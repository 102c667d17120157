"""Eligible partners nearby: the services around a point, each with this person's verdict, best first.

Offices come from a bounding box on the `locations_position` index (no full scan), then the exact distance
decides. Services with no office of their own (programmes covering named regions or all of Mali) are listed
when they cover the region in question, marked "national" or with their regions. Order: verdict (eligible,
eligible if…, not eligible), then distance, then name. Works entirely on the local database.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlite_utils

from field_app.directory.search import fts_query
from field_app.domain.directory import Eligibility, ServiceArea
from field_app.domain.eligibility import Profile, Status, Verdict, assess
from field_app.domain.geo import haversine_km
from field_app.domain.vocabulary import REGION_NAMES, Region, ServiceStatus

DEFAULT_RADIUS_KM = 150.0
KM_PER_DEGREE_LAT = 111.32


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


@dataclass(frozen=True)
class _Office:
    service_id: str
    distance_km: float | None
    town: str


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing every point within `radius_km` of (lat, lon)."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    dlon = radius_km / (KM_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
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


def _offices(
    db: sqlite_utils.Database, near: tuple[float, float] | None, radius_km: float | None
) -> dict[str, _Office]:
    """The nearest office of each service within the radius (every office when `near` is None)."""
    sql = (
        "SELECT sl.service_id, l.latitude, l.longitude, loc.name AS town FROM locations l "
        "JOIN service_locations sl ON sl.location_id = l.id JOIN localities loc ON loc.id = l.locality_id"
    )
    params: list[float] = []
    if near is not None and radius_km is not None:
        sql += " WHERE l.latitude BETWEEN ? AND ? AND l.longitude BETWEEN ? AND ?"
        params = list(bounding_box(near[0], near[1], radius_km))
    best: dict[str, _Office] = {}
    for service_id, lat, lon, town in db.execute(sql, params).fetchall():
        distance = haversine_km(near[0], near[1], lat, lon) if near is not None else None
        if distance is not None and radius_km is not None and distance > radius_km:
            continue
        seen = best.get(service_id)
        if seen is None or (distance is not None and seen.distance_km is not None and distance < seen.distance_km):
            best[service_id] = _Office(service_id, distance, town)
    return best


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
    offices = _offices(db, near, filters.radius_km)
    wanted: set[str] | None = None
    query = fts_query(filters.text or "")
    if query:
        wanted = {r[0] for r in db.execute("SELECT service_id FROM services_fts WHERE services_fts MATCH ?", [query])}
    sql = (
        "SELECT s.id, s.organization_id, o.name, s.name, s.pathway, s.category, s.status, s.service_area, "
        "s.eligibility, s.costs, NOT EXISTS (SELECT 1 FROM service_locations x WHERE x.service_id = s.id) "
        "FROM services s JOIN organizations o ON o.id = s.organization_id "
        "WHERE (s.id IN (SELECT value FROM json_each(?)) "
        "OR NOT EXISTS (SELECT 1 FROM service_locations x WHERE x.service_id = s.id))"
    )
    params: list[Any] = [json.dumps(list(offices))]
    if filters.pathway:
        sql += " AND s.pathway = ?"
        params.append(filters.pathway)
    hits: list[NearbyHit] = []
    for sid, org_id, org, name, pathway, category, status, area_text, rules, costs, no_office in db.execute(
        sql, params
    ).fetchall():
        if wanted is not None and sid not in wanted:
            continue
        area = _area(area_text)
        coverage: str | None = None
        if no_office:
            if area is None:
                continue
            if area.scope == "national":
                coverage = "national"
            elif region is None or region in area.regions:
                coverage = ", ".join(REGION_NAMES[r] for r in area.regions)
            else:
                continue
        free, fee_min = _fees(costs)
        if filters.free_only and not free:
            continue
        verdict = assess(profile, _eligibility(rules), ServiceStatus(status), area)
        if filters.eligible_only and verdict.status is Status.NOT_ELIGIBLE:
            continue
        office = offices.get(sid)
        hits.append(
            NearbyHit(
                service_id=sid,
                organization_id=org_id,
                organization=org,
                service=name,
                pathway=pathway,
                category=category,
                verdict=verdict,
                distance_km=round(office.distance_km, 1) if office and office.distance_km is not None else None,
                town=office.town if office else None,
                coverage=coverage,
                free=free,
                fee_min=fee_min,
            )
        )
    hits.sort(key=lambda h: (h.verdict.status, h.distance_km is None, h.distance_km or 0.0, h.organization, h.service))
    return hits[:limit] if limit else hits
