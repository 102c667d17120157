"""Directory search latency: `field_app.directory.search` against the search as it was before issue 9, same run.

Usage: .venv/bin/python -m bench.search [--sizes 0,1000,10000] [--runs 200] [--warmup 10] [--seed 7]

Size 0 is the bundled directory (db/); other sizes are synthetic directories (bench/synthetic.py) loaded with the
real `build_directory`. The questions are what the directory screen asks (`search_questions`): the screen opened
(no text), a word, every prefix of a word as it is typed (the screen searches on each key), two words, each
without a place and near a region or cercle capital (the screen's "near" picker), 60 results as the screen asks.

`naive_search` is the search before issue 9, kept as the reference: it reads every service and every office on
each call and sorts in Python. Every result of the new search is compared with its result and the number of
differences printed (the equivalence tests in tests/directory/test_search_equivalence.py check the same).
Figures, not asserts: p50 / p95 in milliseconds, both columns from the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.directory.search import SearchHit, fts_query, search
from field_app.domain.directory import status_on
from field_app.domain.geo import haversine_km
from field_app.domain.vocabulary import REGION_NAMES, Region, ServiceStatus

SCREEN_LIMIT = 60  # what DirectoryViewModel asks for
WORDS = ("couture", "menuis", "soudure", "mecanique", "electricite", "aviculture", "informatique", "coiffure",
         "maraich", "credit", "alphabetisation", "solaire", "jeunes", "formation", "centre", "kayes", "bamako",
         "association", "emploi", "gestion")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The reference: the search before issue 9, as it was (plus `today`, stated the obvious way)


def naive_search(
    db: sqlite_utils.Database,
    text: str | None = None,
    *,
    near: tuple[float, float] | None = None,
    limit: int | None = 50,
    today: dt.date | None = None,
) -> list[SearchHit]:
    """Every matching service id ranked, then every service and every office read, then sorted in Python."""
    query = fts_query(text or "")
    dated = today is not None
    if query:
        ranked = [
            r["service_id"]
            for r in db.query(
                "SELECT service_id FROM services_fts WHERE services_fts MATCH ? "
                "ORDER BY bm25(services_fts, 0, 10, 5, 3, 1)",
                [query],
            )
        ]
    elif not dated:  # no text: services people can join first, donor programmes last
        ranked = [
            r["id"]
            for r in db.query(
                "SELECT s.id FROM services s JOIN organizations o ON o.id = s.organization_id "
                "ORDER BY o.kind = 'donor_programme', s.status != 'active', o.name, s.rowid"
            )
        ]
    else:  # the same order, "active" as on `today`
        rows = list(
            db.query(
                "SELECT s.id, s.status, o.kind, o.name, s.rowid AS rowid"
                + (", s.start_date, s.end_date" if dated else "")
                + " FROM services s JOIN organizations o ON o.id = s.organization_id"
            )
        )
        rows.sort(key=lambda r: (r["kind"] == "donor_programme", _status(r, today) != "active", r["name"], r["rowid"]))
        ranked = [r["id"] for r in rows]
    if not ranked:
        return []
    order = {sid: i for i, sid in enumerate(ranked)}
    services = {
        r["id"]: r
        for r in db.query(
            "SELECT s.id, s.organization_id, s.name, s.pathway, s.category, s.status, s.service_area, o.name AS org"
            + (", s.start_date, s.end_date" if dated else "")
            + " FROM services s JOIN organizations o ON o.id = s.organization_id"
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
    hits = [_naive_hit(services[sid], offices.get(sid, []), near, today) for sid in ranked if sid in services]
    if near is not None:
        hits.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, order[h.service_id]))
    return hits[:limit] if limit else hits


def _status(row: dict[str, Any], today: dt.date | None) -> str:
    if today is None:
        return str(row["status"])
    start = dt.date.fromisoformat(row["start_date"]) if row["start_date"] else None
    end = dt.date.fromisoformat(row["end_date"]) if row["end_date"] else None
    return status_on(ServiceStatus(row["status"]), start, end, today).value


def _naive_hit(
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


# ---------------------------------------------------------------------------------------------------------------
# The questions


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    near: tuple[float, float] | None
    place: str | None
    limit: int | None = SCREEN_LIMIT


def capitals(db: sqlite_utils.Database) -> list[tuple[str, float, float]]:
    """(name, latitude, longitude) of the region and cercle capitals: the directory screen's "near" choices."""
    return [
        (r[0], r[1], r[2])
        for r in db.execute(
            "SELECT name, latitude, longitude FROM localities WHERE kind IN ('region_capital', 'cercle_capital') "
            "ORDER BY id"
        )
    ]


