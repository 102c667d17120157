"""Directory search latency on the bundled directory: FTS5 search vs a naive Python scan, in the same run.

Usage: .venv/bin/python bench/search.py [--runs 300]
Prints p50/p95 in milliseconds per query kind. Figures, not asserts: compare the two columns of one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from field_app.directory.build import build_directory
from field_app.directory.search import resolve_place, search
from field_app.domain.geo import fold, haversine_km
from field_app.storage.database import open_db


def percentiles(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        build_directory(db)
        kayes = resolve_place(db, "kayes")
        near = (kayes.latitude, kayes.longitude)
        rows = list(
            db.query(
                "SELECT s.id, s.name, o.name AS org, l.latitude, l.longitude FROM services s "
                "JOIN organizations o ON o.id = s.organization_id "
                "LEFT JOIN service_locations sl ON sl.service_id = s.id LEFT JOIN locations l ON l.id = sl.location_id"
            )
        )

        def naive(text: str, with_near: bool) -> list[tuple[float, str]]:
            words = fold(text).split()
            out = []
            for r in rows:
                hay = fold(f"{r['name']} {r['org']}")
                if all(w in hay for w in words):
                    d = haversine_km(*near, r["latitude"], r["longitude"]) if with_near and r["latitude"] else 1e9
                    out.append((d, r["id"]))
            return sorted(out)[:50]

        services = db.execute("SELECT count(*) FROM services").fetchone()[0]
        print(f"{services} services, {args.runs} runs per query; milliseconds (p50 / p95)")
        cases = [
            ("text 'menuis'", lambda: search(db, "menuis"), lambda: naive("menuis", False)),
            ("text 'couture' near Kayes", lambda: search(db, "couture", near=near), lambda: naive("couture", True)),
            ("everything near Kayes", lambda: search(db, "", near=near), lambda: naive("", True)),
        ]
        for label, ours, baseline in cases:
            a50, a95 = percentiles(ours, args.runs)
            b50, b95 = percentiles(baseline, args.runs)
            print(f"{label:28} search {a50:6.2f} / {a95:6.2f}    naive scan {b50:6.2f} / {b95:6.2f}")


if __name__ == "__main__":
    main()
