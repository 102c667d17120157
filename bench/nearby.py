"""Eligible-nearby latency on synthetic directories (1k / 10k / 100k services) against a naive scan, same run.

Usage: .venv/bin/python -m bench.nearby [--sizes 1000,10000,100000] [--runs 200] [--warmup 20] [--seed 7]

For each size: a synthetic directory (bench/synthetic.py) is loaded with the real `build_directory` into a
SQLite file in a temporary directory; reproducible questions (a sampled person with sampled sectors of interest
and trade, at a real town weighted like the offices) are asked of

 - `nearby_partners()`: the grouped, ranked page the screen shows (10 partners with all their matching
   services, and the whole count), first page and the next one, with the default filters (150 km), a text
   filter, and varied filters (see ¹ below);
 - `nearby()`: the ranked services, 50 of them (what the query returned before issue 9);

and the same first questions of the naive scan (`bench.synthetic.naive_partners` / `naive_nearby`: every service
read, measured, assessed and matched in Python, then sorted and grouped). Prints markdown tables of p50/p95 in
milliseconds of wall time (perf_counter), and p95 of this process's CPU time too (process_time: the machine is
shared, and wall time counts the waits for a core). Warm-up runs are not counted; a text filter's matches, which
the query keeps with the directory's version for the next page, are forgotten before each run. Figures, not
asserts: every result is compared with the naive scan's and the count of differences is printed. Then returnees
are registered and referred on the same file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import sqlite_utils

from bench.synthetic import (
    NaiveDirectory,
    Query,
    build_synthetic,
    gazetteer,
    naive_nearby,
    naive_partners,
    sample_queries,
)
from field_app.directory import nearby as nearby_module
from field_app.directory.nearby import NearbyPage, nearby, nearby_partners
from field_app.referrals.service import refer
from field_app.returnees.service import register

GIVEN = ("Fatoumata", "Moussa", "Awa", "Seydou", "Aminata", "Bakary", "Mariam", "Oumar", "Kadiatou", "Ibrahim")
FAMILY = ("Traoré", "Diarra", "Coulibaly", "Keïta", "Diallo", "Sidibé", "Touré", "Konaté", "Sangaré", "Maïga")
PAGE = 10


def percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(fn: Callable[[Any], object], items: Sequence[Any], warmup: int) -> tuple[list[float], list[float]]:
    """(wall, CPU) milliseconds per call over `items`; the first `warmup` calls run but are not counted."""
    wall, cpu = [], []
    for index, item in enumerate(items):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(item)
        elapsed, elapsed_cpu = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
        if index >= warmup:
            wall.append(elapsed)
            cpu.append(elapsed_cpu)
    return wall, cpu


def assessed(db: sqlite_utils.Database, fn: Callable[[], object]) -> int:
    """How many services one call read and assessed (an untimed, counting pass)."""
    original = nearby_module._Query.hit
    count = 0

    def counting(self: Any, candidate: Any) -> Any:
        nonlocal count
        count += 1
        return original(self, candidate)

    nearby_module._Query.hit = counting  # type: ignore[method-assign]
    try:
        fn()
        return count
    finally:
        nearby_module._Query.hit = original  # type: ignore[method-assign]


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
        "sectors": rng.sample(["mechanics", "tailoring", "agriculture", "commerce"], rng.randint(0, 2)),
        "consent": True,
    }


def cold_words(db: sqlite_utils.Database) -> None:
    """Forget the words' matches kept with the directory: every text filter is timed as asked the first time."""
    nearby_module._index(db).words.clear()


def ours_partners(db: sqlite_utils.Database, q: Query, offset: int) -> Any:
    cold_words(db)
    return nearby_partners(
        db, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region,
        offset=offset, limit=PAGE,
    )  # fmt: skip


def naive_page(directory: NaiveDirectory, q: Query, offset: int) -> Any:
    return naive_partners(
        directory, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region,
        offset=offset, limit=PAGE,
    )  # fmt: skip


def ours_services(db: sqlite_utils.Database, q: Query) -> Any:
    cold_words(db)
    return nearby(db, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region)


def naive_services(directory: NaiveDirectory, q: Query) -> Any:
    return naive_nearby(directory, q.profile, q.near, q.filters, today=q.today, interests=q.interests, region=q.region)


