"""Many devices syncing at once against real hub processes: latency per endpoint, errors, lost and duplicated.

Usage: .venv/bin/python -m bench.load [--devices 200] [--batches 5] [--referrals 20] [--people 20]
                                      [--backends sqlite,postgresql,postgresql-2hubs] [--pg-url URL]
                                      [--baseline PATH] [--hub-args "…"] [--timeout 300] [--deadline 1800]

Loopback only and bounded: every hub is a `field-app hub` process on 127.0.0.1 started by this bench (a fresh
SQLite file, or a throw-away PostgreSQL database made next to `--pg-url`, default FIELD_APP_TEST_PG_URL; the
PostgreSQL backends are skipped without one), every request has `--timeout`, and the whole run of one backend
stops at `--deadline` (what is not done by then is reported as not sent).

The load: `--devices` agent devices enrol (one-time codes made on the hub's database), wait for each other, then
all at once do `--batches` syncs each — one push of `--referrals` referrals (gzip, as the device sends; the first
batch also carries the device's `--people` returnees), then pulls from the device's cursor until `has_more` is
false, then the end-of-sync report. The ops are what the app writes: one device's outbox made through the use cases
(register, refer) on a real device database, copied for each device with fresh ids. A device retries a batch as
the sync engine does (same op ids) after a transport error, a timeout or a 503 (`Retry-After` honoured, capped at
5 s so the bench stays bounded), at most 8 attempts. On the backend `postgresql-2hubs` two hub processes share one
database and each device alternates between them request by request (a load balancer without stickiness).

Printed per backend: p50/p95/p99/max per endpoint (every answered request, errors included), answers by status
(and transport errors by name: a connection closed under a request, retried like a 503),
then what the hub holds afterwards, read from its database: referrals lost (acknowledged `applied`/`duplicate` to a
device but absent), not sent (the device gave up), duplicated (a referral with more than one `created` or `sent`
event, an op answered `applied` twice), returnees missing; and how many of its referrals' `sent` events each device
saw (in a push answer or a pull). Wall time and the machine's load average, before and after.

`--baseline PATH` runs the same load, in the same run, on hubs started from another checkout (e.g. a `git worktree`
of an older commit): the load generator and the ops are this checkout's, the hub is that one's (`--hub-args` apply
to this checkout's hubs only). Figures, not asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import math
import os
import platform
import random
import re
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
API = "/api/v1"
START_TIMEOUT = 90.0
MAX_ATTEMPTS = 8
RETRY_CAP = 5.0
PULL_LIMIT = 500
# A connection idle this long is not reused: below uvicorn's keep-alive timeout (5 s). With httpx's default (also
# 5 s) a request sent on a connection the hub is closing at that moment fails (ReadError, RemoteProtocolError) —
# with two hubs each device's connection to one of them idles while it talks to the other.
KEEPALIVE_EXPIRY = 4.0
BACKENDS = ("sqlite", "postgresql", "postgresql-2hubs")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ENDPOINTS = ("enrol", "push", "pull", "report", "pull (office)")

CODES_SCRIPT = """
import datetime as dt, sys
from field_app.hub import auth
from field_app.hub.db import open_hub_db
db = open_hub_db(sys.argv[1], migrate=False)
try:
    with db.transaction() as tx:
        now = dt.datetime.now(dt.UTC)
        for _ in range(int(sys.argv[2])):
            print(auth.make_enrol_code(tx, role=sys.argv[3], region="kayes", now=now))
finally:
    db.close()
