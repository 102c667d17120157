"""The fast `nearby` and `nearby_partners` return exactly what the naive scans return, on a synthetic directory
of 2,000 services.

Services: the same ones in the same order, with the same verdicts, matches, distances (to 0.1 km), towns,
coverage and fees, for many people with their interests, days, places (gazetteer towns, points between two towns,
any point in Mali) and filters. Partners: the same partners in the same order, each with the same services, the
same counts, and pages that put end to end give the whole list. Also after an incremental rebuild, on a store
changed under a query's cache (the same connection, another one), and from the indexes migration 3 fills for a
store built before it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.synthetic import (
    SEARCH_WORDS,
    TODAY,
    TRADE_WORDS,
    NaiveDirectory,
    Query,
    gazetteer,
    naive_nearby,
    naive_partners,
    sample_profile,
    sample_queries,
    synthetic_dataset,
)
from field_app.directory.build import build_directory, put_organization, remove_organization
from field_app.directory.dataset import Dataset
from field_app.directory.nearby import Filters, NearbyHit, NearbyPage, nearby, nearby_partners
from field_app.domain.directory import Locality
from field_app.domain.eligibility import Profile
from field_app.domain.geo import haversine_km
from field_app.domain.ranking import Interests
from field_app.domain.vocabulary import Document, Education, Pathway, Region, Sector, ServiceStatus, Sex
from field_app.storage.database import open_db

SIZE = 2000
SEED = 11


@pytest.fixture(scope="module")
def localities() -> dict[str, Locality]:
    return gazetteer()


def with_twins(dataset: Dataset) -> Dataset:
    """Each second office in a town ("annexe") moved to a twin locality at the very same coordinates, so that
    which of two equidistant offices is named (the first listed) shows in the results."""
    localities = dict(dataset.localities)
    organizations = []
    for org in dataset.organizations:
        moved = []
        for loc in org.locations:
            if loc.id == "annexe":
                place = localities[loc.locality]
                twin = place.model_copy(update={"id": f"{place.id}-annexe", "name": f"{place.name} (annexe)"})
                localities[twin.id] = twin
                loc = loc.model_copy(update={"locality": twin.id})
            moved.append(loc)
        organizations.append(org.model_copy(update={"locations": moved}))
    return Dataset(organizations, localities)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    db = open_db(tmp_path_factory.mktemp("synthetic") / "field_app.db")
    build_directory(db, dataset=with_twins(synthetic_dataset(SIZE, SEED)))
    return db


@pytest.fixture(scope="module")
def naive(store: sqlite_utils.Database) -> NaiveDirectory:
    return NaiveDirectory.read(store)


def differences(db: sqlite_utils.Database, directory: NaiveDirectory, q: Query, limit: int | None) -> str | None:
    """None when `nearby` and the naive scan agree on `q`, else the first difference, in words."""
    ours = nearby(db, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region, limit=limit)
    theirs = naive_nearby(
        directory, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region, limit=limit
    )
    if ours == theirs:
        return None
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            changed = {f.name for f in dataclasses.fields(NearbyHit) if getattr(a, f.name) != getattr(b, f.name)}
            return f"{q}: at {index}, {a.service_id} vs {b.service_id}, differing in {sorted(changed)}"
    return f"{q}: {len(ours)} results vs {len(theirs)}"


def page_differences(
    db: sqlite_utils.Database, directory: NaiveDirectory, q: Query, offset: int, limit: int | None
) -> str | None:
    """None when `nearby_partners` and the naive grouped ranking agree on one page of `q`, else how they differ."""
    ours = nearby_partners(
        db, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region,
        offset=offset, limit=limit,
    )  # fmt: skip
    theirs = naive_partners(
        directory, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region,
        offset=offset, limit=limit,
    )  # fmt: skip
    if ours == theirs:
        return None
    if (ours.total_partners, ours.total_services) != (theirs.total_partners, theirs.total_services):
        return f"{q} @{offset}/{limit}: counts {ours.total_partners, ours.total_services} vs naive's"
    for index, (a, b) in enumerate(zip(ours.partners, theirs.partners, strict=False)):
        if a != b:
            return f"{q} @{offset}/{limit}: partner {index} {a.organization_id} vs {b.organization_id}"
    return f"{q} @{offset}/{limit}: {len(ours.partners)} partners vs {len(theirs.partners)}"


def every_page(db: sqlite_utils.Database, q: Query, size: int) -> list[NearbyPage]:
    """The pages of `q`, `size` partners each, following "more" until it says there are none left."""
    pages = [nearby_partners(db, q.profile, q.near, q.filters, today=q.today, interests=q.interests,
                             region=q.region, offset=0, limit=size)]  # fmt: skip
    while pages[-1].more:
        assert len(pages) < 10_000
        pages.append(
            nearby_partners(
                db,
                q.profile,
                q.near,
                q.filters,
                today=q.today,
                interests=q.interests,
                region=q.region,
                offset=pages[-1].next_offset,
                limit=size,
            )
        )
    return pages


def test_the_synthetic_directory_is_varied(store: sqlite_utils.Database) -> None:
    """The comparison means something only if the data has what nearby must handle."""
    count = store.execute("SELECT count(*) FROM services").fetchone()[0]
    without_office = store.execute("SELECT count(DISTINCT service_id) FROM service_coverage").fetchone()[0]
    national = store.execute("SELECT count(*) FROM service_coverage WHERE region = 'national'").fetchone()[0]
    statuses = {r[0] for r in store.execute("SELECT DISTINCT status FROM services")}
    twice_at_one_place = store.execute(  # in two localities at the same coordinates
        "SELECT count(*) FROM (SELECT o.service_id FROM service_offices o JOIN locations l ON l.id = o.location_id "
        "GROUP BY o.service_id, o.latitude, o.longitude HAVING count(DISTINCT l.locality_id) > 1)"
    ).fetchone()[0]
    assert count == SIZE
    assert 0.05 * SIZE < without_office < 0.4 * SIZE and 0 < national < without_office
    assert statuses == {s.value for s in ServiceStatus}
    alike = store.execute(
        "SELECT count(*) FROM (SELECT 1 FROM services s JOIN organizations o ON o.id = s.organization_id "
        "GROUP BY o.name, s.name HAVING count(*) > 1)"
    ).fetchone()[0]
    assert twice_at_one_place > 0 and alike > 0  # ties that only the service id can break
    ended = store.execute("SELECT count(*) FROM services WHERE end_date < ?", [TODAY.isoformat()]).fetchone()[0]
    not_yet = store.execute("SELECT count(*) FROM services WHERE start_date > ?", [TODAY.isoformat()]).fetchone()[0]
    assert ended > 20 and not_yet > 5  # ended by their dates, and not begun yet
    hits = naive_nearby(NaiveDirectory.read(store), Profile(), None, Filters(radius_km=None), limit=None,
                        interests=Interests(frozenset({Sector.MECHANICS}), "maçon"))  # fmt: skip
    kinds = {h.match.kind.value for h in hits}
    assert kinds == {"sector_of_interest", "trade", "none"}  # the match really orders something


def test_same_results_as_the_naive_scan_for_sampled_questions(
    store: sqlite_utils.Database, naive: NaiveDirectory, localities: dict[str, Locality]
) -> None:
    queries = sample_queries(250, seed=5, localities=localities, varied=True)
    queries += sample_queries(60, seed=6, localities=localities)  # the defaults, as the screen asks
    rng = random.Random(7)
    problems = [differences(store, naive, q, rng.choice([50, 50, 10, 1, None, 0])) for q in queries]
    assert [p for p in problems if p] == []


def test_same_partners_as_the_naive_ranking_for_sampled_questions(
    store: sqlite_utils.Database, naive: NaiveDirectory, localities: dict[str, Locality]
) -> None:
    """One card per partner, in the naive ranking's order, with its services and the whole counts."""
    queries = sample_queries(200, seed=15, localities=localities, varied=True)
    queries += sample_queries(80, seed=16, localities=localities)  # the defaults, as the screen asks
    rng = random.Random(17)
    problems = []
    for q in queries:
        limit = rng.choice([10, 10, 1, 3, 25, None])
        offset = rng.choice([0, 0, 0, 1, 10, 37]) if limit else 0
        problems.append(page_differences(store, naive, q, offset, limit))
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("size", [1, 4, 10])
def test_pages_put_end_to_end_are_the_whole_list(
    store: sqlite_utils.Database, naive: NaiveDirectory, localities: dict[str, Locality], size: int
) -> None:
    """ "More" until it stops: every partner once, in order, and the counts said on every page."""
    queries = sample_queries(12, seed=20 + size, localities=localities) + sample_queries(
        12, seed=30 + size, localities=localities, varied=True
    )
    for q in queries:
        whole = naive_partners(naive, q.profile, q.near, q.filters, today=q.today, interests=q.interests,
                               region=q.region, limit=None)  # fmt: skip
        pages = every_page(store, q, size)
        assert [p for page in pages for p in page.partners] == list(whole.partners), q
        assert {(page.total_partners, page.total_services) for page in pages} == {
            (whole.total_partners, whole.total_services)
        }
        assert all(len(page.partners) == size for page in pages[:-1]) and not pages[-1].more
        assert sum(len(p.services) for p in whole.partners) == whole.total_services


