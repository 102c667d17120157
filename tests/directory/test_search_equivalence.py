"""The indexed directory search returns exactly what the search before issue 9 returned (`bench.search.naive_search`,
which reads every service and office and sorts in Python): the same services in the same order, with the same
fields (town, region, status, distance to 0.1 km), on the bundled directory and on synthetic directories small and
large enough for both of its ways near a point (from the full-text matches, or from the offices nearest first),
with and without text, a point and a `today`, at every limit the callers use.
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

from bench.search import WORDS, naive_search, search_questions
from bench.synthetic import synthetic_dataset
from field_app.directory import search as search_module
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.directory.search import SearchHit, search
from field_app.storage.database import open_db

SEED = 5
BAMAKO = (12.60915, -7.97522)
KIDAL = (18.44111, 1.40778)
POINTS = (None, BAMAKO, KIDAL, (14.4469, -11.4456), (13.0, -6.5), (0.0, 0.0), (24.5, -6.0))
TEXTS = ("", "m", "de", "a", "co", "menuis", "couture", "couture kayes", "formation", "association espoir", "zzzq",
         'NEAR( "x" OR ) *', "   ", "-")  # fmt: skip
LIMITS = (None, 0, 1, 5, 50, 60)


def with_twins(dataset: Dataset) -> Dataset:
    """Every "annexe" office moved to a twin locality at the very same coordinates under another name: which of
    two offices at one distance names the town (the first listed) shows in the results."""
    localities = dict(dataset.localities)
    organizations = []
    for org in dataset.organizations:
        moved = []
        for loc in org.locations:
            if loc.id == "annexe":
                place = localities[loc.locality]
                twin = place.model_copy(update={"id": f"{place.id}-twin", "name": f"{place.name} (twin)"})
                localities[twin.id] = twin
                loc = loc.model_copy(update={"locality": twin.id})
            moved.append(loc)
        organizations.append(org.model_copy(update={"locations": moved}))
    return Dataset(organizations, localities)


def with_namesakes(dataset: Dataset) -> Dataset:
    """One organisation in six renamed "Association Avenir": dozens of namesakes, ordered by load order among
    themselves, across the batches the first page is read in."""
    organizations = [
        org.model_copy(update={"name": "Association Avenir"}) if index % 6 == 0 else org
        for index, org in enumerate(dataset.organizations)
    ]
    return Dataset(organizations, dataset.localities)


def with_periods(db: sqlite_utils.Database, seed: int) -> None:
    """Stated periods on a share of the services (ended, not yet started, current), as `build_directory` stores
    them: what `today` acts on."""
    rng = random.Random(seed)
    rows = [r[0] for r in db.execute("SELECT id FROM services ORDER BY id")]
    with db.atomic():
        for sid in rng.sample(rows, len(rows) // 4):
            start = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 2000))
            end = start + dt.timedelta(days=rng.randint(30, 1500)) if rng.random() < 0.8 else None
            db.execute(
                "UPDATE services SET start_date = ?, end_date = ? WHERE id = ?",
                [start.isoformat() if rng.random() < 0.7 else None, end.isoformat() if end else None, sid],
            )


def edited(dataset: Dataset) -> Dataset:
    """Every fifth organisation edited: a rebuild writes its rows again, after the others (load order is no
    longer the order of ids)."""
    organizations = [
        org.model_copy(update={"description": f"{org.description} (edited)"}) if index % 5 == 2 else org
        for index, org in enumerate(dataset.organizations)
    ]
    return Dataset(organizations, dataset.localities)


def store(path: Path, size: int) -> sqlite_utils.Database:
    db = open_db(path)
    dataset = with_namesakes(with_twins(synthetic_dataset(size, seed=SEED)))
    build_directory(db, dataset=dataset)
    build_directory(db, dataset=edited(dataset))
    with_periods(db, SEED)
    return db


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    return store(tmp_path_factory.mktemp("search") / "small.db", 300)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    """More services than `_FEW_MATCHES` match a broad word here, so both ways near a point are taken."""
    return store(tmp_path_factory.mktemp("search") / "large.db", 2500)


def rows(hits: list[SearchHit]) -> list[tuple[object, ...]]:
    return [dataclasses.astuple(h) for h in hits]


def check(
    db: sqlite_utils.Database,
    text: str,
    near: tuple[float, float] | None,
    limit: int | None,
    today: dt.date | None = None,
) -> list[SearchHit]:
    got = search(db, text, near=near, limit=limit, today=today)
    assert rows(got) == naive(db, text, near, today)[: limit or None], (text, near, limit, today)
    return got


_NAIVE: dict[tuple[str, str, tuple[float, float] | None, dt.date | None], list[tuple[object, ...]]] = {}


def naive(
    db: sqlite_utils.Database, text: str, near: tuple[float, float] | None, today: dt.date | None
) -> list[tuple[object, ...]]:
    """The naive search's whole answer (a limit only cuts it: `hits[:limit] if limit else hits`), kept per
    question: it reads the whole store each time."""
    key = (str(db.conn.execute("PRAGMA database_list").fetchone()[2]), text, near, today)
    if key not in _NAIVE:
        _NAIVE[key] = rows(naive_search(db, text, near=near, limit=None, today=today))
    return _NAIVE[key]


def test_the_large_store_takes_both_ways(large: sqlite_utils.Database) -> None:
    broad = large.execute("SELECT count(*) FROM services_fts WHERE services_fts MATCH '\"de\"*'").fetchone()[0]
    narrow = large.execute("SELECT count(*) FROM services_fts WHERE services_fts MATCH '\"couture\"*'").fetchone()[0]
    assert broad > search_module._FEW_MATCHES > narrow > 0


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("near", POINTS)
def test_every_text_everywhere(
    small: sqlite_utils.Database, large: sqlite_utils.Database, near: tuple[float, float] | None, limit: int | None
) -> None:
    for db in (small, large):
        for text in TEXTS:
            check(db, text, near, limit)


@pytest.mark.parametrize("today", [dt.date(2020, 1, 1), dt.date(2023, 6, 1), dt.date(2026, 12, 2)])
def test_statuses_and_order_on_a_day(large: sqlite_utils.Database, today: dt.date) -> None:
    for near in (None, BAMAKO, KIDAL):
        for text in ("", "m", "couture"):
            for limit in (None, 60):
                check(large, text, near, limit, today)
    recorded = {h.service_id: h.status for h in search(large, "", limit=None)}
    on_the_day = {h.service_id: h.status for h in search(large, "", limit=None, today=today)}
    assert recorded.keys() == on_the_day.keys()
    assert sum(recorded[sid] != on_the_day[sid] for sid in recorded) > 50  # the dates change what is said


def test_what_the_screen_asks(large: sqlite_utils.Database, built_db: sqlite_utils.Database) -> None:
    for db in (large, built_db):
        for q in search_questions(db, 60, SEED):
            check(db, q.text, q.near, q.limit)
            check(db, q.text, q.near, q.limit, dt.date(2026, 12, 2))


def test_the_bundled_directory(built_db: sqlite_utils.Database) -> None:
    for near in POINTS:
        for text in (*TEXTS, "senou", "Sénou", "bamako", "kayes", "ANPE", "aminata"):
            for limit in (None, 60):
                check(built_db, text, near, limit)


def test_results_are_not_trivially_alike(large: sqlite_utils.Database) -> None:
    """The comparisons above compare something: answers vary with the text, the point and the limit."""
    by_point = {tuple(h.service_id for h in search(large, "", near=p, limit=10)) for p in POINTS}
    assert len(by_point) == len(POINTS)
    assert len(search(large, "m", limit=None)) > len(search(large, "menuis", limit=None)) > 0
    near_bamako = search(large, "", near=BAMAKO, limit=None)
    assert near_bamako[0].distance_km == 0.0 and near_bamako[-1].distance_km is None


@settings(max_examples=40, deadline=None)
@given(
    text=st.one_of(st.sampled_from(WORDS).map(lambda w: w[: max(1, len(w) // 2)]), st.sampled_from(WORDS)),
    lat=st.floats(10.0, 25.0),
    lon=st.floats(-12.5, 4.5),
    with_point=st.booleans(),
    limit=st.sampled_from(LIMITS),
)
def test_any_point_any_word(
    large: sqlite_utils.Database, text: str, lat: float, lon: float, with_point: bool, limit: int | None
) -> None:
    check(large, text, (lat, lon) if with_point else None, limit)