"""


# --- hub processes -----------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BenchHub:
    """`python -m field_app hub --db DB --host 127.0.0.1 --port N [hub_args]` run from `repo` (this checkout or
    a baseline one: its own `field_app` is imported, cwd and PYTHONPATH point at it)."""

    def __init__(self, repo: Path, db: str, log_dir: Path, *, name: str, hub_args: Sequence[str] = ()) -> None:
        self.repo = repo
        self.db = db
        self.port = free_port()
        self.hub_args = list(hub_args)
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(self.repo)}

    def start(self) -> BenchHub:
        command = [sys.executable, "-m", "field_app", "hub", "--db", self.db, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), *self.hub_args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.repo, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}{API}/info", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the hub did not answer within {START_TIMEOUT:.0f} s: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the hub's process group (its workers too), SIGKILL after 15 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def enrol_codes(self, n: int, role: str = "agent") -> list[str]:
        """`n` codes for kayes, made by the hub's own code on its database (a process per code is slow)."""
        done = subprocess.run(
            [sys.executable, "-c", CODES_SCRIPT, self.db, str(n), role],
            cwd=self.repo,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"making enrolment codes failed: {done.stderr.strip()[-500:]}")
        return done.stdout.split()


# --- the ops -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One device's outbox as wire JSON: returnee upserts, then referral creates."""

    people: list[dict[str, Any]]
    referrals: list[dict[str, Any]]


def make_template(where: Path, people: int, referrals: int) -> Template:
    """A real device database (the bundled directory, `people` registered, `referrals` referred) → its outbox."""
    from bench.sync import add_people, copy_device, queue, wire_ops
    from field_app.directory.build import build_directory
    from field_app.storage.database import open_db

    template = open_db(where / "template.db")
    build_directory(template)
    services = [r[0] for r in template.execute("SELECT id FROM services ORDER BY id").fetchall()]
    db = copy_device(template, where / "device.db")
    template.close()
    ids = add_people(db, people)
    queue(db, ids, services, referrals)
    people_ops, referral_ops = wire_ops(db)
    db.close()
    return Template([o.model_dump(mode="json") for o in people_ops], [o.model_dump(mode="json") for o in referral_ops])


def fresh_ids(template: Template) -> Template:
    """The same outbox with every id (op, returnee, referral, event) replaced by a new one, consistently."""
    mapping: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        return mapping.setdefault(match.group(0), str(uuid.uuid4()))

    text = UUID_RE.sub(swap, json.dumps([template.people, template.referrals]))
    people, referrals = json.loads(text)
    return Template(people, referrals)


# --- one device --------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    """What every device saw, merged."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    answers: Counter[str] = field(default_factory=Counter)  # "push 200", "pull 503", "push timeout", …
    results: Counter[str] = field(default_factory=Counter)  # per op: applied / duplicate / rejected:<code>
    applied_twice: int = 0
    acknowledged: set[str] = field(default_factory=set)  # referral ids answered applied or duplicate
    people_acknowledged: set[str] = field(default_factory=set)
    sent_seen: set[str] = field(default_factory=set)  # referral ids whose `sent` event reached their device
    not_sent: int = 0
    gave_up: Counter[str] = field(default_factory=Counter)
    office_seen: list[set[str]] = field(default_factory=list)  # per office: referral ids its pulls brought
    office_repeats: int = 0  # change positions an office was given twice (a cursor that went back)


class GaveUp(Exception):
    pass


