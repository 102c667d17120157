"""Eligible partners nearby: one card per partner with its services that match, each with this person's verdict,
ranked and paged, never cut silently.

**What matches.** Every service with an office within the radius of the point (or anywhere, `radius_km=None`),
plus the services without an office (programmes) that cover the region in question (default: the person's),
marked "national" or with their regions; then the filters (pathway, a word searched like the directory search,
free only, eligible only). No point: every service with an office, and the programmes covering the region, with
no distance. Ended services (recorded so, or past the end date the source gives, on `today`) are never eligible.

**Order** (`field_app.domain.ranking`): services by verdict (eligible, eligible if…, not eligible), then match
with the person's interests (a sector of interest, else the trade before leaving, else none), then services
with an office first, nearest first (to 0.1 km), then organisation, service and id. Partners by their best
verdict, then the best match among what the person can join, then that service's distance (`ranking.partner_key`);
each carries every service of it that matched, in service order. `nearby` gives services in that order;
`nearby_partners` gives one page of partners with the whole count ("12 partners, 34 services"), so a screen can
say how many there are and offer the next page.

**Why it is fast** (bench/nearby.py, at 10,000 services: a page of 10 partners p95 2.3 ms, the next page 3.7 ms,
against 430 ms for the naive scan; 100,000 services: 14 ms). The directory's shape — where every office is,
which services are at each position in name order and per sector, what sectors each service speaks of, who
covers which region — is read once into memory (`_Index`, 0.3 s at 10,000 services) and kept until the directory
changes (migration 12's token, which triggers change on every write to services, organisations and places: a
sync, an office's edit or a build). A query then reads nothing from the database but the full-text index for a
word (its matches kept with the version, for the next page):
 - the count of what matched is a union of per-position sets (no verdicts needed, unless "free only" or
   "eligible only" asks for them: those assess everything in reach);
 - the ranking walks candidates in their final order within each verdict — services matching a sector of
   interest nearest first, then those matching the trade, then the rest, each walk position by position
   outwards from per-sector lists — and stops as soon as enough partners are settled that nothing met later can
   rank before them. Only the services walked are assessed (a rule set once per query), then the page's own
   partners' other services, to fill their cards.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import itertools
import json
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import sqlite_utils

from field_app.directory.search import fts_query
from field_app.domain.directory import CostOption, Eligibility, ServiceArea, status_on
from field_app.domain.eligibility import Profile, Status, Verdict, assess
from field_app.domain.fees import FeeSummary, lowest_registration_fee
from field_app.domain.geo import EARTH_RADIUS_KM, haversine_km
from field_app.domain.ranking import (
    NO_INTERESTS,
    NO_MATCH,
    Interests,
    Match,
    PartnerKey,
    ServiceKey,
    match,
    match_rank,
    partner_key,
    partner_reasons,
    sector_mask,
    service_key,
    service_sectors,
    sort_name,
)
from field_app.domain.vocabulary import REGION_NAMES, Region, Sector, ServiceStatus, Sex

DEFAULT_RADIUS_KM = 150.0
PAGE_PARTNERS = 10  # partners per page on the screen


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
    match: Match  # why it ranks where it does beside its verdict: a sector of interest, the trade, or none
    distance_km: float | None  # to the nearest office; None when the service has no office
    town: str | None
    coverage: str | None  # "national", or region names, for services without an office
    free: bool  # every fee stated for this person is 0 FCFA
    fee_min: int | None  # the lowest registration fee asked of this person in FCFA, when the source gives one

    @cached_property
    def key(self) -> ServiceKey:
        return service_key(
            self.verdict.status, self.match.rank, self.distance_km, self.organization, self.service, self.service_id
        )


@dataclass(frozen=True)
class Partner:
    """One card: an organisation and its services that matched, best first (it ranks where the first does)."""

    organization_id: str
    organization: str
    services: tuple[NearbyHit, ...]

    @property
    def best(self) -> NearbyHit:
        return self.services[0]

    @property
    def key(self) -> PartnerKey:
        return partner_key([h.key for h in self.services], self.organization_id)

    @property
    def reasons(self) -> tuple[NearbyHit, NearbyHit]:
        """(the service with its best verdict, the one whose match and distance place it): often the same."""
        best, reason = partner_reasons([h.key for h in self.services])
        return self.services[best], self.services[reason]

    @property
    def nearest(self) -> NearbyHit:
        """The service at its nearest office (the best one when none has an office)."""
        placed = [h for h in self.services if h.distance_km is not None]
        return min(placed, key=lambda h: h.distance_km or 0.0) if placed else self.best


@dataclass(frozen=True)
class NearbyPage:
    """Partners `offset`… of the whole ranked list, and how many partners and services matched in all."""

    partners: tuple[Partner, ...]
    offset: int
    total_partners: int
    total_services: int

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.partners)

    @property
    def more(self) -> bool:
        return self.next_offset < self.total_partners


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


@lru_cache(maxsize=65536)
def _eligibility(text: str) -> Eligibility:
    return Eligibility.model_validate_json(text)


@lru_cache(maxsize=65536)
def _area(text: str | None) -> ServiceArea | None:
    return ServiceArea.model_validate_json(text) if text else None


@lru_cache(maxsize=65536)
def _costs(text: str) -> tuple[CostOption, ...]:
    return tuple(CostOption.model_validate(c) for c in json.loads(text))


_FEES: dict[tuple[str, Sex | None], FeeSummary] = {}


def _fees(text: str, service_id: str, sex: Sex | None) -> FeeSummary:
    """The "From X F" summary for one service and one sex (`field_app.domain.fees`). A service's costs column
    holds only the costs of that service (the build's `costs_of`), so the summary depends on the text and the sex
    alone and is kept per pair."""
    key = (text, sex)
    found = _FEES.get(key)
    if found is None:
        if len(_FEES) > 65536:
            _FEES.clear()
        found = _FEES[key] = lowest_registration_fee(_costs(text), service_id=service_id, sex=sex)
    return found


@lru_cache(maxsize=65536)
def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _coverage(area_text: str | None) -> str | None:
    area = _area(area_text)
    if area is None:
        return None
    return "national" if area.scope == "national" else ", ".join(REGION_NAMES[r] for r in area.regions)


# --- the directory's shape, in memory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Service:
    id: str
    org: int  # index in _Index.org_ids
    name: str
    pathway: str
    category: str
    status: ServiceStatus
    start_date: dt.date | None
    end_date: dt.date | None
    area: str | None  # the service_area column, as stored
    rules: str  # the eligibility column
    costs: str
    description: str | None
    doc: int  # its row in services_fts
    sectors: dict[Sector, str]  # the sectors its words speak of, each with those words (ranking.service_sectors)
    mask: int  # the same as bits (ranking.sector_mask)
    offices: tuple[tuple[int, str, int], ...]  # (position, location id, listed), in listed order
    covers: frozenset[str]  # office-less: 'national' or region codes


@dataclass
class _Index:
    """What nearby needs of the directory, for one version of it (see the module's docstring)."""

    services: list[_Service]
    org_ids: list[str]
    org_names: list[str]
    org_index: dict[str, int]
    org_sort: list[str]  # ranking.sort_name of each organisation's name
    org_services: list[list[int]]  # per organisation: its services, in name order
    positions: list[tuple[float, float]]
    at: list[list[int]]  # per position: the services with an office there, in name order, each once
    at_sets: list[frozenset[int]]
    at_orgs: list[frozenset[int]]
    at_sector: list[dict[int, list[int]]]  # per position: sector bit → its services there, in name order
    sector_bits: list[int]
    covering: dict[str, list[int]]  # 'national' or a region code → office-less services covering it, name order
    named: list[int]  # every service, in name order
    by_doc: dict[int, int]
    towns: dict[str, str]  # location id → its town's name
    with_office: list[int]  # the services with an office, in name order
    _pathway_sets: dict[tuple[int, str], frozenset[int]] = field(default_factory=dict)
    _covering_any: dict[frozenset[str], list[int]] = field(default_factory=dict)
    _covering_orgs: dict[frozenset[str], frozenset[int]] = field(default_factory=dict)
    words: dict[str, frozenset[int]] = field(default_factory=dict)  # a full-text query → the services it matches

    def covering_any(self, regions: frozenset[str]) -> list[int]:
        """The office-less services covering any of `regions`, in name order, each once (kept per set asked)."""
        found = self._covering_any.get(regions)
        if found is None:
            found = self._covering_any[regions] = sorted(set().union(*(self.covering.get(r, ()) for r in regions)))
        return found

    def covering_orgs(self, regions: frozenset[str]) -> frozenset[int]:
        """The organisations of `covering_any(regions)`."""
        found = self._covering_orgs.get(regions)
        if found is None:
            found = self._covering_orgs[regions] = frozenset(self.services[k].org for k in self.covering_any(regions))
        return found

    def at_pathway(self, position: int, pathway: str) -> frozenset[int]:
        key = (position, pathway)
        found = self._pathway_sets.get(key)
        if found is None:
            found = self._pathway_sets[key] = frozenset(
                k for k in self.at_sets[position] if self.services[k].pathway == pathway
            )
        return found

    @classmethod
    def read(cls, db: sqlite_utils.Database) -> _Index:
        orgs = {r[0]: r[1] for r in db.execute("SELECT id, name FROM organizations")}
        org_ids = sorted(orgs)
        org_index = {o: i for i, o in enumerate(org_ids)}
        offices: dict[str, list[tuple[int, str, int, float, float]]] = {}
        docs: dict[str, int] = {}
        for sid, location_id, listed, lat, lon, doc in db.execute(
            "SELECT service_id, location_id, listed, latitude, longitude, doc FROM service_offices"
        ):
            offices.setdefault(sid, []).append((listed, location_id, doc, lat, lon))
            docs[sid] = doc
        covers: dict[str, set[str]] = {}
        for region, sid, doc in db.execute("SELECT region, service_id, doc FROM service_coverage"):
            covers.setdefault(sid, set()).add(region)
            docs[sid] = doc
        positions: dict[tuple[float, float], int] = {}
        services: list[_Service] = []
        for sid, org_id, name, pathway, category, status, start, end, area, rules, costs, description in db.execute(
            "SELECT id, organization_id, name, pathway, category, status, start_date, end_date, service_area, "
            "eligibility, costs, description FROM services"
        ):
            if sid not in docs:
                continue  # neither an office nor a region covered: never nearby
            placed = tuple(
                (positions.setdefault((lat, lon), len(positions)), location_id, listed)
                for listed, location_id, _, lat, lon in sorted(offices.get(sid, []))
            )
            services.append(
                _Service(
                    id=sid,
                    org=org_index[org_id],
                    name=name,
                    pathway=pathway,
                    category=category,
                    status=ServiceStatus(status),
                    start_date=_date(start),
                    end_date=_date(end),
                    area=area,
                    rules=rules,
                    costs=costs,
                    description=description,
                    doc=docs[sid],
                    sectors=(sectors := service_sectors(name, description)),
                    mask=sector_mask(sectors),
                    offices=placed,
                    covers=frozenset(covers.get(sid, ())) if not placed else frozenset(),
                )
            )
        services.sort(key=lambda s: (sort_name(orgs[org_ids[s.org]]), sort_name(s.name), s.id))  # = name order
        at: list[list[int]] = [[] for _ in positions]
        covering: dict[str, list[int]] = {}
        org_services: list[list[int]] = [[] for _ in org_ids]
        for k, svc in enumerate(services):
            org_services[svc.org].append(k)
            for p in sorted({p for p, _, _ in svc.offices}):
                at[p].append(k)
            for region in svc.covers:
                covering.setdefault(region, []).append(k)
        towns = dict(db.execute("SELECT l.id, loc.name FROM locations l JOIN localities loc ON loc.id = l.locality_id"))
        return cls(
            services=services,
            org_ids=org_ids,
            org_names=[orgs[o] for o in org_ids],
            org_index=org_index,
            org_sort=[sort_name(orgs[o]) for o in org_ids],
            org_services=org_services,
            positions=list(positions),
            at=at,
            at_sets=[frozenset(a) for a in at],
            at_orgs=[frozenset(services[k].org for k in a) for a in at],
            at_sector=[_by_sector(services, a) for a in at],
            sector_bits=[sector_mask([sector]) for sector in Sector],
            covering=covering,
            named=list(range(len(services))),
            with_office=[k for k, svc in enumerate(services) if svc.offices],
            by_doc={svc.doc: k for k, svc in enumerate(services)},
            towns=towns,
        )


def _by_sector(services: list[_Service], ks: list[int]) -> dict[int, list[int]]:
    """`ks` (in name order) by sector bit, each list in name order."""
    out: dict[int, list[int]] = {}
    for k in ks:
        mask = services[k].mask
        while mask:
            bit = mask & -mask
            out.setdefault(bit, []).append(k)
            mask ^= bit
    return out


_cache: dict[int, _Index] = {}
_cache_lock = threading.Lock()
_TOKEN = "SELECT token FROM nearby_token WHERE id = 1"


def _index(db: sqlite_utils.Database) -> _Index:
    """The directory's shape for the version `db` holds now: from memory while the token has not changed."""
    token = db.execute(_TOKEN).fetchone()[0]
    found = _cache.get(token)
    if found is not None:
        return found
    with _cache_lock:
        while True:
            index = _Index.read(db)
            after = db.execute(_TOKEN).fetchone()[0]
            if after == token:  # nothing changed while reading (another connection may write meanwhile)
                break
            token = after
        if len(_cache) >= 8:  # a few databases at once (tests, a bench): drop the oldest
            _cache.pop(next(iter(_cache)))
        _cache[token] = index
    return index


# --- one query ----------------------------------------------------------------------------------------------------

# A candidate met by a walk: (service, its nearest office or None, distance to it rounded to 0.1 km or None).
_Candidate = tuple[int, str | None, float | None]


_MISSING = object()
_DIRECT = 300  # a text filter matching at most this many services: start from them, not from the positions


@dataclass
class _Query:
    index: _Index
    profile: Profile
    near: tuple[float, float] | None
    filters: Filters
    region: Region | None
    today: dt.date
    interests: Interests
    reach: list[tuple[float, int]] = field(default_factory=list)  # (distance, position) in the radius, nearest first
    distance: dict[int, float] = field(default_factory=dict)
    docs: frozenset[int] | None = None  # services matching the text filter (None: no text filter)
    direct: list[tuple[tuple[int, bool, float, int], _Candidate]] | None = None  # few text matches, in walk order
    interest_mask: int = 0
    trade_mask: int = 0
    regions: frozenset[str] = frozenset()  # coverage keys that bring in services without an office
    verdicts: dict[tuple[str, ServiceStatus, str | None], Verdict] = field(default_factory=dict)
    hits: dict[int, NearbyHit | None] = field(default_factory=dict)
    partners: dict[int, Partner | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.interest_mask = sector_mask(self.interests.sectors)
        self.trade_mask = sector_mask(self.interests.trade_sectors) & ~self.interest_mask
        covering = self.index.covering
        self.regions = frozenset(covering) if self.region is None else frozenset(("national", self.region.value))
        if self.near is None:
            return
        lat, lon = self.near
        radius = self.filters.radius_km
        box = bounding_box(lat, lon, radius) if radius is not None else None
        for p, (plat, plon) in enumerate(self.index.positions):
            if box is not None and not (box[0] <= plat <= box[1] and box[2] <= plon <= box[3]):
                continue
            d = haversine_km(lat, lon, plat, plon)
            if radius is None or d <= radius:
                self.reach.append((d, p))
                self.distance[p] = d
        self.reach.sort()

    def set_docs(self, docs: frozenset[int]) -> None:
        """Keep only these services (a text filter); few of them: order them here, once."""
        self.docs = docs
        if len(docs) > _DIRECT:
            return
        pathway = self.filters.pathway
        found = []
        for k in docs:
            if pathway and self.index.services[k].pathway != pathway:
                continue
            candidate = self.in_reach(k)
            if candidate is not None:
                _, _, km = candidate
                found.append(((self.level(k), km is None, km or 0.0, k), candidate))
        found.sort(key=lambda f: f[0])
        self.direct = found

    def level(self, k: int) -> int:
        return match_rank(self.index.services[k].mask, self.interest_mask, self.trade_mask)

    def levels(self) -> list[int]:
        """The match levels walked, best first (none of 0 and 1 when the person gave no interests)."""
        return [m for m, mask in ((0, self.interest_mask), (1, self.trade_mask)) if mask] + [2]

    def static(self, k: int) -> bool:
        """Filters that need no verdict: pathway and text."""
        if self.filters.pathway and self.index.services[k].pathway != self.filters.pathway:
            return False
        return self.docs is None or k in self.docs

    def office_less(self) -> list[int]:
        """Services without an office covering the region(s), in name order, each once."""
        return self.index.covering_any(self.regions)

    def walk(self, level: int) -> Iterator[_Candidate]:
        """The services of one match level that pass the static filters, in their final order within a verdict:
        nearest first by position (services with an office), then by name (those without); or all by name when
        there is no point of reference."""
        if self.direct is not None:
            yield from (candidate for key, candidate in self.direct if key[0] == level)
            return
        index = self.index
        services = index.services
        pathway = self.filters.pathway
        docs = self.docs
        better = (0, self.interest_mask, self.interest_mask | self.trade_mask)[level]  # masks of better levels
        own = (self.interest_mask, self.trade_mask, 0)[level]

        def wanted(k: int) -> bool:
            svc = services[k]
            mask = svc.mask
            if mask & better or (own and not mask & own):
                return False
            return not (pathway and svc.pathway != pathway) and (docs is None or k in docs)

        if self.near is None:
            for k in index.named:
                svc = services[k]
                if (svc.offices or svc.covers & self.regions) and wanted(k):
                    yield k, (svc.offices[0][1] if svc.offices else None), None
            return
        bits = [b for b in index.sector_bits if b & own]
        seen: set[int] = set()
        for rounded, group in itertools.groupby(self.reach, key=lambda r: round(r[0], 1)):
            here = [p for _, p in group]
            if own:  # only the services of the sectors wanted, from each position's lists per sector
                lists: list[list[int]] = [index.at_sector[p][b] for p in here for b in bits if b in index.at_sector[p]]
            else:
                lists = [index.at[p] for p in here]
            if not lists:
                continue
            for k in lists[0] if len(lists) == 1 else heapq.merge(*lists):
                if k in seen:
                    continue
                seen.add(k)
                if wanted(k):
                    yield k, self.nearest_office(k), rounded
        for k in self.office_less():
            if wanted(k):
                yield k, None, None

    def nearest_office(self, k: int) -> str | None:
        """The service's nearest office in reach (the first listed on a tie), or None when none is."""
        best: tuple[float, int, str] | None = None
        for p, location_id, listed in self.index.services[k].offices:
            d = self.distance.get(p)
            if d is not None and (best is None or (d, listed) < best[:2]):
                best = (d, listed, location_id)
        return best[2] if best else None

    def in_reach(self, k: int) -> _Candidate | None:
        """`k` as a walk would meet it, or None when it is out of reach (whatever the filters)."""
        svc = self.index.services[k]
        if self.near is None:
            if svc.offices:
                return k, svc.offices[0][1], None
            return (k, None, None) if svc.covers & self.regions else None
        if svc.offices:
            best: tuple[float, int, str] | None = None
            for p, location_id, listed in svc.offices:
                d = self.distance.get(p)
                if d is not None and (best is None or (d, listed) < best[:2]):
                    best = (d, listed, location_id)
            return (k, best[2], round(best[0], 1)) if best else None
        return (k, None, None) if svc.covers & self.regions else None

    def hit(self, candidate: _Candidate) -> NearbyHit | None:
        """The candidate assessed for this person, or None when "free only" or "eligible only" leave it out."""
        k, location_id, distance = candidate
        index = self.index
        svc = index.services[k]
        fees = _fees(svc.costs, svc.id, self.profile.sex)
        if self.filters.free_only and not fees.free:
            return None
        status = status_on(svc.status, svc.start_date, svc.end_date, self.today)
        key = (svc.rules, status, svc.area)  # a verdict depends on nothing else (the profile is fixed)
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self.verdicts[key] = assess(self.profile, _eligibility(svc.rules), status, _area(svc.area))
        if self.filters.eligible_only and verdict.status is Status.NOT_ELIGIBLE:
            return None
        return NearbyHit(
            service_id=svc.id,
            organization_id=index.org_ids[svc.org],
            organization=index.org_names[svc.org],
            service=svc.name,
            pathway=svc.pathway,
            category=svc.category,
            verdict=verdict,
            match=match(svc.sectors, self.interests) if svc.mask else NO_MATCH,
            distance_km=distance,
            town=index.towns[location_id] if location_id is not None else None,
            coverage=None if svc.offices else _coverage(svc.area),
            free=fees.free,
            fee_min=fees.lowest,
        )

    def hit_of(self, candidate: _Candidate) -> NearbyHit | None:
        """`hit`, once per service and query (a partner made whole reuses what its walk met)."""
        k = candidate[0]
        if k in self.hits:
            return self.hits[k]
        found = self.hits[k] = self.hit(candidate)
        return found

    def partner(self, o: int) -> Partner | None:
        """One partner's card: every service of it that matched the query, best first (None when none did)."""
        found = self.partners.get(o, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        index = self.index
        hits = []
        for k in index.org_services[o]:
            candidate = self.in_reach(k) if self.static(k) else None
            hit = self.hit_of(candidate) if candidate is not None else None
            if hit is not None:
                hits.append(hit)
        hits.sort(key=lambda h: h.key)
        card = self.partners[o] = Partner(index.org_ids[o], index.org_names[o], tuple(hits)) if hits else None
        return card

    def candidates(self) -> Iterator[tuple[int, _Candidate]]:
        """(level, candidate) for every walk, best level first."""
        for level in self.levels():
            for candidate in self.walk(level):
                yield level, candidate

    def matched(self) -> tuple[int, int] | None:
        """(services, partners) that match the query, from the sets alone; None when only verdicts can say."""
        if self.filters.free_only or self.filters.eligible_only:
            return None
        index = self.index
        services = index.services
        if self.direct is not None:
            return len(self.direct), len({services[c[0]].org for _, c in self.direct})
        less = self.office_less()
        if self.near is None:
            found = set(index.with_office).union(less)
        elif self.filters.pathway:
            found = set().union(*(index.at_pathway(p, self.filters.pathway) for _, p in self.reach)) | set(less)
        elif self.docs is None:  # no filter at all: the partners from their own sets
            found = set().union(*(index.at_sets[p] for _, p in self.reach))
            partners = set().union(*(index.at_orgs[p] for _, p in self.reach))
            return len(found) + len(less), len(partners | index.covering_orgs(self.regions))
        else:
            found = set().union(*(index.at_sets[p] for _, p in self.reach)) | set(less)
        if self.docs is not None:
            found &= self.docs
        if self.filters.pathway:
            found = {k for k in found if services[k].pathway == self.filters.pathway}
        return len(found), len({services[k].org for k in found})


def _query(
    db: sqlite_utils.Database,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters,
    region: Region | None,
    today: dt.date,
    interests: Interests,
) -> _Query:
    index = _index(db)
    q = _Query(index, profile, near, filters, region or profile.region, today, interests)
    text = fts_query(filters.text or "")
    if text is not None:
        docs = index.words.get(text)
        if docs is None:  # a word's matches, kept with this version of the directory (paging asks again)
            rows = db.execute("SELECT rowid FROM services_fts WHERE services_fts MATCH ?", [text])
            docs = frozenset(k for (doc,) in rows if (k := index.by_doc.get(doc)) is not None)
            if len(index.words) >= 64:
                index.words.pop(next(iter(index.words)))
            index.words[text] = docs
        q.set_docs(docs)
    return q


def nearby(
    db: sqlite_utils.Database,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters = Filters(),
    *,
    today: dt.date,
    interests: Interests = NO_INTERESTS,
    region: Region | None = None,
    limit: int | None = 50,
) -> list[NearbyHit]:
    """Services near `near` (anywhere when None) for `profile`, in rank order (see the module's docstring); at
    most `limit` (None or 0: all)."""
    q = _query(db, profile, near, filters, region, today, interests)
    hits: list[NearbyHit] = []
    eligible = 0
    for _, candidate in q.candidates():
        hit = q.hit(candidate)
        if hit is None:
            continue
        hits.append(hit)
        if hit.verdict.status is Status.ELIGIBLE:
            eligible += 1  # eligible services are met in their final order: the first `limit` of them rank first
            if limit and eligible >= limit:
                break
    hits.sort(key=lambda h: h.key)
    return hits[:limit] if limit else hits


def nearby_partners(
    db: sqlite_utils.Database,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters = Filters(),
    *,
    today: dt.date,
    interests: Interests = NO_INTERESTS,
    region: Region | None = None,
    offset: int = 0,
    limit: int | None = PAGE_PARTNERS,
) -> NearbyPage:
    """Partners `offset`… (at most `limit`; None or 0: all) near `near` for `profile`, ranked, each with its
    services that matched, and the whole count of partners and services that matched.

    Walks meet services in their final order within a verdict, so the first service met of a partner that the
    person can join (eligible or eligible if…) gives its match and distance, and its rank is settled as soon as
    it is known to have an eligible service (met, or found among its others when the first was "eligible if…").
    The walks stop once `offset + limit` settled partners rank before anything not met yet could: eligible, at
    the level walked, at the walk's distance, then name. Only the page's partners are then made whole."""
    q = _query(db, profile, near, filters, region, today, interests)
    offset = max(0, offset)
    wanted = offset + limit if limit else None
    counts = q.matched()  # None: only assessing everything in reach can count what "free/eligible only" keep
    index = q.index
    settled: dict[int, PartnerKey] = {}  # organisation → its rank, known for sure
    pending: dict[int, Status] = {}  # organisations met with services the person cannot join only: best verdict
    ranks: list[PartnerKey] = []  # the settled ranks, sorted
    stopped = False
    for level, candidate in q.candidates():
        k, _, distance = candidate
        o = index.services[k].org
        if o in settled:
            continue
        if wanted is not None and counts is not None and len(ranks) >= wanted:
            bound = (Status.ELIGIBLE, level, distance is None, distance or 0.0, index.org_sort[o])
            if ranks[wanted - 1][:5] < bound:  # no partner met from now on can rank before the wanted ones
                stopped = True
                break
        hit = q.hit_of(candidate)
        if hit is None:
            continue
        status = hit.verdict.status
        if status is Status.NOT_ELIGIBLE:
            pending[o] = status
            continue
        if status is Status.ELIGIBLE or pending.get(o) is Status.ELIGIBLE:
            key = (Status.ELIGIBLE, *hit.key[1:4], index.org_sort[o], index.org_ids[o])
        else:  # "eligible if…": whether it has an eligible service decides; make it whole
            whole = q.partner(o)
            assert whole is not None
            key = whole.key
        pending.pop(o, None)
        settled[o] = key
        bisect.insort(ranks, key)
    if not stopped:  # everything was walked: those met with nothing to join rank by all they offer
        for o in pending:
            whole = q.partner(o)
            assert whole is not None
            settled[o] = whole.key
    order = sorted(settled, key=settled.__getitem__)
    page = tuple(p for o in order[offset:wanted] if (p := q.partner(o)) is not None)
    if counts is None:  # everything in reach was assessed
        counts = (sum(len(p.services) for o in order if (p := q.partner(o)) is not None), len(order))
    return NearbyPage(page, offset, total_partners=counts[1], total_services=counts[0])