def search_questions(db: sqlite_utils.Database, n: int, seed: int) -> list[Question]:
    """`n` reproducible questions of the directory screen, a quarter of each kind, half of them near a capital."""
    rng = random.Random(seed)
    places = capitals(db)
    out: list[Question] = []
    for index in range(n):
        kind = ("no text", "a word", "typing a word", "two words")[index % 4]
        word = rng.choice(WORDS)
        text = {
            "no text": "",
            "a word": word,
            "typing a word": word[: rng.randint(1, len(word))],
            "two words": f"{word} {rng.choice(WORDS)}",
        }[kind]
        near = None
        place = None
        if rng.random() < 0.5 and places:
            place, lat, lon = rng.choice(places)
            near = (lat, lon)
        out.append(Question(kind + (" near a town" if near else ""), text, near, place))
    return out


def percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(fn: Callable[[Question], object], questions: Sequence[Question], warmup: int) -> list[float]:
    """Milliseconds per call; the first `warmup` calls run but are not counted."""
    times = []
    for index, q in enumerate(questions):
        start = time.perf_counter()
        fn(q)
        elapsed = (time.perf_counter() - start) * 1000
        if index >= warmup:
            times.append(elapsed)
    return times


def ours(db: sqlite_utils.Database) -> Callable[[Question], list[SearchHit]]:
    return lambda q: search(db, q.text, near=q.near, limit=q.limit)


def naive(db: sqlite_utils.Database) -> Callable[[Question], list[SearchHit]]:
    return lambda q: naive_search(db, q.text, near=q.near, limit=q.limit)


def differences(db: sqlite_utils.Database, questions: Sequence[Question]) -> int:
    """Questions whose answer differs from the naive search's (hit for hit, every field)."""
    new, old = ours(db), naive(db)
    return sum([dataclasses.astuple(h) for h in new(q)] != [dataclasses.astuple(h) for h in old(q)] for q in questions)


def compare(
    db: sqlite_utils.Database, runs: int, warmup: int, seed: int, naive_runs: int | None = None
) -> list[tuple[str, int, float, float, int, float, float]]:
    """(kind, runs, p50, p95, naive runs, naive p50, naive p95) per kind of question and for all of them."""
    questions = search_questions(db, warmup + runs, seed)
    new_times = timed(ours(db), questions, warmup)
    some = questions[: warmup + (naive_runs or runs)]
    old_times = timed(naive(db), some, warmup)
    rows = []
    kinds = sorted({q.kind for q in questions[warmup:]}, key=lambda k: (k.endswith("town"), k))
    for kind in [*kinds, "all questions"]:
        mine = [t for q, t in zip(questions[warmup:], new_times, strict=True) if kind in (q.kind, "all questions")]
        theirs = [t for q, t in zip(some[warmup:], old_times, strict=True) if kind in (q.kind, "all questions")]
        if mine and theirs:
            rows.append((kind, len(mine), *percentiles(mine), len(theirs), *percentiles(theirs)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="0,1000,10000", help="numbers of services; 0 = the bundled directory")
    parser.add_argument("--runs", type=int, default=200, help="timed questions per size")
    parser.add_argument("--naive-runs", type=int, default=60, help="of which the naive search answers this many")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from bench.synthetic import build_synthetic  # here: importing it loads the directory build chain
    from field_app.directory.build import build_directory
    from field_app.storage.database import open_db

    print(
        f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("| services | question | runs | search p50 | p95 | naive runs | naive p50 | p95 | differences |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            path = Path(tmp) / f"search-{size}.db"
            if size:
                db = build_synthetic(path, size, seed=args.seed)
            else:
                db = open_db(path)
                build_directory(db)
            count = db.execute("SELECT count(*) FROM services").fetchone()[0]
            checked = search_questions(db, args.naive_runs, args.seed + 1)
            differ = differences(db, checked)
            for kind, n, p50, p95, nn, n50, n95 in compare(db, args.runs, args.warmup, args.seed, args.naive_runs):
                print(
                    f"| {count:,} | {kind} | {n} | {p50:.2f} | {p95:.2f} | {nn} | {n50:.1f} | {n95:.1f} "
                    f"| {differ if kind == 'all questions' else ''} |",
                    flush=True,
                )
            db.close()
    print(f"differences: over {args.naive_runs} other questions per size, answers unlike the naive search's")


if __name__ == "__main__":
    main()