class Device:
    def __init__(self, n: int, hubs: list[str], ops: Template, stats: Stats, args: Namespace, stop_at: float):
        self.n = n
        self.hubs = hubs
        self.ops = ops
        self.stats = stats
        self.args = args
        self.stop_at = stop_at
        self.calls = 0
        self.token: str | None = None
        self.cursor = 0
        self.applied: set[str] = set()
        self.rng = random.Random(n)

    def base(self) -> str:
        self.calls += 1
        return self.hubs[(self.n + self.calls) % len(self.hubs)] + API

    async def call(self, client: httpx.AsyncClient, endpoint: str, method: str, path: str, **kw: Any) -> Any:
        """One request, retried like the engine on transport errors, timeouts and 503; the JSON answer."""
        for attempt in range(MAX_ATTEMPTS):
            if time.monotonic() > self.stop_at:
                raise GaveUp("deadline")
            start = time.perf_counter()
            try:
                response = await client.request(method, self.base() + path, **kw)
            except httpx.TimeoutException:
                self.stats.latency[endpoint].append(time.perf_counter() - start)
                self.stats.answers[f"{endpoint} timeout"] += 1
                wait = 1.0
            except httpx.TransportError as exc:
                self.stats.answers[f"{endpoint} {type(exc).__name__}"] += 1
                wait = 1.0
            else:
                self.stats.latency[endpoint].append(time.perf_counter() - start)
                self.stats.answers[f"{endpoint} {response.status_code}"] += 1
                if response.status_code == 200:
                    return response.json()
                if response.status_code != 503:
                    raise GaveUp(f"{endpoint} {response.status_code}")
                try:
                    wait = float(response.headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
            await asyncio.sleep(min(RETRY_CAP, wait) * (0.5 + self.rng.random()) * (1 + attempt / 2))
        raise GaveUp(f"{endpoint}: {MAX_ATTEMPTS} attempts")

    async def enrol(self, client: httpx.AsyncClient, code: str) -> None:
        body = {"code": code, "device_name": f"load-{self.n}"}
        answer = await self.call(client, "enrol", "POST", "/devices/enrol", json=body)
        self.token = answer["token"]

    async def sync(self, client: httpx.AsyncClient, batch: int) -> None:
        r = self.args.referrals
        ops = (self.ops.people if batch == 0 else []) + self.ops.referrals[batch * r : (batch + 1) * r]
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        body = gzip.compress(json.dumps({"ops": ops}).encode(), compresslevel=6, mtime=0)
        answer = await self.call(client, "push", "POST", "/sync/push", content=body, headers=headers)
        entity = {o["op_id"]: (o["entity"], o["entity_id"]) for o in ops}
        for result in answer["results"]:
            kind, entity_id = entity.get(result["op_id"], ("?", "?"))
            outcome = result["result"]
            self.stats.results[outcome if outcome != "rejected" else f"rejected:{result.get('code')}"] += 1
            if outcome == "applied":
                if result["op_id"] in self.applied:
                    self.stats.applied_twice += 1
                self.applied.add(result["op_id"])
            if outcome in ("applied", "duplicate"):
                (self.stats.acknowledged if kind == "referral" else self.stats.people_acknowledged).add(entity_id)
            for event in result.get("events") or []:
                if event.get("kind") == "sent":
                    self.stats.sent_seen.add(entity_id)
        auth = {"Authorization": f"Bearer {self.token}"}
        while True:
            params = {"cursor": self.cursor, "limit": PULL_LIMIT}
            page = await self.call(client, "pull", "GET", "/sync/pull", params=params, headers=auth)
            for change in page["changes"]:
                self.saw(change)
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        report = {"pending": 0, "quarantined": 0, "app_version": "bench-load", "cursor": self.cursor}
        await self.call(client, "report", "POST", "/devices/report", json=report, headers=auth)

    def saw(self, change: dict[str, Any]) -> None:
        data = change.get("data") or {}
        if change.get("entity") == "referral_event" and data.get("kind") == "sent":
            self.stats.sent_seen.add(str(data.get("referral_id")))
        elif change.get("entity") == "referral" and any(e.get("kind") == "sent" for e in data.get("events") or []):
            self.stats.sent_seen.add(str((data.get("referral") or {}).get("id")))


class Office(Device):
    """An office of the devices' region, pulling all along while the agents push (alternating hubs as well), then
    once more after the load: it must see every referral the agents were told the hub holds, each change once."""

    async def watch(self, client: httpx.AsyncClient, done: asyncio.Event) -> None:
        seen: set[str] = set()
        positions: set[int] = set()
        self.stats.office_seen.append(seen)
        auth = {"Authorization": f"Bearer {self.token}"}
        last = False
        while True:
            last = done.is_set()
            while True:
                params = {"cursor": self.cursor, "limit": PULL_LIMIT}
                page = await self.call(client, "pull (office)", "GET", "/sync/pull", params=params, headers=auth)
                for change in page["changes"]:
                    position = int(change.get("seq", -1))
                    if position in positions:
                        self.stats.office_repeats += 1
                    positions.add(position)
                    data = change.get("data") or {}
                    if change.get("entity") == "referral":
                        seen.add(str((data.get("referral") or {}).get("id")))
                self.cursor = page["next_cursor"]
                if not page["has_more"]:
                    break
            if last:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.args.office_every)


