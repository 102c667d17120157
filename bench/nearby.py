"""Eligible-nearby latency on synthetic directories (1k / 10k / 100k services) against a naive scan, same run.

Usage: .venv/bin/python -m bench.nearby [--sizes 1000,10000,100000] [--runs 200] [--warmup 20] [--seed 7]

For each size: a synthetic directory (bench/synthetic.py) is loaded with the real `build_directory` into a
SQLite file in a temporary directory; reproducible questions (a sampled person at a real town, weighted like
the offices) are asked of `nearby()` with the default filters (radius 150 km, 50 results) and with a text
filter, and of the naive scan; then returnees are registered and referred on the same file. Prints markdown
tables of p50/p95 in milliseconds. Warm-up runs are not counted. Figures, not asserts: every result is checked
against the naive scan's and the count of differences is printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from bench.synthetic import NaiveDirectory, Query, build_synthetic, gazetteer, naive_nearby, sample_queries
from field_app.directory import nearby as nearby_module
from field_app.directory.nearby import NearbyHit, nearby
from field_app.referrals.service import refer
from field_app.returnees.service import register

GIVEN = ("Fatoumata", "Moussa", "Awa", "Seydou", "Aminata", "Bakary", "Mariam", "Oumar", "Kadiatou", "Ibrahim")
FAMILY = ("Traoré", "Diarra", "Coulibaly", "Keïta", "Diallo", "Sidibé", "Touré", "Konaté", "Sangaré", "Maïga")


def percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(fn: Callable[[Any], object], items: Sequence[Any], warmup: int) -> list[float]:
    """Milliseconds per call over `items`; the first `warmup` calls run but are not counted."""
    times = []
    for index, item in enumerate(items):
        start = time.perf_counter()
        fn(item)
        elapsed = (time.perf_counter() - start) * 1000
        if index >= warmup:
            times.append(elapsed)
    return times


def same(a: list[NearbyHit], b: list[NearbyHit]) -> bool:
    return [dataclasses.astuple(h) for h in a] == [dataclasses.astuple(h) for h in b]


def assessed_counts(db: sqlite_utils.Database, queries: Sequence[Query]) -> list[int]:
    """How many services `nearby` read and assessed per query (an untimed, counting pass)."""
    original = nearby_module._Collector.consider
    count = 0

    def counting(self: Any, *args: Any) -> None:
        nonlocal count
        count += 1
        original(self, *args)

    nearby_module._Collector.consider = counting  # type: ignore[method-assign,assignment]
    try:
        counts = []
        for q in queries:
            count = 0
            nearby(db, q.profile, q.near, q.filters, region=q.region)
            counts.append(count)
        return counts
    finally:
        nearby_module._Collector.consider = original  # type: ignore[method-assign]


def form(rng: random.Random, places: dict[str, str]) -> dict[str, Any]:
    locality, region = rng.choice(sorted(places.items()))
    return {
        "given_name": rng.choice(GIVEN),
        "family_name": rng.choice(FAMILY),
        "sex": rng.choice(["F", "M"]),
        "age": rng.randint(16, 45),
        "phone": f"7{rng.randint(0, 9)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        "languages": ["bm"],
        "region": region,
        "locality": locality,
        "returned_from": rng.choice(["LY", "DZ", "NE", "MR"]),
        "education": rng.choice(["none", "primary", "def"]),
        "reads_french": rng.choice([True, False]),
        "documents": rng.sample(["birth_certificate", "id_card", "photos"], rng.randint(0, 2)),
        "consent": True,
    }


def bench_size(size: int, args: argparse.Namespace, tmp: Path) -> tuple[list[str], list[str], str]:
    start = time.perf_counter()
    db = build_synthetic(tmp / f"nearby-{size}.db", size, seed=args.seed)
    built = time.perf_counter() - start
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("organizations", "service_offices")}
    build_line = (
        f"{size} services: {counts['organizations']} organisations, {counts['service_offices']} service offices; "
        f"build_directory {built:.1f} s"
    )
    localities = gazetteer()
    naive_runs = max(10, min(args.runs, 1_000_000 // size))  # the naive scan is slow: fewer runs at 100k
    naive_warmup = min(args.warmup, 3)
    rows = []
    directory = NaiveDirectory.read(db)  # the naive scan starts from every service already in memory
    kinds: list[tuple[str, dict[str, bool]]] = [
        ("default filters", {}),
        ("text filter", {"text": True}),
        ("varied filters ¹", {"varied": True}),
    ]
    for label, options in kinds:
        queries = sample_queries(args.warmup + args.runs, args.seed + size, localities=localities, **options)
        ours = timed(lambda q: nearby(db, q.profile, q.near, q.filters, region=q.region), queries, args.warmup)
        some = queries[args.warmup - naive_warmup : args.warmup + naive_runs]
        naive = timed(
            lambda q: naive_nearby(directory, q.profile, q.near, q.filters, region=q.region), some, naive_warmup
        )
        some = some[naive_warmup:]
        results = [nearby(db, q.profile, q.near, q.filters, region=q.region) for q in some]
        everything = [naive_nearby(directory, q.profile, q.near, q.filters, region=q.region, limit=None) for q in some]
        reference = [hits[:50] for hits in everything]  # what the naive scan returns with the default limit
        ranked = [len(hits) for hits in everything]
        read = assessed_counts(db, some)
        differ = sum(not same(a, b) for a, b in zip(results, reference, strict=True))
        o50, o95 = percentiles(ours)
        n50, n95 = percentiles(naive)
        rows.append(
            f"| {size:,} | {label} | {len(ours)} / {len(naive)} | {o50:.2f} | {o95:.2f} | {n50:.1f} | {n95:.1f} "
            f"| {sum(map(len, results)) / len(results):.1f} | {sum(read) / len(read):.0f} "
            f"| {sum(ranked) / len(ranked):.0f} | {differ} |"
        )
    writes = bench_writes(db, args, random.Random(args.seed + size))
    db.close()
    return rows, [f"| {size:,} | {w}" for w in writes], build_line


def bench_writes(db: sqlite_utils.Database, args: argparse.Namespace, rng: random.Random) -> list[str]:
    """register + refer on the store just measured: a new person each time, referred to a service near them."""
    places = {r[0]: r[1] for r in db.execute("SELECT id, region FROM localities")}
    services = [r[0] for r in db.execute("SELECT id FROM services ORDER BY id")]
    now = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
    reg: list[float] = []
    ref: list[float] = []
    both: list[float] = []
    for index in range(args.warmup + args.runs):
        data = form(rng, places)
        service_id = rng.choice(services)
        at = now + dt.timedelta(minutes=index)
        t0 = time.perf_counter()
        person = register(db, data, now=at)
        t1 = time.perf_counter()
        refer(db, returnee_id=person.id, service_id=service_id, consent_share=True, now=at)
        t2 = time.perf_counter()
        if index >= args.warmup:
            reg.append((t1 - t0) * 1000)
            ref.append((t2 - t1) * 1000)
            both.append((t2 - t0) * 1000)
    out = []
    for label, times in (("register", reg), ("refer (queue referral)", ref), ("register + refer", both)):
        p50, p95 = percentiles(times)
        out.append(f"{label} | {len(times)} | {p50:.2f} | {p95:.2f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated numbers of services")
    parser.add_argument("--runs", type=int, default=200, help="timed runs per figure (naive: at most 10^6 / size)")
    parser.add_argument("--warmup", type=int, default=20, help="runs before the timed ones, not counted")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(
        f"Machine: {os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"Runs: {args.runs} timed per nearby figure after {args.warmup} warm-up runs (not counted); the naive scan "
        f"on the first of the same questions, max(10, min({args.runs}, 10^6 / size)) runs after "
        f"{min(args.warmup, 3)} warm-up runs (not counted). Seed {args.seed}."
    )
    query_rows: list[str] = []
    write_rows: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            rows, writes, build_line = bench_size(size, args, Path(tmp))
            print(build_line, flush=True)
            query_rows += rows
            write_rows += writes
    print()
    print("Eligible nearby, milliseconds (nearby = field_app.directory.nearby; naive = bench.synthetic.naive_nearby)")
    print()
    print(
        "| services | query | runs (nearby / naive) | nearby p50 | nearby p95 | naive p50 | naive p95 "
        "| results | services assessed by nearby | services ranked by naive | results ≠ naive |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(query_rows))
    print()
    print(
        "¹ pathway, free only, eligible only, a text filter, radius 10 / 50 / 150 / 300 km or all of Mali, "
        "10 % of questions without a position (services then rank by name alone), another region; each at random."
    )
    print()
    print("Casework writes on the same files, milliseconds")
    print()
    print("| services | operation | runs | p50 | p95 |")
    print("|---:|---|---:|---:|---:|")
    print("\n".join(write_rows))
    print()
    print(f"Total {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