def test_the_walk_stops_early(
    store: sqlite_utils.Database, localities: dict[str, Locality], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of partners assesses a small part of what is in reach (else it would not be fast)."""
    from field_app.directory import nearby as module

    assessed = 0
    original = module._Query.hit

    def counting(self: module._Query, candidate: module._Candidate) -> NearbyHit | None:
        nonlocal assessed
        assessed += 1
        return original(self, candidate)

    monkeypatch.setattr(module._Query, "hit", counting)
    ratios = []
    for q in sample_queries(40, seed=41, localities=localities):
        assessed = 0
        page = nearby_partners(store, q.profile, q.near, q.filters, today=q.today, interests=q.interests)
        if page.total_services > 200:
            ratios.append(assessed / page.total_services)
    assert len(ratios) > 10 and sorted(ratios)[len(ratios) // 2] < 0.5


def test_same_results_between_two_towns(
    store: sqlite_utils.Database, naive: NaiveDirectory, localities: dict[str, Locality]
) -> None:
    """Halfway between two towns both are at the same distance (to 0.1 km): one group, ordered by name."""
    rng = random.Random(3)
    places = sorted(localities.values(), key=lambda loc: loc.id)
    ties = 0
    for _ in range(20):
        a, b = rng.sample(places, 2)
        near = ((a.latitude + b.latitude) / 2, (a.longitude + b.longitude) / 2)
        profile = sample_profile(rng, a.region)
        for filters in (Filters(radius_km=None), Filters(), Filters(pathway=rng.choice(list(Pathway)).value)):
            q = Query(profile, near, filters, None, f"{a.id}/{b.id}")
            assert differences(store, naive, q, rng.choice([50, None])) is None
        hits = nearby(store, profile, near, Filters(radius_km=None), today=TODAY, limit=None)
        ties += len({h.town for h in hits if h.distance_km is not None}) > len(
            {h.distance_km for h in hits if h.distance_km is not None}
        )
    assert ties > 5  # towns really shared a rounded distance


def test_same_results_at_the_edge_of_the_radius(
    store: sqlite_utils.Database, naive: NaiveDirectory, localities: dict[str, Locality]
) -> None:
    """A town exactly `radius_km` away is in (≤), whichever its direction; a hair less and it is out."""
    rng = random.Random(9)
    places = sorted(localities.values(), key=lambda loc: loc.id)
    for _ in range(30):
        a, b = rng.sample(places, 2)
        edge = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
        profile = sample_profile(rng, a.region)
        for radius in (edge, edge - 1e-9):
            q = Query(profile, (a.latitude, a.longitude), Filters(radius_km=radius), None, f"{a.id}→{b.id}")
            assert differences(store, naive, q, None) is None


def test_same_results_between_two_offices_of_one_service(store: sqlite_utils.Database, naive: NaiveDirectory) -> None:
    """Midway between two offices of one service: the same rounded distance, and the nearer one's town."""
    pairs = store.execute(
        "SELECT a.service_id, a.latitude, a.longitude, b.latitude, b.longitude FROM service_offices a "
        "JOIN service_offices b ON b.service_id = a.service_id "
        "AND (b.latitude, b.longitude) > (a.latitude, a.longitude) ORDER BY a.service_id LIMIT 25"
    ).fetchall()
    assert len(pairs) == 25
    rng = random.Random(4)
    for sid, lat1, lon1, lat2, lon2 in pairs:
        near = ((lat1 + lat2) / 2, (lon1 + lon2) / 2)
        q = Query(sample_profile(rng, None), near, Filters(radius_km=None), None, sid)
        assert differences(store, naive, q, None) is None


def test_same_results_for_two_offices_at_one_place(store: sqlite_utils.Database, naive: NaiveDirectory) -> None:
    """Two offices of one service at the same coordinates: the first listed one is named, whichever the path."""
    twins = store.execute(
        "SELECT o.service_id, o.latitude, o.longitude, s.name FROM service_offices o "
        "JOIN services s ON s.id = o.service_id JOIN locations l ON l.id = o.location_id "
        "GROUP BY o.service_id, o.latitude, o.longitude HAVING count(DISTINCT l.locality_id) > 1 LIMIT 12"
    ).fetchall()
    assert twins
    rng = random.Random(5)
    for sid, lat, lon, name in twins:
        profile = sample_profile(rng, None)
        for near, chosen in [
            ((lat, lon), Filters(text=name)),  # from the full-text matches
            ((lat, lon), Filters(pathway=None)),  # walking outwards
            ((lat + 0.3, lon), Filters(text=name, radius_km=None)),
            (None, Filters(text=name)),  # no position, few matches
            (None, Filters()),  # no position, the whole directory
        ]:
            q = Query(profile, near, chosen, None, sid)
            assert differences(store, naive, q, None) is None
        found = nearby(store, profile, (lat, lon), Filters(text=name), today=TODAY, limit=None)
        assert any(h.service_id == sid for h in found)


points = st.tuples(st.floats(10.2, 25.0), st.floats(-12.2, 4.2))
profiles = st.builds(
    Profile,
    age=st.none() | st.integers(0, 80),
    sex=st.none() | st.sampled_from(Sex),
    documents=st.frozensets(st.sampled_from(Document), max_size=5),
    education=st.none() | st.sampled_from(Education),
    reads_french=st.none() | st.booleans(),
    region=st.none() | st.sampled_from(Region),
)
filters = st.builds(
    Filters,
    pathway=st.none() | st.sampled_from([p.value for p in Pathway]),
    # "migrants" and "partenaire" match nearly every service: the walk outwards, not the read of the matches
    text=st.none() | st.sampled_from([*SEARCH_WORDS, "menuiserie bois", "migrants", "partenaire", "zzz", "é"]),
    free_only=st.booleans(),
    eligible_only=st.booleans(),
    radius_km=st.none() | st.sampled_from([0.0, 5.0, 57.0, 150.0, 400.0]),
)


interests = st.builds(
    Interests,
    sectors=st.frozensets(st.sampled_from(Sector), max_size=3),
    trade=st.none() | st.sampled_from([t for t in TRADE_WORDS if t] + ["", "zzz"]),
)
days = st.sampled_from([TODAY, dt.date(2019, 1, 1), dt.date(2024, 6, 30), dt.date(2031, 1, 1)])


@settings(max_examples=120, deadline=None)
@given(
    profile=profiles,
    near=st.none() | points,
    chosen=filters,
    region=st.none() | st.sampled_from(Region),
    limit=st.none() | st.integers(0, 120),
    wants=interests,
    today=days,
)
def test_same_results_anywhere_in_mali(
    store: sqlite_utils.Database,
    naive: NaiveDirectory,
    profile: Profile,
    near: tuple[float, float] | None,
    chosen: Filters,
    region: Region | None,
    limit: int | None,
    wants: Interests,
    today: dt.date,
) -> None:
    """A phone's position is any point, not only a town."""
    assert differences(store, naive, Query(profile, near, chosen, region, "", wants, today), limit) is None


@settings(max_examples=120, deadline=None)
@given(
    profile=profiles,
    near=st.none() | points,
    chosen=filters,
    region=st.none() | st.sampled_from(Region),
    offset=st.integers(0, 40),
    limit=st.none() | st.integers(0, 30),
    wants=interests,
    today=days,
)
def test_same_partners_anywhere_in_mali(
    store: sqlite_utils.Database,
    naive: NaiveDirectory,
    profile: Profile,
    near: tuple[float, float] | None,
    chosen: Filters,
    region: Region | None,
    offset: int,
    limit: int | None,
    wants: Interests,
    today: dt.date,
) -> None:
    q = Query(profile, near, chosen, region, "", wants, today)
    assert page_differences(store, naive, q, offset if limit else 0, limit) is None


def changed(dataset: Dataset, seed: int) -> Dataset:
    """The same directory edited: some organisations renamed, moved, given other services, or gone."""
    rng = random.Random(seed)
    towns = sorted(dataset.localities.values(), key=lambda loc: loc.id)
    organizations = []
    for org in dataset.organizations:
        roll = rng.random()
        if roll < 0.05:
            continue
        if roll < 0.1:
            org = org.model_copy(update={"name": f"Zz {org.name}"})
        elif roll < 0.15 and org.locations:
            town = rng.choice(towns)
            moved = [loc.model_copy(update={"locality": town.id, "region": town.region}) for loc in org.locations]
            org = org.model_copy(update={"locations": moved})
        elif roll < 0.2:
            org = org.model_copy(update={"services": org.services[:1]})
        organizations.append(org)
    return Dataset(organizations, dataset.localities)


def test_same_results_after_an_incremental_rebuild(tmp_path: Path, localities: dict[str, Locality]) -> None:
    db = open_db(tmp_path / "field_app.db")
    first = synthetic_dataset(800, seed=21)
    build_directory(db, dataset=first)
    report = build_directory(db, dataset=changed(first, 22))
    assert report.removed and report.updated and report.unchanged
    directory = NaiveDirectory.read(db)
    rng = random.Random(23)
    queries = sample_queries(120, seed=24, localities=localities, varied=True)
    assert [p for q in queries if (p := differences(db, directory, q, rng.choice([50, None])))] == []
    db.close()


def test_a_changed_directory_is_seen_at_once_on_this_connection_and_another(
    tmp_path: Path, localities: dict[str, Locality]
) -> None:
    """The query keeps the directory's shape in memory: a build, a sync's organisation put or removal and an
    office's edit made after a query are in the next one, whichever connection wrote them."""
    path = tmp_path / "field_app.db"
    db, other = open_db(path), None
    first = synthetic_dataset(600, seed=51)
    build_directory(db, dataset=first)
    queries = sample_queries(30, seed=52, localities=localities) + sample_queries(
        30, seed=53, localities=localities, varied=True
    )

    def agree(conn: sqlite_utils.Database) -> list[str]:
        directory = NaiveDirectory.read(conn)
        out = [p for q in queries if (p := differences(conn, directory, q, None))]
        return out + [p for q in queries if (p := page_differences(conn, directory, q, 0, 10))]

    assert agree(db) == []
    build_directory(db, dataset=changed(first, 54))  # a rebuild on the same connection
    assert agree(db) == []
    org = first.organizations[3]
    renamed = org.model_copy(update={"name": "Aaa premier par le nom", "services": org.services[:1]})
    other = open_db(path)
    put_organization(other, renamed)  # a sync on another connection
    assert agree(db) == []
    assert remove_organization(other, first.organizations[5].id)
    assert agree(db) == [] and agree(other) == []
    db.close()
    other.close()


def test_migration_3_fills_the_nearby_indexes_as_the_build_does(tmp_path: Path) -> None:
    path = tmp_path / "field_app.db"
    db = open_db(path)
    build_directory(db, dataset=synthetic_dataset(400, seed=31))
    tables = ("service_offices", "service_coverage")
    built = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    assert all(built.values())
    for table in tables:
        db.execute(f"DROP TABLE {table}")
    db.execute("DELETE FROM _migrations WHERE version = 3")
    db.close()
    db = open_db(path)  # a store from before version 3: the migration fills both from the directory tables
    assert {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in tables} == built
    db.close()