async def run_devices(
    hubs: list[str], codes: list[str], office_codes: list[str], template: Template, args: Namespace
) -> tuple[Stats, float]:
    stats = Stats()
    stop_at = time.monotonic() + args.deadline
    devices = [Device(n, hubs, fresh_ids(template), stats, args, stop_at) for n in range(args.devices)]
    offices = [Office(n, hubs, Template([], []), stats, args, stop_at) for n in range(len(office_codes))]
    timeout = httpx.Timeout(args.timeout, connect=min(args.timeout, 30.0))
    limits = httpx.Limits(
        max_connections=len(hubs), max_keepalive_connections=len(hubs), keepalive_expiry=KEEPALIVE_EXPIRY
    )
    clients = [httpx.AsyncClient(timeout=timeout, limits=limits) for _ in devices]
    office_clients = [httpx.AsyncClient(timeout=timeout, limits=limits) for _ in offices]
    enrolled = await asyncio.gather(
        *(d.enrol(c, code) for d, c, code in zip(devices, clients, codes, strict=True)), return_exceptions=True
    )
    for office, client, code in zip(offices, office_clients, office_codes, strict=True):
        await office.enrol(client, code)
    done = asyncio.Event()
    watching = [asyncio.ensure_future(o.watch(c, done)) for o, c in zip(offices, office_clients, strict=True)]
    start = time.perf_counter()

    async def life(device: Device, client: httpx.AsyncClient) -> None:
        for batch in range(args.batches):
            try:
                await device.sync(client, batch)
            except GaveUp as exc:
                stats.gave_up[str(exc)] += 1
                r = args.referrals
                stats.not_sent += sum(
                    o["entity_id"] not in stats.acknowledged for o in device.ops.referrals[batch * r :]
                )
                return

    ready = [(d, c) for d, c, e in zip(devices, clients, enrolled, strict=True) if not isinstance(e, BaseException)]
    for e in enrolled:
        if isinstance(e, BaseException):
            stats.gave_up[f"enrol: {e}"[:80]] += 1
            stats.not_sent += args.batches * args.referrals
    await asyncio.gather(*(life(d, c) for d, c in ready))
    wall = time.perf_counter() - start
    done.set()
    for outcome in await asyncio.gather(*watching, return_exceptions=True):
        if isinstance(outcome, BaseException):
            stats.gave_up[f"office: {outcome}"[:80]] += 1
    for client in clients + office_clients:
        await client.aclose()
    return stats, wall


# --- what the hub holds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    referrals: set[str]
    returnees: set[str]
    doubled_events: int  # referrals with more than one `created` or more than one `sent` event


def hub_holds(db: str) -> Held:
    queries = (
        "SELECT id FROM referrals",
        "SELECT id FROM returnees",
        "SELECT count(*) FROM (SELECT referral_id, kind FROM referral_events WHERE kind IN ('created', 'sent') "
        "GROUP BY referral_id, kind HAVING count(*) > 1) AS doubled",
    )
    if db.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as pg:
            rows = [pg.execute(q).fetchall() for q in queries]
    else:
        lite = sqlite3.connect(db)
        try:
            rows = [lite.execute(q).fetchall() for q in queries]
        finally:
            lite.close()
    return Held({r[0] for r in rows[0]}, {r[0] for r in rows[1]}, int(rows[2][0][0]))


# --- one scenario ------------------------------------------------------------------------------------------------


Namespace = argparse.Namespace


