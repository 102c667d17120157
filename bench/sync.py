"""Sync over an EDGE-like link: batched push vs one POST per referral, and the hub's ingest rate.

Usage: .venv/bin/python -m bench.sync [--referrals 500] [--sample 50] [--ingest 2000] [--kbit 64] [--rtt 0.6]
                                      [--pg-url URL]   (default: FIELD_APP_TEST_PG_URL; PostgreSQL skipped without)

1. Link: the real hub (a `field-app hub` process on SQLite) behind the fault proxy (bench/faultproxy.py) shaped to
   `--kbit` kbit/s each way and `--rtt` s round trip, plus one round trip per new TCP connection. A device (a real
   SQLite file with the bundled directory, 100 returnees already synced) queues `--referrals` referrals; the sync
   engine sends them (gzip batches of up to MAX_BATCH ops) and then pulls what the hub says back (a `sent` event
   per referral). The per-record protocol is the same engine with batches of one op — one POST per referral on a
   kept-alive connection — run in the same session on `--sample` referrals and extrapolated linearly to
   `--referrals`: at 600 ms a round trip, 500 POSTs one after the other take more than 5 minutes.
2. Ingest: `--ingest` referrals pushed straight to the hub (no proxy, no shaping) in batches of MAX_BATCH, on
   SQLite and on PostgreSQL (a throw-away database made next to `--pg-url`); referrals per second of wall time,
   HTTP and JSON included, one client.
Prints markdown tables and the machine. Figures, not asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bench.faultproxy import Exchange, FaultProxy, Shaping
from field_app.directory.build import build_directory
from field_app.referrals.service import refer
from field_app.returnees.service import register
from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.sync.client import HubClient
from field_app.sync.engine import BATCH_PUSHED, STARTED, SyncEngine, SyncEvent, enrol
from field_app.sync.protocol import MAX_BATCH, Op
from tests.sync.hubproc import HubProcess, PgUnavailable, pg_database

PEOPLE = 100
GIVEN = ["Awa", "Moussa", "Fatoumata", "Seydou", "Kadiatou", "Bakary", "Mariam", "Oumar", "Aminata", "Ibrahim"]
FAMILY = ["Keita", "Traoré", "Diarra", "Coulibaly", "Sissoko", "Camara", "Konaté", "Dembélé", "Touré", "Sangaré"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- devices ---------------------------------------------------------------------------------------------------


def copy_device(template: sqlite_utils.Database, path: Path) -> sqlite_utils.Database:
    """A new device database: a copy of the built directory (SQLite backup), migrated."""
    target = sqlite3.connect(path)
    template.conn.backup(target)
    target.close()
    return open_db(path)


def add_people(db: sqlite_utils.Database, n: int) -> list[str]:
    ids = []
    for k in range(n):
        data = {
            "given_name": GIVEN[k % len(GIVEN)],
            "family_name": FAMILY[(k // len(GIVEN)) % len(FAMILY)],
            "sex": "F" if k % 2 else "M",
            "age": 18 + k % 30,
            "region": "kayes",
            "phone": f"+22376{k:06d}",
            "consent": True,
        }
        ids.append(register(db, data, now=utc_now()).id)
    return ids


def queue(db: sqlite_utils.Database, people: list[str], services: list[str], n: int) -> None:
    for k in range(n):
        refer(
            db,
            returnee_id=people[k % len(people)],
            service_id=services[(k // len(people) + k) % len(services)],
            consent_share=True,
            now=utc_now(),
            note="bench" if k % 3 == 0 else None,
            force=True,  # many referrals over few people and services: pairs repeat, this measures sync
        )


# --- the shaped link -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One direction of work over the link: push (the queue) or pull (the hub's answers)."""

    seconds: float
    up: int
    down: int
    requests: int
    connections: int

    @property
    def round_trips(self) -> int:
        return self.requests + self.connections  # a request and its answer; a TCP handshake

    def scaled(self, factor: float) -> Phase:
        return Phase(
            self.seconds * factor,
            round(self.up * factor),
            round(self.down * factor),
            round(self.requests * factor),
            self.connections,
        )


