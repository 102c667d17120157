"""The office inbox at 10,000 and 100,000 referrals, the supervisor's XLSX export, and an office catching up.

Usage: .venv/bin/python -m bench.office [--sizes 10000,100000] [--runs 120] [--export 100000] [--pull 10000]
                                        [--seed 0] [--skip-pull]

1. Inbox: a device database (the bundled directory, migration 5) filled with N referrals of one region (Kayes)
   as the sync engine stores pulled ones — `referrals` rows with their events and shared persons, statuses spread
   over the workflow, a third open and idle for more than the overdue delay, 1 % flagged — inserted with
   executemany. `casework.office.inbox` (first page of 50) is timed p50/p95 over `--runs` calls for: default
   filters, a status filter, a text search (a family name, accent-blind), overdue only. The naive scan in the same
   run reads every row of the region into Python, filters and sorts there; both must give the same page and total
   (checked on every query shape before timing).
2. Export: `casework.exports.export_referrals` of `--export` referrals to XLSX on a supervisor device (names:
   every referral has consent, so every row also writes its access row and outbox entry): wall time, and peak
   Python memory (tracemalloc, a second run) and the process's peak RSS.
3. Pull: a real hub process (tests/sync/hubproc.py); an agent device pushes `--pull` referrals (100 returnees);
   then an office device of the same region enrols and syncs once through the (unshaped) fault proxy, which
   counts the bytes: time and kB pulled, referrals it then holds.
Prints markdown tables and the machine. Figures, not asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from bench.sync import FAMILY, GIVEN, copy_device
from field_app.casework import office as office_api
from field_app.directory.build import build_directory
from field_app.domain.geo import fold
from field_app.domain.referrals import CLOSED
from field_app.domain.workflow import DEFAULT_OVERDUE_DAYS
from field_app.storage.database import open_db
from field_app.storage.sync_state import save_enrolment

REGION = "kayes"
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
PAGE = 50
TARGET_MS = 50.0  # the target for the inbox's p95 at 100,000 referrals
# status → (share of referrals, events after `created`)
MIX: list[tuple[str, float, tuple[str, ...]]] = [
    ("sent", 0.10, ("sent",)),
    ("received", 0.20, ("sent", "received")),
    ("accepted", 0.15, ("sent", "received", "accepted")),
    ("declined", 0.10, ("sent", "received", "declined")),
    ("enrolled", 0.15, ("sent", "received", "accepted", "enrolled")),
    ("completed", 0.20, ("sent", "received", "accepted", "enrolled", "completed")),
    ("not_completed", 0.05, ("sent", "received", "accepted", "not_completed")),
    ("revoked", 0.05, ("revoked",)),
]
REASONS = ("partner_full", "not_eligible", "person_unreachable", "person_declined")
OUTCOMES = ("trained", "job_placement", "self_employment")
CLOSED_CODES = {s.value for s in CLOSED}


def rid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed_referrals(db: sqlite_utils.Database, n: int, *, seed: int = 0, region: str = REGION) -> None:
    """`n` pulled referrals of `region` with their events and shared persons, inserted in bulk."""
    rng = random.Random(seed)
    services = db.execute("SELECT id, organization_id FROM services ORDER BY id").fetchall()
    devices = [rid(rng) for _ in range(20)]
    statuses = [m[0] for m in MIX]
    weights = [m[1] for m in MIX]
    kinds = {m[0]: m[2] for m in MIX}
    referrals, events, people = [], [], []
    for _k in range(n):
        ref, returnee = rid(rng), rid(rng)
        service, org = rng.choice(services)
        status = rng.choices(statuses, weights)[0]
        created = NOW - dt.timedelta(days=rng.uniform(0, 365))
        steps = kinds[status]
        idle = rng.random() < 0.33  # a third lies idle past the overdue delay
        span = (NOW - created).total_seconds()
        times = sorted(created + dt.timedelta(seconds=rng.uniform(0, span)) for _ in steps)
        if not idle and status not in CLOSED_CODES and times:
            times[-1] = NOW - dt.timedelta(days=rng.uniform(0, DEFAULT_OVERDUE_DAYS - 1))
        ev = [("created", created), *zip(steps, times, strict=True)]
        ids = [rid(rng) for _ in ev]
        for eid, (kind, at) in zip(ids, ev, strict=True):
            doc = {"id": eid, "referral_id": ref, "kind": kind, "at": at.isoformat()}
            events.append((eid, ref, kind, at.isoformat(), json.dumps(doc)))
        flagged: list[str] = []
        if rng.random() < 0.01:  # an event the status no longer allowed (the agent cancelled, the office accepted)
            late = rid(rng)
            at = ev[-1][1] + dt.timedelta(hours=1)
            events.append((late, ref, "revoked", at.isoformat(), json.dumps({"id": late, "kind": "revoked"})))
            flagged = [late]
        last = max(at for _kind, at in ev).isoformat()
        document = {
            "id": ref, "returnee_id": returnee, "service_id": service, "organization_id": org, "region": region,
            "consent_share_at": created.isoformat(), "created_at": created.isoformat(),
        }  # fmt: skip
        follow = (NOW + dt.timedelta(days=rng.randint(1, 30))).date().isoformat() if rng.random() < 0.1 else None
        referrals.append(
            (ref, returnee, service, org, region, status, json.dumps(flagged), json.dumps(document),
             created.isoformat(), last, rng.choice(devices), last, follow,
             rng.choice(REASONS) if status in ("declined", "not_completed") else None,
             rng.choice(OUTCOMES) if status == "completed" else None, ref[:8].upper())
        )  # fmt: skip
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        phone = f"+2237{rng.randint(0, 9_999_999):07d}"
        person = {"returnee_id": returnee, "given_name": given, "family_name": family, "sex": rng.choice("FM"),
                  "phone": phone, "region": region}  # fmt: skip
        people.append((returnee, given, family, phone, fold(f"{given} {family}"), json.dumps(person), last))
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, status, flagged, document, "
            "created_at, updated_at, origin_device, last_event_at, follow_up, reason, outcome, code) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            referrals,
        )
        db.conn.executemany(
            "INSERT INTO referral_events (id, referral_id, kind, at, document) VALUES (?, ?, ?, ?, ?)", events
        )
        db.conn.executemany(
            "INSERT INTO shared_persons (returnee_id, given_name, family_name, phone, folded_name, document, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            people,
        )
    db.execute("ANALYZE")


# --- the naive scan --------------------------------------------------------------------------------------------


def _words_start(text: str, name: str) -> bool:
    """Every word of the search starts some word of the name (the inbox's full-text name search)."""
    words = name.split()
    return all(any(w.startswith(t) for w in words) for t in text.split())


def naive_inbox(db: sqlite_utils.Database, filters: Any, *, region: str, now: dt.datetime) -> tuple[list[str], int]:
    """Every referral of the region into Python, filtered and sorted there: (first page ids, total)."""
    cutoff = now - dt.timedelta(days=DEFAULT_OVERDUE_DAYS)
    rows = db.execute(
        "SELECT r.id, r.code, r.status, r.created_at, r.last_event_at, p.folded_name "
        "FROM referrals r LEFT JOIN shared_persons p ON p.returnee_id = r.returnee_id WHERE r.region = ?",
        [region],
    ).fetchall()
    kept = []
    text = fold(filters.text.strip()) if filters.text else None
    for ref, code, status, created, last, name in rows:
        overdue = status not in CLOSED_CODES and dt.datetime.fromisoformat(last) <= cutoff
        if filters.status and status != filters.status:
            continue
        if filters.overdue_only and not overdue:
            continue
        if text and not (code.lower().startswith(text) or (name and _words_start(text, name))):
            continue
        kept.append((overdue, created, ref))
    kept.sort(reverse=True)  # overdue first, then newest (then the larger id, as the inbox)
    return [k[2] for k in kept[:PAGE]], len(kept)


# --- timing ----------------------------------------------------------------------------------------------------


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


@dataclass(frozen=True)
class InboxRow:
    size: int
    shape: str
    total: int
    p50: float
    p95: float
    naive_p50: float
    naive_p95: float
    same: bool


def shapes() -> list[tuple[str, Any]]:
    filters_cls = office_api.InboxFilters
    return [
        ("default filters", filters_cls()),
        ("status = received", filters_cls(status="received")),
        ("text search 'traore'", filters_cls(text="traore")),
        ("overdue only", filters_cls(overdue_only=True)),
    ]


def bench_inbox(db: sqlite_utils.Database, size: int, runs: int) -> list[InboxRow]:
    out = []
    naive_runs = max(10, min(runs, 2_000_000 // size))
    for shape, filters in shapes():

        def fast(f: Any = filters) -> Any:
            return office_api.inbox(db, region=REGION, filters=f, now=NOW, limit=PAGE)

        page = fast()
        ids, total = naive_inbox(db, filters, region=REGION, now=NOW)
        same = [i.id for i in page.items] == ids and page.total == total
        t = timed(fast, runs)

        def naive(f: Any = filters) -> Any:
            return naive_inbox(db, f, region=REGION, now=NOW)

        n = timed(naive, naive_runs, warmup=1)
        out.append(InboxRow(size, shape, total, *percentiles(t), *percentiles(n), same))
    return out


def query_plans(db: sqlite_utils.Database, filters: Any) -> list[str]:
    """Each statement the inbox runs for `filters` (captured with a trace callback), its time and its
    EXPLAIN QUERY PLAN: where the time goes when a query shape misses its target."""
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        office_api.inbox(db, region=REGION, filters=filters, now=NOW, limit=PAGE)
    finally:
        db.conn.set_trace_callback(None)
    lines = []
    for sql in seen:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        start = time.perf_counter()
        db.conn.execute(sql).fetchall()
        ms = (time.perf_counter() - start) * 1000
        lines.append(f"[{ms:.1f} ms] " + " ".join(sql.split())[:400])
        plan = db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        lines.extend(f"    {row[-1]}" for row in plan)
    return lines


# --- export ----------------------------------------------------------------------------------------------------


EXPORT_CHILD = """
import datetime as dt, sys, time
from pathlib import Path
from field_app.storage.database import open_db


def hwm():  # this process's peak RSS in KiB (VmHWM: per address space, so not inherited from the parent)
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM"))
    return int(line.split()[1])


db = open_db(sys.argv[1])
from field_app.casework.exports import export_referrals
base = hwm()
if sys.argv[3] == "export":
    start = time.perf_counter()
    n = export_referrals(db, sys.argv[2], fmt="xlsx", region="kayes", now=dt.datetime.fromisoformat(sys.argv[4]))
    print(n, time.perf_counter() - start, base, hwm())
else:
    print(0, 0.0, base, hwm())
"""


def _child(db_path: Path, out: Path, what: str) -> tuple[int, float, float, float]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD, str(db_path), str(out), what, NOW.isoformat()],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    n, seconds, base, peak = done.stdout.split()
    return int(n), float(seconds), int(base) / 1024, int(peak) / 1024


def bench_export(db: sqlite_utils.Database, db_path: Path, where: Path) -> tuple[int, float, float, float, float, int]:
    """(rows, seconds, peak Python MiB (tracemalloc), peak RSS MiB of a fresh process doing only the export,
    that process's peak RSS before the export (imports, database open), file bytes)."""
    from field_app.casework.exports import export_referrals

    path = where / "referrals.xlsx"
    rows, seconds, idle, rss = _child(db_path, path, "export")  # a fresh process: its peak RSS is the export's
    size = path.stat().st_size
    db.execute("DELETE FROM access_log")
    db.execute("DELETE FROM outbox")
    tracemalloc.start()
    export_referrals(db, where / "again.xlsx", fmt="xlsx", region=REGION, now=NOW)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, seconds, peak / 2**20, rss, idle, size


# --- pull ------------------------------------------------------------------------------------------------------


def bench_pull(template: sqlite_utils.Database, where: Path, n: int) -> str:
    from bench.faultproxy import FaultProxy
    from bench.sync import wire_ops_after
    from field_app.sync.client import HubClient
    from field_app.sync.engine import SyncEngine, enrol
    from field_app.sync.protocol import MAX_BATCH
    from tests.sync.hubproc import HubProcess

    services = [r[0] for r in template.execute("SELECT id FROM services ORDER BY id").fetchall()]
    hub = HubProcess(str(where / "hub.db"), where, name="office-pull").start()
    try:
        agent = copy_device(template, where / "agent.db")
        state = enrol(agent, hub.url, hub.enrol_code("agent", REGION))
        people, referrals = wire_ops_after(agent, services, n)
        start = time.perf_counter()
        with HubClient(hub.url, token=state.token) as client:
            for ops in (people, referrals):
                for k in range(0, len(ops), MAX_BATCH):
                    client.push(ops[k : k + MAX_BATCH])
        pushed = time.perf_counter() - start
        office = copy_device(template, where / "office.db")
        with FaultProxy(hub.address) as proxy:
            office_state = enrol(office, proxy.url, hub.enrol_code("office", REGION))
            proxy.reset_stats()
            start = time.perf_counter()
            with HubClient(proxy.url, token=office_state.token) as client:
                SyncEngine(office, client).sync_once()
            seconds = time.perf_counter() - start
            exchanges = [e for e in proxy.exchanges() if "/sync/pull" in e.path]
        held = office.execute("SELECT count(*) FROM referrals").fetchone()[0]
        persons = office.execute("SELECT count(*) FROM shared_persons").fetchone()[0]
        down = sum(e.bytes_down for e in exchanges)
        up = sum(e.bytes_up for e in exchanges)
        return (
            f"| {n} | {pushed:,.1f} | {seconds:,.1f} | {len(exchanges)} | {down / 1000:,.0f} | {up / 1000:,.1f} "
            f"| {held} | {persons} |"
        )
    finally:
        hub.stop()


# --- main ------------------------------------------------------------------------------------------------------


def device(template: sqlite_utils.Database, path: Path, role: str) -> sqlite_utils.Database:
    db = copy_device(template, path)
    save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="bench", device_id=str(uuid.uuid4()), token="-", role=role,
        region=REGION if role == "office" else None, now=NOW,
    )  # fmt: skip
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--pull", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-pull", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip() and int(s)]

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        template = open_db(where / "template.db")
        build_directory(template)
        rows: list[InboxRow] = []
        plans: list[str] = []
        seeded: dict[int, float] = {}
        for size in sizes:
            db = device(template, where / f"office-{size}.db", "office")
            start = time.perf_counter()
            seed_referrals(db, size, seed=args.seed)
            seeded[size] = time.perf_counter() - start
            rows.extend(bench_inbox(db, size, args.runs))
            if size == max(sizes):  # the plans of the shapes that miss p95 <= 50 ms (default filters if none)
                slow = {r.shape for r in rows if r.size == size and r.p95 > TARGET_MS} or {"default filters"}
                for shape, filters in shapes():
                    if shape in slow:
                        plans += [f"{shape}:", *query_plans(db, filters), ""]
            db.close()
        export_line = ""
        if args.export:
            db = device(template, where / "supervisor.db", "supervisor")
            seed_referrals(db, args.export, seed=args.seed + 1)
            n, seconds, peak, rss, idle, size = bench_export(db, where / "supervisor.db", where)
            export_line = (
                f"| {n:,} | {seconds:,.1f} | {n / seconds:,.0f} | {peak:,.1f} | {rss:,.0f} ({idle:,.0f} before "
                f"the export) | {size / 2**20:,.1f} |"
            )
            db.close()
        pull_line = ""
        if not args.skip_pull and args.pull:
            try:
                pull_line = bench_pull(template, where, args.pull)
            except Exception as exc:  # the hub's side may not be there yet: say so, keep the other figures
                pull_line = f"| {args.pull} | pull failed: {type(exc).__name__}: {str(exc)[:200]} | | | | | | |"

    print()
    print(
        f"Inbox (casework.office.inbox), first page of {PAGE}, region {REGION}, {args.runs} timed runs "
        "(naive: fewer at 100k)."
    )
    print()
    print("| referrals | query | matches | p50 ms | p95 ms | naive p50 ms | naive p95 ms | same page |")
    print("|---:|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r.size:,} | {r.shape} | {r.total:,} | {r.p50:.1f} | {r.p95:.1f} | {r.naive_p50:.0f} "
            f"| {r.naive_p95:.0f} | {'yes' if r.same else 'NO'} |"
        )
    print()
    print("Seeding (executemany): " + ", ".join(f"{k:,} in {v:.1f} s" for k, v in seeded.items()))
    if plans:
        print()
        print(f"Statements, times and query plans of the inbox at {max(sizes):,} (shapes over {TARGET_MS:g} ms p95):")
        print()
        for line in plans:
            print(f"    {line}")
    if export_line:
        print()
        print("XLSX export of referrals with names (supervisor device; each row also an access row + outbox entry).")
        print()
        print("| rows | seconds | rows/s | peak Python MiB (tracemalloc) | peak RSS MiB (fresh process) | file MiB |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(export_line)
    if pull_line:
        print()
        print("Office catching up: an agent pushes N referrals to a real hub process; a new Kayes office device")
        print("enrols and syncs once (bytes counted by the unshaped fault proxy, pull requests only).")
        print()
        print(
            "| referrals | push s | office sync s | pull requests | kB down | kB up | referrals held | persons held |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(pull_line)
    print()
    print(
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


if __name__ == "__main__":
    main()
