"""Sync over an EDGE-like link: batched push vs one POST per referral, and the hub's ingest rate.

Usage: .venv/bin/python -m bench.sync [--referrals 500] [--sample 50] [--ingest 2000] [--kbit 64] [--rtt 0.6]
                                      [--pg-url URL]   (default: FIELD_APP_TEST_PG_URL; PostgreSQL skipped without)
                                      [--baseline PATH] [--skip link|ingest]

1. Link: the real hub (a `field-app hub` process on SQLite) behind the fault proxy (bench/faultproxy.py) shaped to
   `--kbit` kbit/s each way and `--rtt` s round trip, plus one round trip per new TCP connection. A device (a real
   SQLite file with the bundled directory, 100 returnees already synced) queues `--referrals` referrals; the sync
   engine sends them (gzip batches of up to MAX_BATCH ops) and then pulls what the hub says back (a `sent` event
   per referral). The per-record protocol is the same engine with batches of one op — one POST per referral on a
   kept-alive connection — run in the same session on `--sample` referrals and extrapolated linearly to
   `--referrals`: at 600 ms a round trip, 500 POSTs one after the other take more than 5 minutes. Each row is
   set against the physical bound of what it sent: (bytes up + bytes down) × 8 ÷ `--kbit` + round trips × `--rtt`
   (the time the bytes and the round trips need on that link even with no processing at all); the row "whole
   sync" is the batched push and the pull after it (when the push answer carries the hub's `sent` events and
   status, the pull has nothing of the device's own referrals left to bring).
2. Ingest: `--ingest` referrals pushed straight to the hub (no proxy, no shaping) in batches of MAX_BATCH, on
   SQLite and on PostgreSQL (a throw-away database made next to `--pg-url`); referrals per second of wall time,
   HTTP and JSON included: one client on one hub, and on PostgreSQL also two clients (two devices, each its own
   referrals) on one hub and on two hub processes sharing the database. `--baseline PATH` measures the same
   ingest, in the same run, on hubs started from another checkout (a `git worktree` of an older commit).
Prints markdown tables and the machine (with its load average: the figures depend on what else runs). Figures,
not asserts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import platform
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from bench.faultproxy import Exchange, FaultProxy, Shaping
from bench.load import BenchHub, Template, fresh_ids, make_template
from field_app.directory.build import build_directory
from field_app.referrals.service import refer
from field_app.returnees.service import register
from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.sync.client import HubClient
from field_app.sync.engine import BATCH_PUSHED, STARTED, SyncEngine, SyncEvent, enrol
from field_app.sync.protocol import MAX_BATCH, Op
from tests.sync.hubproc import HubProcess, PgUnavailable, pg_database

REPO = Path(__file__).resolve().parents[1]

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
    calls: tuple[tuple[str, int], ...] = ()  # which endpoints, how many requests each

    @property
    def round_trips(self) -> int:
        return self.requests + self.connections  # a request and its answer; a TCP handshake

    def bound(self, kbit: float, rtt: float) -> float:
        """The physical bound: the bytes at the link's rate plus the round trips' latency."""
        return (self.up + self.down) * 8 / (kbit * 1000) + self.round_trips * rtt

    def __add__(self, other: Phase) -> Phase:
        return Phase(
            self.seconds + other.seconds,
            self.up + other.up,
            self.down + other.down,
            self.requests + other.requests,
            self.connections + other.connections,
            self.calls + other.calls,
        )

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
    rest = [e for e in exchanges if "/sync/push" not in e.path]  # pulls, the report, any diff
    calls = Counter(e.path.split("?")[0].removeprefix("/api/v1") for e in rest)
    after = phase(end - pushed, rest, 0)
    return phase(pushed - start, push, connections), dataclasses.replace(after, calls=tuple(sorted(calls.items())))


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


def cpu_seconds(session: int | None = None, pids: Sequence[int] = ()) -> dict[int, float]:
    """CPU seconds (user + system) so far of every process in `session` (a hub started in its own session: its
    workers too) and of `pids`, read from /proc (Linux); {} where /proc cannot be read."""
    got: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        rest = text[text.rfind(")") + 2 :].split()
        if int(entry.name) in pids or (session is not None and int(rest[3]) == session):
            got[int(entry.name)] = (int(rest[11]) + int(rest[12])) / tick
    return got


def database_backends(db: str) -> list[int]:
    """The PostgreSQL server processes serving `db` now (the hub's pool), not this query's own."""
    if not db.startswith("postgresql://"):
        return []
    import psycopg

    with psycopg.connect(db, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(r[0]) for r in rows]


def hubs_cpu(hubs: Sequence[BenchHub]) -> dict[int, float]:
    """CPU seconds so far of the hub processes (workers included) and of their database's server processes."""
    got: dict[int, float] = {}
    for hub in hubs:
        if hub.process is not None:
            got |= cpu_seconds(hub.process.pid, database_backends(hub.db))
    return got


def ingest(hubs: Sequence[BenchHub], clients: int, template: Template) -> tuple[float, float]:
    """Referrals per second into `hubs`, straight: `clients` devices at once (client k on hub k mod len(hubs)),
    each pushing its own copy of `template` (fresh ids) — the returnees first, not timed — in batches of
    MAX_BATCH; wall time from the first referral batch to the last answer. Also the CPU milliseconds a referral
    that the hubs and their PostgreSQL server processes spent meanwhile (less dependent on what else runs on the
    machine than the rate; the client's own CPU is not in it)."""
    codes = hubs[0].enrol_codes(clients)
    devices = []
    for k in range(clients):
        ops = fresh_ids(template)
        with HubClient(hubs[k % len(hubs)].url) as anonymous:
            token = anonymous.enrol(codes[k]).token
        devices.append((hubs[k % len(hubs)].url, token, ops))
    ready = threading.Barrier(clients + 1)
    applied = [0] * clients
    failures: list[BaseException] = []

    def device(k: int) -> None:
        url, token, ops = devices[k]
        people = [Op.model_validate(o) for o in ops.people]
        referrals = [Op.model_validate(o) for o in ops.referrals]
        try:
            with HubClient(url, token=token) as client:
                for j in range(0, len(people), MAX_BATCH):
                    client.push(people[j : j + MAX_BATCH])
                ready.wait()
                for j in range(0, len(referrals), MAX_BATCH):
                    answer = client.push(referrals[j : j + MAX_BATCH])
                    applied[k] += sum(r.result == "applied" for r in answer.results)
        except BaseException as exc:  # reported after the join
            failures.append(exc)
            ready.abort()

    threads = [threading.Thread(target=device, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    before = hubs_cpu(hubs)
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    after = hubs_cpu(hubs)
    if failures:
        raise failures[0]
    total = clients * len(template.referrals)
    assert sum(applied) == total, f"only {sum(applied)} of {total} applied"
    cpu = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return total / elapsed, cpu * 1000 / total


def ingest_runs(repo: Path, where: Path, template: Template, pg_url: str | None, suffix: str) -> dict[str, str]:
    """Every ingest configuration on the hub of `repo`: {label: referrals/s or why not}."""
    rates: dict[str, str] = {}
    name = "base" if suffix else "this"

    def measure(label: str, db: str, n_hubs: int, clients: int) -> None:
        hubs = [BenchHub(repo, db, where, name=f"ingest-{name}-{len(rates)}-{k}") for k in range(n_hubs)]
        try:
            for hub in hubs:
                hub.start()
            load = os.getloadavg()[0]
            rate, cpu_ms = ingest(hubs, clients, template)
            cores = os.cpu_count() or 1
            capacity = f"{cores * 1000 / cpu_ms:,.0f}" if cpu_ms > 0 else "–"
            rates[label + suffix] = f"{rate:,.0f} | {load:.1f} | {cpu_ms:.2f} | {capacity}"
        except Exception as exc:  # a figure that could not be made says why
            rates[label + suffix] = f"failed: {str(exc)[:120]} | | |"
        finally:
            for hub in hubs:
                hub.stop()

    measure("SQLite, one hub, one client", str(where / f"ingest-{name}.db"), 1, 1)
    configurations = (
        ("PostgreSQL, one hub, one client", 1, 1),
        ("PostgreSQL, one hub, two clients", 1, 2),
        ("PostgreSQL, two hubs, two clients", 2, 2),
    )
    for label, n_hubs, clients in configurations:
        try:
            with pg_database(pg_url) as url:
                measure(label, url, n_hubs, clients)
        except PgUnavailable as exc:
            rates[label + suffix] = f"skipped ({exc}) | | |"
    return rates


# --- report ----------------------------------------------------------------------------------------------------


def kb(n: float) -> str:
    return f"{n / 1000:,.1f}"


def row(label: str, referrals: int, phase: Phase, kbit: float, rtt: float) -> str:
    bound = phase.bound(kbit, rtt)
    return (
        f"| {label} | {referrals} | {phase.seconds:,.1f} | {kb(phase.up)} | {kb(phase.down)} | {phase.requests} "
        f"| {phase.round_trips} | {bound:,.1f} | {phase.seconds / bound if bound else float('nan'):.2f} |"
    )


def machine(pg_version: str | None, baseline: Path | None = None) -> str:
    from bench.load import git_head

    base = "" if baseline is None else f"; baseline hub: {baseline} {git_head(baseline)}"
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg_version or 'not available'}; hub: {REPO} "
        f"{git_head(REPO)}{base}"
    )


def pg_server_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        got = conn.execute("SHOW server_version").fetchone()
    return str(got[0]) if got else "?"


def link(where: Path, template: sqlite_utils.Database, services: list[str], args: argparse.Namespace) -> list[str]:
    """Part 1: the batched and the per-record sync over the shaped link; the table's lines."""
    shaping = Shaping(bandwidth_bps=args.kbit * 1000, rtt_s=args.rtt)
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
    factor = args.referrals / args.sample
    batched_push, batched_pull = runs["batched"]
    record_push, record_pull = runs["per-record"]
    k, rtt = args.kbit, args.rtt
    lines = [
        f"Link: {k:g} kbit/s each way, {rtt * 1000:.0f} ms round trip (fault proxy shaping), "
        f"one device, {args.referrals} queued referrals; per-record measured on {args.sample} and scaled "
        f"×{factor:g} (time, bytes, requests; one kept-alive connection). Bound = (up + down) × 8 ÷ {k:g} kbit/s "
        f"+ round trips × {rtt:g} s.",
        "",
        "| protocol | referrals | time (s) | up (kB) | down (kB) | HTTP requests | round trips | bound (s) "
        "| time ÷ bound |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        row(f"batched push (gzip, ≤{MAX_BATCH} a batch)", args.referrals, batched_push, k, rtt),
        row("after the batched push: pull, report, …", args.referrals, batched_pull, k, rtt),
        row("whole sync, batched (push + pull)", args.referrals, batched_push + batched_pull, k, rtt),
        row("per-record push (one POST each), measured", args.sample, record_push, k, rtt),
        row("per-record push, extrapolated", args.referrals, record_push.scaled(factor), k, rtt),
        row("after the per-record push, measured", args.sample, record_pull, k, rtt),
    ]
    lines += ["", "After the batched push: " + ", ".join(f"{path} ×{n}" for path, n in batched_pull.calls) + "."]
    speedup = record_push.scaled(factor).seconds / batched_push.seconds if batched_push.seconds else float("nan")
    lines += ["", f"Batched push is {speedup:,.0f}× faster than one POST per referral over this link."]
    return lines


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--referrals", type=int, default=500)
    parser.add_argument("--sample", type=int, default=50, help="referrals sent one POST each (then extrapolated)")
    parser.add_argument("--ingest", type=int, default=2000)
    parser.add_argument("--kbit", type=float, default=64.0)
    parser.add_argument("--rtt", type=float, default=0.6)
    parser.add_argument("--pg-url", default=os.environ.get("FIELD_APP_TEST_PG_URL"))
    parser.add_argument("--baseline", type=Path, help="another checkout: the same ingest on its hub, same run")
    parser.add_argument("--skip", choices=("link", "ingest"), action="append", default=[])
    args = parser.parse_args(argv)
    lines: list[str] = [f"Load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", ""]

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        template = open_db(where / "template.db")
        build_directory(template)
        services = [r[0] for r in template.execute("SELECT id FROM services ORDER BY id").fetchall()]
        if "link" not in args.skip:
            lines += [*link(where, template, services, args), ""]
        template.close()
        if "ingest" not in args.skip:
            ops = make_template(where / "ingest", PEOPLE, args.ingest)
            rates = ingest_runs(REPO, where, ops, args.pg_url, "")
            if args.baseline is not None:
                rates |= ingest_runs(args.baseline.resolve(), where, ops, args.pg_url, " (baseline)")
            lines += [
                f"Hub ingest: {args.ingest} referrals a client in batches of {MAX_BATCH}, straight to the hub "
                "(no shaping); the machine's load average (1 min) when each started; the CPU the hub processes and "
                "their PostgreSQL server processes spent a referral, and the rate that CPU alone would allow on "
                "this machine's idle cores (an upper bound: client, HTTP waits and locks not counted).",
                "",
                "| hub | referrals/s | load avg | hub + database CPU (ms a referral) | CPU-bound rate on idle cores |",
                "|---|---:|---:|---:|---:|",
                *(f"| {name} | {rate} |" for name, rate in rates.items()),
                "",
            ]
    lines.append(machine(pg_server_version(args.pg_url) if args.pg_url else None, args.baseline))
    lines.append(f"Load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n".join(lines), flush=True)
    return lines


def wire_ops_after(db: sqlite_utils.Database, services: list[str], n: int) -> tuple[list[Op], list[Op]]:
    """Queue `n` referrals (for PEOPLE returnees) on `db`; their outbox as wire ops."""
    people = add_people(db, PEOPLE)
    queue(db, people, services, n)
    return wire_ops(db)


if __name__ == "__main__":
    main()