def shaped_sync(db: sqlite_utils.Database, token: str, proxy: FaultProxy, batch_size: int) -> tuple[Phase, Phase]:
    """One engine sync through the shaped proxy; (push phase, pull phase)."""
    proxy.reset_stats()
    marks: dict[str, float] = {}

    def listener(event: SyncEvent) -> None:
        if event.kind in (STARTED, BATCH_PUSHED):
            marks[event.kind] = time.perf_counter()

    start = time.perf_counter()
    with HubClient(proxy.url, token=token) as client:
        report = SyncEngine(db, client, listener=listener, batch_size=batch_size).sync_once()
    end = time.perf_counter()
    assert report.rejected == 0, "the hub refused referrals: the figures would mean nothing"
    pushed = marks.get(BATCH_PUSHED, start)
    exchanges = proxy.exchanges()
    connections = proxy.stats.connections

    def phase(seconds: float, selected: list[Exchange], conns: int) -> Phase:
        return Phase(
            seconds, sum(e.bytes_up for e in selected), sum(e.bytes_down for e in selected), len(selected), conns
        )

    push = [e for e in exchanges if "/sync/push" in e.path]
    pull = [e for e in exchanges if "/sync/pull" in e.path]
    return phase(pushed - start, push, connections), phase(end - pushed, pull, 0)


# --- ingest ----------------------------------------------------------------------------------------------------


def wire_ops(db: sqlite_utils.Database) -> tuple[list[Op], list[Op]]:
    """The device's pending outbox as wire ops: (returnee upserts, referral creates)."""
    ops = [
        Op(
            op_id=e.op_id,
            entity=e.entity,
            entity_id=e.entity_id,
            op=e.op,
            payload=e.payload,
            base_version=e.base_version,
        )
        for e in outbox.entries(db)
    ]
    return [o for o in ops if o.entity == "returnee"], [o for o in ops if o.entity == "referral"]


def ingest(hub: HubProcess, people: list[Op], referrals: list[Op]) -> float:
    """Referrals per second into `hub`, straight (the returnees first, not timed)."""
    with HubClient(hub.url) as anonymous:
        token = anonymous.enrol(hub.enrol_code()).token
    with HubClient(hub.url, token=token) as client:
        for k in range(0, len(people), MAX_BATCH):
            client.push(people[k : k + MAX_BATCH])
        start = time.perf_counter()
        applied = 0
        for k in range(0, len(referrals), MAX_BATCH):
            answer = client.push(referrals[k : k + MAX_BATCH])
            applied += sum(r.result == "applied" for r in answer.results)
        elapsed = time.perf_counter() - start
    assert applied == len(referrals), f"only {applied} of {len(referrals)} applied"
    return len(referrals) / elapsed


# --- report ----------------------------------------------------------------------------------------------------


def kb(n: float) -> str:
    return f"{n / 1000:,.1f}"


def row(label: str, referrals: int, phase: Phase) -> str:
    return (
        f"| {label} | {referrals} | {phase.seconds:,.1f} | {kb(phase.up)} | {kb(phase.down)} | {phase.requests} "
        f"| {phase.round_trips} |"
    )


def machine(pg_version: str | None) -> str:
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg_version or 'not available'}"
    )


