""" "My referrals" on a phone holding 10,000 people and 20,000 referrals: the paged JOIN against the old way.

Usage: .venv/bin/python -m bench.referrals [--people 10000] [--referrals 20000] [--runs 200] [--naive-runs 5]

A device database (the bundled directory) in a temporary directory is filled through the storage's own write
functions (tests/referrals/seed.py: each record with its outbox entry; ties, cancels, office moves, a few people
not on this phone). Then, in the same run:

- new: `referrals.service.referral_page` — a page of 50 from one indexed JOIN plus the count — for the first page,
  for a page deep in the list (keyset: the 200th page costs what the first does) and for one person's page; the
  view model ("My referrals" as the screen reads it) and the Flet controls the screen builds for it;
- naive: `referrals.service.referral_lines` (the old way: two queries and a parse of every referral and its
  events), and the controls the screen built when it showed every line.

The first page is checked to hold the naive list's first 50 lines (newest first). Prints p50/p95 in milliseconds;
figures, not asserts. Warm-up runs are not counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import default_db_dir, load_dataset
from field_app.referrals.service import referral_lines, referral_page
from field_app.storage.database import open_db
from field_app.ui.viewmodels.referrals import ReferralsViewModel
from field_app.ui.views.common import Nav
from field_app.ui.views.referrals import referrals_view
from tests.referrals.seed import seed
from tests.ui.helpers import walk

TARGET_MS = 10.0  # the goal for a page of 50 at 20,000 referrals


def percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(fn: Callable[[], object], runs: int, warmup: int) -> list[float]:
    """Milliseconds per call; the first `warmup` calls run but are not counted."""
    times = []
    for index in range(runs + warmup):
        start = time.perf_counter()
        fn()
        elapsed = (time.perf_counter() - start) * 1000
        if index >= warmup:
            times.append(elapsed)
    return times


def clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def controls(view: object) -> int:
    return sum(1 for _ in walk(view))


def nav() -> Nav:
    return Nav(go=lambda route: None, back=lambda: None, show_dialog=lambda d: None, close_dialog=lambda: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--naive-runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "field_app.db"
        db = open_db(path)
        build_directory(db, dataset=load_dataset(default_db_dir()))
        start = time.perf_counter()
        seed(db, people=args.people, referrals=args.referrals)
        filled = time.perf_counter() - start
        db.close()
        db = open_db(path)  # a cold connection, as the app opens it
        report(db, args, filled)
        db.close()


def report(db: sqlite_utils.Database, args: argparse.Namespace, filled: float) -> None:
    first = referral_page(db)
    deep, deep_page = first, min(200, args.referrals // 50 - 1) + 1
    for _ in range(deep_page - 1):
        assert deep.next is not None
        deep = referral_page(db, after=deep.next)
    deep_after = deep.next
    someone = db.execute("SELECT returnee_id FROM referrals GROUP BY returnee_id ORDER BY count(*) DESC").fetchone()[0]

    rows: list[tuple[str, list[float]]] = [
        ("new: first page of 50 (one JOIN + count)", timed(lambda: referral_page(db), args.runs, args.warmup)),
        (f"new: page {deep_page} (keyset)", timed(lambda: referral_page(db, after=deep_after), args.runs, args.warmup)),
        (
            "new: one person's page",
            timed(lambda: referral_page(db, returnee_id=someone), args.runs, args.warmup),
        ),
        ("new: view model (page + words)", timed(lambda: ReferralsViewModel(db, clock), args.runs, args.warmup)),
        (
            "new: view model + Flet controls",
            timed(lambda: referrals_view(ReferralsViewModel(db, clock), nav()), args.runs // 4, args.warmup // 4),
        ),
    ]
    naive_lines = []

    def naive() -> None:
        naive_lines[:] = referral_lines(db)

    rows.append(("naive: every referral parsed (old way)", timed(naive, args.naive_runs, 1)))

    # the first page holds the naive list's newest 50 (ties within a second ordered by id from the end)
    expected = sorted(naive_lines, key=lambda x: (x.stored.referral.created_at, x.stored.referral.id), reverse=True)
    same = [x.id for x in first.lines] == [x.stored.referral.id for x in expected[:50]]

    paged = controls(referrals_view(ReferralsViewModel(db, clock), nav()))
    everything = ReferralsViewModel(db, clock, page=args.referrals + 1)  # the old screen: every line at once
    start = time.perf_counter()
    everything_view = referrals_view(everything, nav())
    build_all = (time.perf_counter() - start) * 1000
    every = controls(everything_view)

    print(f"# My referrals: {args.people:,} people, {args.referrals:,} referrals")
    print()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs; filled in {filled:.1f} s; target p95 ≤ {TARGET_MS:g} ms for a page of 50"
    )
    print()
    print("| what | runs | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|")
    for name, times in rows:
        p50, p95 = percentiles(times)
        print(f"| {name} | {len(times)} | {p50:.2f} | {p95:.2f} |")
    print()
    print(f"- first page = the naive list's newest 50: {'yes' if same else 'NO'}")
    print(f"- Flet controls: {paged:,} for a page of 50 (with More) against {every:,} for every line at once")
    print(f"  (building those {every:,} controls alone took {build_all:,.0f} ms, before any were sent to the page)")


if __name__ == "__main__":
    main()