@dataclass
class Outcome:
    label: str
    db: str = ""  # the hub's database (a SQLite file is kept in `where`; a PostgreSQL one is dropped after)
    stats: Stats | None = None
    wall: float = 0.0
    held: Held | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    skipped: str | None = None
    cpu: float = 0.0  # this bench's own CPU seconds (the load generator shares the machine)

    @property
    def lost(self) -> int:
        assert self.stats and self.held
        return len(self.stats.acknowledged - self.held.referrals)

    @property
    def duplicated(self) -> int:
        assert self.stats and self.held
        return self.held.doubled_events + self.stats.applied_twice

    @property
    def office_missing(self) -> int:
        """Referrals acknowledged to an agent that an office's pulls never brought (summed over offices)."""
        assert self.stats
        return sum(len(self.stats.acknowledged - seen) for seen in self.stats.office_seen)

    @property
    def people_missing(self) -> int:
        assert self.stats and self.held
        return len(self.stats.people_acknowledged - self.held.returnees)

    @property
    def errors(self) -> int:
        assert self.stats
        return sum(n for k, n in self.stats.answers.items() if not k.endswith(" 200"))


@contextlib.contextmanager
def databases(backend: str, where: Path, pg_url: str | None, name: str) -> Iterator[str]:
    if backend == "sqlite":
        yield str(where / f"{name}.db")
        return
    from tests.sync.hubproc import pg_database

    with pg_database(pg_url) as url:
        yield url


def scenario(backend: str, repo: Path, label: str, template: Template, args: Namespace, where: Path) -> Outcome:
    from tests.sync.hubproc import PgUnavailable

    outcome = Outcome(label)
    hub_args = shlex.split(args.hub_args) if repo == args.hub_repo else []
    name = re.sub(r"\W+", "-", label)
    try:
        with databases(backend, where, args.pg_url, name) as db:
            outcome.db = db
            hubs = [BenchHub(repo, db, where, name=f"{name}-{k}", hub_args=hub_args) for k in range(2)]
            hubs = hubs[:2] if backend.endswith("2hubs") else hubs[:1]
            try:
                hubs[0].start()  # migrations, seed
                for hub in hubs[1:]:
                    hub.start()
                codes = hubs[0].enrol_codes(args.devices)
                office_codes = hubs[0].enrol_codes(args.offices, role="office") if args.offices else []
                outcome.load_before = os.getloadavg()
                cpu = time.process_time()
                outcome.stats, outcome.wall = asyncio.run(
                    run_devices([h.url for h in hubs], codes, office_codes, template, args)
                )
                outcome.cpu = time.process_time() - cpu
                outcome.load_after = os.getloadavg()
            finally:
                for hub in hubs:
                    hub.stop()
            outcome.held = hub_holds(db)
    except PgUnavailable as exc:
        outcome.skipped = str(exc)
    return outcome


# --- report ------------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def seconds(value: float) -> str:
    return "–" if value != value else (f"{value:.3f}" if value < 10 else f"{value:,.1f}")