def pg_server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        got = conn.execute("SHOW server_version").fetchone()
    return str(got[0]) if got else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--referrals", type=int, default=500)
    parser.add_argument("--sample", type=int, default=50, help="referrals sent one POST each (then extrapolated)")
    parser.add_argument("--ingest", type=int, default=2000)
    parser.add_argument("--kbit", type=float, default=64.0)
    parser.add_argument("--rtt", type=float, default=0.6)
    parser.add_argument("--pg-url", default=os.environ.get("FIELD_APP_TEST_PG_URL"))
    args = parser.parse_args()
    shaping = Shaping(bandwidth_bps=args.kbit * 1000, rtt_s=args.rtt)

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        template = open_db(where / "template.db")
        build_directory(template)
        services = [r[0] for r in template.execute("SELECT id FROM services ORDER BY id").fetchall()]

        # 1. The link.
        hub = HubProcess(str(where / "hub.db"), where, name="link").start()
        try:
            runs: dict[str, tuple[Phase, Phase]] = {}
            for label, n, batch in (("batched", args.referrals, MAX_BATCH), ("per-record", args.sample, 1)):
                db = copy_device(template, where / f"{label}.db")
                state = enrol(db, hub.url, hub.enrol_code())
                people = add_people(db, PEOPLE)
                with HubClient(hub.url, token=state.token) as direct:  # returnees known, cursor up to date
                    SyncEngine(db, direct).sync_once()
                queue(db, people, services, n)
                with FaultProxy(hub.address, shaping=shaping) as proxy:
                    runs[label] = shaped_sync(db, state.token, proxy, batch)
                db.close()
        finally:
            hub.stop()

        # 2. Ingest.
        source = copy_device(template, where / "ingest.db")
        people_ops, referral_ops = wire_ops_after(source, services, args.ingest)
        rates: dict[str, float | str] = {}
        sqlite_hub = HubProcess(str(where / "ingest-hub.db"), where, name="ingest-sqlite").start()
        try:
            rates["SQLite"] = ingest(sqlite_hub, people_ops, referral_ops)
        finally:
            sqlite_hub.stop()
        pg_version = None
        try:
            with pg_database(args.pg_url) as url:
                pg_version = pg_server_version(url)
                pg_hub = HubProcess(url, where, name="ingest-pg").start()
                try:
                    rates["PostgreSQL"] = ingest(pg_hub, people_ops, referral_ops)
                finally:
                    pg_hub.stop()
        except PgUnavailable as exc:
            print(f"PostgreSQL ingest skipped: {exc}")
            rates["PostgreSQL"] = "skipped (no PostgreSQL)"

    factor = args.referrals / args.sample
    batched_push, batched_pull = runs["batched"]
    record_push, record_pull = runs["per-record"]
    print()
    print(
        f"Link: {args.kbit:g} kbit/s each way, {args.rtt * 1000:.0f} ms round trip (fault proxy shaping), "
        f"one device, {args.referrals} queued referrals; per-record measured on {args.sample} and scaled "
        f"×{factor:g} (time, bytes, requests; one kept-alive connection)."
    )
    print()
    print("| protocol | referrals | time (s) | up (kB) | down (kB) | HTTP requests | round trips |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(row(f"batched push (gzip, ≤{MAX_BATCH} a batch)", args.referrals, batched_push))
    print(row("per-record push (one POST each), measured", args.sample, record_push))
    print(row("per-record push, extrapolated", args.referrals, record_push.scaled(factor)))
    print(row("pull of the hub's `sent` events after the batched push", args.referrals, batched_pull))
    print(row("pull after the per-record push, measured", args.sample, record_pull))
    speedup = record_push.scaled(factor).seconds / batched_push.seconds if batched_push.seconds else float("nan")
    print()
    print(f"Batched push is {speedup:,.0f}× faster than one POST per referral over this link.")
    print()
    print(f"Hub ingest: {args.ingest} referrals in batches of {MAX_BATCH}, straight to the hub (one client).")
    print()
    print("| hub database | referrals/s |")
    print("|---|---:|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} |" if isinstance(rate, float) else f"| {name} | {rate} |")
    print()
    print(machine(pg_version))


def wire_ops_after(db: sqlite_utils.Database, services: list[str], n: int) -> tuple[list[Op], list[Op]]:
    """Queue `n` referrals (for PEOPLE returnees) on `db`; their outbox as wire ops."""
    people = add_people(db, PEOPLE)
    queue(db, people, services, n)
    return wire_ops(db)


if __name__ == "__main__":
    main()