def bench_size(size: int, args: argparse.Namespace, tmp: Path) -> tuple[list[str], list[str], str]:
    start = time.perf_counter()
    db = build_synthetic(tmp / f"nearby-{size}.db", size, seed=args.seed)
    built = time.perf_counter() - start
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("organizations", "service_offices")}
    start = time.perf_counter()
    nearby_module._index(db)  # the directory's shape, read once per version of the directory
    shape = time.perf_counter() - start
    build_line = (
        f"{size} services: {counts['organizations']} organisations, {counts['service_offices']} service offices; "
        f"build_directory {built:.1f} s; the shape read into memory once {shape * 1000:.0f} ms"
    )
    localities = gazetteer()
    naive_runs = max(10, min(args.runs, 1_000_000 // size))  # the naive scan is slow: fewer runs at 100k
    naive_warmup = min(args.warmup, 3)
    rows = []
    directory = NaiveDirectory.read(db)  # the naive scan starts from every service already in memory
    kinds: list[tuple[str, dict[str, bool], str]] = [
        ("partners, first page, default filters", {}, "page0"),
        ("partners, second page, default filters", {}, "page1"),
        ("partners, first page, text filter", {"text": True}, "page0"),
        ("partners, first page, varied filters ¹", {"varied": True}, "page0"),
        ("50 services, default filters", {}, "flat"),
        ("50 services, varied filters ¹", {"varied": True}, "flat"),
    ]
    for label, options, how in kinds:
        queries = sample_queries(args.warmup + args.runs, args.seed + size, localities=localities, **options)
        some = queries[args.warmup - naive_warmup : args.warmup + naive_runs]
        fn: Callable[[Query], object]
        naive: Callable[[Query], object]
        if how == "flat":
            fn, naive = partial(ours_services, db), partial(naive_services, directory)
        else:
            offset = PAGE if how == "page1" else 0
            fn, naive = partial(ours_partners, db, offset=offset), partial(naive_page, directory, offset=offset)
        wall, cpu = timed(fn, queries, args.warmup)
        naive_wall, _ = timed(naive, some, naive_warmup)
        checked = some[naive_warmup:]
        results = [fn(q) for q in checked]
        differ = sum(r != naive(q) for r, q in zip(results, checked, strict=True))
        read = [assessed(db, partial(fn, q)) for q in checked]
        pages = [r for r in results if isinstance(r, NearbyPage)]
        if pages:
            shown = f"{sum(len(p.partners) for p in pages) / len(pages):.1f} partners"
            matched = f"{sum(p.total_services for p in pages) / len(pages):.0f}"
        else:
            shown = f"{sum(len(r) for r in results if isinstance(r, list)) / len(results):.1f} services"
            matched = "—"
        o50, o95 = percentiles(wall)
        _, c95 = percentiles(cpu)
        n50, n95 = percentiles(naive_wall)
        rows.append(
            f"| {size:,} | {label} | {len(wall)} / {len(naive_wall)} | {o50:.2f} | {o95:.2f} | {c95:.2f} "
            f"| {n50:.1f} | {n95:.1f} | {shown} | {matched} | {sum(read) / len(read):.0f} | {differ} |"
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
        f"Runs: {args.runs} timed per figure after {args.warmup} warm-up runs (not counted); the naive scan on the "
        f"first of the same questions, max(10, min({args.runs}, 10^6 / size)) runs after {min(args.warmup, 3)} "
        f"warm-up runs (not counted). Seed {args.seed}."
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
    print(
        "Eligible nearby, milliseconds (ours = field_app.directory.nearby, grouped `nearby_partners` or ranked "
        "`nearby`; naive = bench.synthetic.naive_partners / naive_nearby)"
    )
    print()
    print(
        "| services | query | runs (ours / naive) | ours p50 | ours p95 | ours p95 CPU | naive p50 | naive p95 "
        "| shown | services matched | services assessed by ours | results ≠ naive |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(query_rows))
    print()
    print(
        "¹ pathway, free only, eligible only (these two assess everything in reach: only verdicts can count what "
        "they keep), a text filter, radius 10 / 50 / 150 / 300 km or all of Mali, 10 % of questions without a "
        "position, another region, another day; each at random."
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