def report(outcomes: list[Outcome], args: Namespace) -> list[str]:
    total = args.devices * args.batches * args.referrals
    lines = [
        f"Load: {args.devices} devices × {args.batches} syncs × {args.referrals} referrals = {total:,} referrals "
        f"(+ {args.people} returnees a device in its first push), all devices at once; timeout {args.timeout:g} s "
        f"a request, retries as the engine (503, timeouts), at most {MAX_ATTEMPTS} attempts.",
        "",
        "| hub | endpoint | requests | p50 (s) | p95 (s) | p99 (s) | max (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        if o.stats is None:
            lines.append(f"| {o.label} | skipped: {o.skipped} | | | | | |")
            continue
        for endpoint in ENDPOINTS:
            got = o.stats.latency.get(endpoint, [])
            cells = " | ".join(seconds(percentile(got, p)) for p in (50, 95, 99, 100))
            lines.append(f"| {o.label} | {endpoint} | {len(got):,} | {cells} |")
    lines += [
        "",
        "| hub | wall (s) | referrals/s | errors (non-200 answers, timeouts) | lost | not sent | duplicated "
        "| returnees missing | `sent` seen by its device | offices: missed, repeated | load avg before → after "
        "| bench CPU (s) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for o in outcomes:
        if o.stats is None or o.held is None:
            continue
        bad = {k: n for k, n in sorted(o.stats.answers.items()) if not k.endswith(" 200")}
        errors = ", ".join(f"{k}: {n}" for k, n in bad.items()) or "0"
        done = len(o.stats.acknowledged)
        lines.append(
            f"| {o.label} | {o.wall:,.1f} | {done / o.wall if o.wall else 0:,.0f} | {errors} | {o.lost} "
            f"| {o.stats.not_sent} | {o.duplicated} | {o.people_missing} | {len(o.stats.sent_seen):,} / {done:,} "
            f"| {o.office_missing}, {o.stats.office_repeats} ({len(o.stats.office_seen)} offices) "
            f"| {' '.join(f'{x:.1f}' for x in o.load_before)} → {' '.join(f'{x:.1f}' for x in o.load_after)} "
            f"| {o.cpu:.0f} |"
        )
    for o in outcomes:
        if o.stats is not None and (o.stats.gave_up or any(k.startswith("rejected") for k in o.stats.results)):
            rejected = {k: n for k, n in o.stats.results.items() if k.startswith("rejected")}
            lines.append(f"- {o.label}: gave up {dict(o.stats.gave_up)}; rejected ops {rejected}")
    lines += ["", machine(args)]
    return lines


def machine(args: Namespace) -> str:
    pg = "not used"
    if args.pg_url and any(b.startswith("postgresql") for b in args.backends):
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(args.pg_url, connect_timeout=5) as conn:
                got = conn.execute("SHOW server_version").fetchone()
            pg = str(got[0]) if got else "?"
    rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
    baseline = "" if args.baseline is None else f"; baseline: {args.baseline} {git_head(args.baseline)}"
    return (
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {pg}; load generator and hubs on the same machine "
        f"(hub processes' CPU: {rusage.ru_utime + rusage.ru_stime:,.0f} s). Hub: {args.hub_repo} "
        f"{git_head(args.hub_repo)}{baseline}"
    )


def git_head(repo: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%h"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "?"


def parse(argv: Sequence[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--referrals", type=int, default=20, help="referrals a push")
    parser.add_argument("--people", type=int, default=20, help="returnees a device (sent in its first push)")
    parser.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}")
    parser.add_argument("--pg-url", default=os.environ.get("FIELD_APP_TEST_PG_URL"))
    parser.add_argument("--hub-repo", type=Path, default=REPO, help="the checkout whose hub is measured")
    parser.add_argument("--baseline", type=Path, help="another checkout: the same load on its hub, same run")
    parser.add_argument("--hub-args", default="", help="extra arguments for this checkout's hubs")
    parser.add_argument("--offices", type=int, default=2, help="office devices pulling all along")
    parser.add_argument("--office-every", type=float, default=1.0, help="seconds between an office's pulls")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a request")
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds of load a backend at most")
    args = parser.parse_args(argv)
    args.hub_repo = args.hub_repo.resolve()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")
    if args.people + args.referrals > 200:
        parser.error("--people + --referrals must fit one push (200 ops)")
    if args.people < 1 or args.devices < 1 or args.batches < 1 or args.referrals < 1:
        parser.error("--devices, --batches, --referrals and --people must be at least 1")
    return args


def run(args: Namespace, where: Path) -> list[Outcome]:
    """Every backend of `args`, this checkout's hub then the baseline's; files (SQLite hubs, logs) in `where`."""
    outcomes: list[Outcome] = []
    template = make_template(where, args.people, args.batches * args.referrals)
    repos = [(args.hub_repo, "")] + ([] if args.baseline is None else [(args.baseline.resolve(), " (baseline)")])
    for backend in args.backends:
        for repo, suffix in repos:
            outcome = scenario(backend, repo, backend + suffix, template, args, where)
            outcomes.append(outcome)
            print(f"{outcome.label}: done in {outcome.wall:,.1f} s", file=sys.stderr, flush=True)
    return outcomes


def main(argv: Sequence[str] | None = None) -> list[str]:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        outcomes = run(args, Path(tmp))
    lines = report(outcomes, args)
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    main()
