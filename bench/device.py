"""A phone at scale: 10,000 people, 20,000 referrals, 10,000 services — each list and look-up against the way it
was done before issue 9, in the same run; then the cold start.

Usage: .venv/bin/python -m bench.device [--people 10000] [--referrals 20000] [--services 10000]
           [--runs 200] [--naive-runs 20] [--starts 5] [--seed 7] [--skip PART ...]

The device: a data directory in a temporary folder holding a synthetic directory of `--services` services
(bench/synthetic.py, loaded with the real `build_directory`), people registered through the use case
(`field_app.returnees.service.register`: a form validated, the record, its name keys and its outbox entry) and
referrals made through the use case (`field_app.referrals.service.refer`, to services of the person's region;
some cancelled with `cancel`, some moved on by the office as pulled hub events), a few hundred per transaction.

Parts (each prints p50 / p95 in milliseconds for the new way and the naive way, and whether they agree):

- my referrals: the first page of "My referrals" — `referral_page` (one indexed JOIN + count), and the view model
  the screen reads — against `referral_lines` (the old way: every referral and its events read and folded);
- people search: `search_people` against `bench.people.naive_search_people` (every person read and folded);
- duplicate check: `find_duplicates` for people registered again under another spelling and for strangers,
  against `bench.people.naive_find_duplicates` (every person scored: the old duplicate_candidates +
  likely_duplicates);
- directory search: `field_app.directory.search.search` against `bench.search.naive_search` (the search before
  issue 9), on the questions the directory screen asks (bench/search.py);
- cold start: importing the app (`import field_app.ui.app`, a fresh interpreter each time) and the command line
  (`field-app --help`); then process start to interactive home: `field-app run` started on a free port, Chromium
  (already running: its own start is not counted; a new browser context each time, so nothing cached) polls
  until the port answers, opens the page, switches Flutter's accessibility tree on and waits for home's "Register
  a returnee" button — on this full device, and on a first launch (an empty data directory: the bundled
  directory is built from its YAML files first). Median of `--starts`.

A part whose function is not there is skipped with the reason. Figures, not asserts (tests/bench/test_device_bench.py
runs it at a tiny size).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
BATCH = 500  # records per transaction while filling the device
PARTS = ("referrals", "people", "duplicates", "directory", "imports", "start")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
HOME_BUTTON = "Register a returnee"  # home's first action, in English (FIELD_APP_LANG=en)


class Skip(Exception):
    """A part that cannot run here (its function is not there yet, no browser…): the reason is printed."""


def function(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, or Skip saying it is not there."""
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise Skip(f"{module}.{name} is not there ({type(exc).__name__}: {exc})") from None
    if not callable(found):
        raise Skip(f"{module}.{name} is not a function")
    return found  # type: ignore[no-any-return]


# --- timing -------------------------------------------------------------------------------------------------------


def percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def timed(calls: Sequence[Callable[[], object]], runs: int, warmup: int = 2) -> list[float]:
    """Milliseconds of `runs` calls, cycling through `calls` (different questions); warm-up calls not counted."""
    times = []
    for index in range(warmup + runs):
        call = calls[index % len(calls)]
        start = time.perf_counter()
        call()
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return times


@dataclass
class Row:
    part: str
    what: str
    new: list[float]
    naive: list[float]
    same: bool | None  # None: not compared

    def line(self) -> str:
        n50, n95 = percentiles(self.new)
        same = "" if self.same is None else "yes" if self.same else "NO"
        naive = "— | — | —"
        if self.naive:
            o50, o95 = percentiles(self.naive)
            naive = f"{len(self.naive)} | {o50:.1f} | {o95:.1f}"
        return f"| {self.part} | {self.what} | {len(self.new)} | {n50:.2f} | {n95:.2f} | {naive} | {same} |"


# --- the device ---------------------------------------------------------------------------------------------------

FALLBACK_FAMILIES = [["Traoré", "Traore"], ["Coulibaly", "Koulibaly"], ["Diarra", "Jara"], ["Keïta", "Keita"]]
FALLBACK_WOMEN = [["Fatoumata", "Fatumata"], ["Aminata"], ["Awa", "Hawa"]]
FALLBACK_MEN = [["Moussa"], ["Seydou", "Seidou"], ["Bakary", "Bakari"]]


def names() -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Family, women's and men's names with their spellings (bench/people.py's lists when there)."""
    try:
        from bench.people import FAMILIES, MEN, WOMEN
    except ImportError:
        return FALLBACK_FAMILIES, FALLBACK_WOMEN, FALLBACK_MEN
    return FAMILIES, WOMEN, MEN


def person_form(rng: random.Random, places: Sequence[tuple[str, str]], phones: list[str]) -> dict[str, Any]:
    """What an agent types for one returnee: a usual spelling mostly, now and then another; a family phone."""
    families, women, men = names()
    sex = rng.choice("FM")

    def spelt(variants: list[str]) -> str:
        return variants[0] if rng.random() < 0.75 else rng.choice(variants)

    locality, region = rng.choice(places)
    if rng.random() < 0.2:
        phone = None
    elif phones and rng.random() < 0.1:
        phone = rng.choice(phones)
    else:
        prefix = rng.choice(["66", "67", "69", "70", "73", "75", "76", "77", "78", "79"])  # Malian mobiles
        phone = f"{prefix} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        phones.append(phone)
    return {
        "given_name": spelt(rng.choice(women if sex == "F" else men)),
        "family_name": spelt(rng.choice(families)),
        "sex": sex,
        "age": rng.randint(16, 50),
        "phone": phone,
        "languages": rng.sample(["bm", "fr", "ff", "snk"], rng.randint(1, 2)),
        "region": region,
        "locality": locality,
        "returned_from": rng.choice(["LY", "DZ", "NE", "MR", "SN", "FR"]),
        "education": rng.choice(["none", "primary", "def", None]),
        "reads_french": rng.choice([True, False, None]),
        "documents": rng.sample(["birth_certificate", "id_card", "photos"], rng.randint(0, 2)),
        "consent": True,
    }


@dataclass
class Device:
    data_dir: Path
    db: sqlite_utils.Database
    people: list[Any]  # Returnee
    referrals: int
    filled_s: float


def fill_device(data_dir: Path, *, people: int, referrals: int, services: int, seed: int) -> Device:
    """The data directory of a phone at scale, filled through the use cases (see the module doc)."""
    from bench.synthetic import build_synthetic
    from field_app.errors import AlreadyReferred
    from field_app.referrals.service import cancel, refer
    from field_app.returnees.service import register
    from field_app.storage.paths import database_path

    data_dir.mkdir(parents=True, exist_ok=True)
    db = build_synthetic(database_path(data_dir), services, seed=seed)
    started = time.perf_counter()
    rng = random.Random(seed)
    places = [(r[0], r[1]) for r in db.execute("SELECT id, region FROM localities ORDER BY id")]
    by_region: dict[str, list[str]] = {}
    for sid, region in db.execute(
        "SELECT DISTINCT so.service_id, l.region FROM service_offices so JOIN locations l ON l.id = so.location_id "
        "ORDER BY 1, 2"
    ):
        by_region.setdefault(region, []).append(sid)
    every_service = [r[0] for r in db.execute("SELECT id FROM services ORDER BY id")]
    phones: list[str] = []
    registered: list[Any] = []
    # registration dates over two years, in order, as a phone fills up
    stamps = sorted(NOW - dt.timedelta(days=rng.uniform(1, 730)) for _ in range(people))
    for start in range(0, people, BATCH):
        with db.atomic():
            for at in stamps[start : start + BATCH]:
                registered.append(register(db, person_form(rng, places, phones), now=at))
    made = 0
    # referrals: two per person on average (some none, some several), each after the person's registration
    weights = [rng.expovariate(1.0) for _ in registered]
    while made < referrals:
        with db.atomic():
            for person in rng.choices(registered, weights, k=min(BATCH, referrals - made)):
                at = min(NOW, person.created_at + dt.timedelta(hours=rng.uniform(0.1, 2000)))
                near = by_region.get(person.region.value) or every_service
                try:
                    referral = refer(db, returnee_id=person.id, service_id=rng.choice(near), consent_share=True, now=at)
                except AlreadyReferred:
                    referral = refer(
                        db, returnee_id=person.id, service_id=rng.choice(every_service), consent_share=True, now=at,
                        force=True,
                    )  # fmt: skip
                made += 1
                if rng.random() < 0.1:
                    cancel(db, referral.id, now=at + dt.timedelta(minutes=5))
                elif rng.random() < 0.3:
                    office_moves(db, rng, referral.id, at)
    db.execute("ANALYZE")
    db.conn.commit()
    return Device(data_dir, db, registered, made, time.perf_counter() - started)


def office_moves(db: sqlite_utils.Database, rng: random.Random, referral_id: str, at: dt.datetime) -> None:
    """What a sync brings back from the office: sent, then accepted or declined (hub events merged)."""
    from field_app.domain.referrals import DeclineReason, EventKind, ReferralEvent
    from field_app.storage.referrals import merge_event

    def event(kind: Any, when: dt.datetime, **extra: Any) -> None:
        merge_event(
            db,
            ReferralEvent(
                id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                referral_id=referral_id,
                kind=kind,
                at=when,
                **extra,
            ),
        )

    event(EventKind.SENT, at + dt.timedelta(hours=1))
    roll = rng.random()
    if roll < 0.5:
        event(EventKind.ACCEPTED, at + dt.timedelta(days=2))
    elif roll < 0.6:
        event(EventKind.DECLINED, at + dt.timedelta(days=3), reason=rng.choice(list(DeclineReason)))


# --- the parts ----------------------------------------------------------------------------------------------------


def part_referrals(device: Device, runs: int, naive_runs: int) -> list[Row]:
    """The first page of "My referrals": the paged JOIN (and the screen's view model) against the old way."""
    page = function("field_app.referrals.service", "referral_page")
    old = function("field_app.referrals.service", "referral_lines")
    db = device.db
    first = page(db)
    everything: list[Any] = []

    def naive() -> None:
        everything[:] = old(db)

    rows = [
        Row("my referrals", "first page of 50", timed([lambda: page(db)], runs), timed([naive], naive_runs, 1), None)
    ]
    newest = sorted(everything, key=lambda x: (x.stored.referral.created_at, x.stored.referral.id), reverse=True)
    rows[0].same = [x.id for x in first.lines] == [x.stored.referral.id for x in newest[:50]]
    try:
        model = function("field_app.ui.viewmodels.referrals", "ReferralsViewModel")
    except Skip:
        return rows
    rows.append(Row("my referrals", "the screen's view model", timed([lambda: model(db, lambda: NOW)], runs), [], None))
    return rows


def part_people(device: Device, runs: int, naive_runs: int) -> list[Row]:
    """People search: the indexed query against reading and folding everyone."""
    search = function("field_app.returnees.service", "search_people")
    naive = function("bench.people", "naive_search_people")
    db = device.db
    rng = random.Random(3)
    sample = rng.sample(device.people, min(20, len(device.people)))
    code_rows = db.execute("SELECT code FROM referrals ORDER BY code LIMIT 20").fetchall()
    phones = [p.phone for p in sample if p.phone]
    kinds: dict[str, list[str]] = {
        "a family name": [p.family_name for p in sample],
        "a name start (3 letters)": [p.given_name[:3] for p in sample],
        "one letter (many match)": ["a", "m", "s", "k"],
        "two words": [f"{p.family_name[:4]} {p.given_name[:3]}" for p in sample],
        "the end of a phone": [p[-4:] for p in phones] or ["1234"],
        "a slip code": [r[0][:6].lower() for r in code_rows] or ["abcdef"],
        "no text (newest 50)": [""],
    }
    rows = []
    for what, texts in kinds.items():
        same = all(
            [r.id for r in search(db, t).people] == [r.id for r in naive(db, t).people]
            and search(db, t).total == naive(db, t).total
            for t in texts[:3]
        )
        new = timed([lambda t=t: search(db, t) for t in texts], runs)
        old = timed([lambda t=t: naive(db, t) for t in texts], naive_runs, 1)
        rows.append(Row("people search", what, new, old, same))
    return rows


def part_duplicates(device: Device, runs: int, naive_runs: int) -> list[Row]:
    """The duplicate check of a registration: keys and an indexed pre-filter against scoring everyone."""
    find = function("field_app.returnees.service", "find_duplicates")
    naive = function("bench.people", "naive_find_duplicates")
    variant_of = function("bench.people", "variant_of")
    stranger = function("bench.people", "stranger")
    db = device.db
    rng = random.Random(5)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    kinds = {
        "someone registered again, spelt otherwise": [
            variant_of(rng, p, new_id=new_id()) for p in rng.sample(device.people, min(20, len(device.people)))
        ],
        "a stranger": [stranger(rng, new_id=new_id()) for _ in range(20)],
    }
    rows = []
    for what, people in kinds.items():
        same = all(
            [(d.returnee.id, d.match) for d in find(db, p)] == [(d.returnee.id, d.match) for d in naive(db, p)]
            for p in people[:5]
        )
        new = timed([lambda p=p: find(db, p) for p in people], runs)
        old = timed([lambda p=p: naive(db, p) for p in people], naive_runs, 1)
        rows.append(Row("duplicate check", what, new, old, same))
    return rows


def part_directory(device: Device, runs: int, naive_runs: int) -> list[Row]:
    """The directory search on the device's directory, as the screen asks."""
    from bench.search import Question, naive_search, search_questions

    search = function("field_app.directory.search", "search")
    db = device.db
    questions = search_questions(db, max(runs, 40), 11)
    by_kind: dict[str, list[Question]] = {}
    for q in questions:
        by_kind.setdefault("near a town" if q.near else "no place", []).append(q)
    rows = []
    for what, qs in [*by_kind.items(), ("all questions", questions)]:

        def ask(q: Question) -> Callable[[], object]:
            return lambda: search(db, q.text, near=q.near, limit=q.limit)

        def ask_naive(q: Question) -> Callable[[], object]:
            return lambda: naive_search(db, q.text, near=q.near, limit=q.limit)

        same = all(
            [dataclasses.astuple(h) for h in ask(q)()] == [dataclasses.astuple(h) for h in ask_naive(q)()]  # type: ignore[attr-defined]
            for q in qs[:8]
        )
        new = timed([ask(q) for q in qs], runs)
        old = timed([ask_naive(q) for q in qs], naive_runs, 1)
        rows.append(Row("directory search", what, new, old, same))
    return rows


# --- cold start ---------------------------------------------------------------------------------------------------


def import_seconds(code: Sequence[str], starts: int) -> list[float]:
    """Wall seconds of a fresh interpreter running `python *code`."""
    times = []
    for _ in range(starts):
        start = time.perf_counter()
        subprocess.run([sys.executable, *code], cwd=REPO, capture_output=True, check=True, timeout=120)
        times.append(time.perf_counter() - start)
    return times


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_to_home(data_dir: Path, starts: int, *, fresh: Callable[[], Path] | None = None) -> list[tuple[float, float]]:
    """(seconds to the port answering, seconds to home's button) from `field-app run`'s process start, per start.
    `fresh`: a new empty data directory for each start (a first launch) instead of `data_dir`."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise Skip("Debian chromium is not installed (make chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise Skip(f"playwright is not installed ({exc})") from None
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            for _ in range(starts):
                folder = fresh() if fresh else data_dir
                port = free_port()
                began = time.perf_counter()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "field_app", "run", "--data-dir", str(folder), "--port", str(port)],
                    cwd=REPO,
                    env={**os.environ, "FIELD_APP_LANG": "en"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                try:
                    listening = wait_for_port(proc, port, began)
                    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="en-US")
                    try:
                        tab = context.new_page()
                        tab.goto(f"http://127.0.0.1:{port}/")
                        tab.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=90_000)
                        tab.locator("flt-semantics-placeholder").dispatch_event("click")
                        tab.get_by_role("button", name=HOME_BUTTON).wait_for(timeout=90_000)
                        out.append((listening, time.perf_counter() - began))
                    finally:
                        context.close()
                finally:
                    os.killpg(proc.pid, signal.SIGTERM)
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
        finally:
            browser.close()
    return out


def wait_for_port(proc: subprocess.Popen[bytes], port: int, began: float) -> float:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.perf_counter() - began
        except OSError:
            if proc.poll() is not None:
                raise Skip(f"field-app run exited with {proc.returncode}") from None
            time.sleep(0.02)
    raise Skip("field-app run did not listen within 120 s")


def cold_start_lines(device: Device, starts: int, tmp: Path, parts: set[str]) -> list[str]:
    lines = []
    if "imports" in parts:
        for what, code in (
            ("import field_app.ui.app", ["-c", "import field_app.ui.app"]),
            ("field-app --help", ["-m", "field_app", "--help"]),
            ("python itself (-c pass)", ["-c", "pass"]),
        ):
            times = import_seconds(code, starts)
            lines.append(f"- {what}: median {statistics.median(times):.2f} s of {starts} ({fmt(times)})")
    if "start" in parts:
        device.db.conn.commit()
        counter = iter(range(10_000))
        for what, fresh in (
            (f"this device ({len(device.people):,} people)", None),
            (
                "first launch (empty data directory: the directory built from db/)",
                lambda: tmp / f"first-{next(counter)}",
            ),
        ):
            try:
                found = start_to_home(device.data_dir, starts, fresh=fresh)
            except Skip as exc:
                lines.append(f"- start to interactive home, {what}: skipped — {exc}")
                continue
            homes = [h for _, h in found]
            ports = [p for p, _ in found]
            lines.append(
                f"- start to interactive home, {what}: median {statistics.median(homes):.2f} s ({fmt(homes)}); "
                f"the server listening after {statistics.median(ports):.2f} s"
            )
    return lines


def fmt(times: Sequence[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--referrals", type=int, default=20_000)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200, help="timed calls per figure (new way)")
    parser.add_argument("--naive-runs", type=int, default=20, help="timed calls per figure (naive way)")
    parser.add_argument("--starts", type=int, default=5, help="cold starts per figure (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], choices=PARTS, help="parts not to run")
    args = parser.parse_args(argv)
    parts = set(PARTS) - set(args.skip)
    out: list[str] = []

    def say(line: str = "") -> None:
        out.append(line)
        print(line, flush=True)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        device = fill_device(
            tmp / "device", people=args.people, referrals=args.referrals, services=args.services, seed=args.seed
        )
        counts = {t: device.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("returnees", "referrals",
                  "referral_events", "services", "outbox")}  # fmt: skip
        say(f"# A device at scale: {counts['returnees']:,} people, {counts['referrals']:,} referrals, "
            f"{counts['services']:,} services")  # fmt: skip
        say()
        say(
            f"{platform.python_implementation()} {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; filled through "
            f"the use cases in {device.filled_s:.1f} s ({counts['referral_events']:,} referral events, "
            f"{counts['outbox']:,} outbox entries)"
        )
        say()
        say("| part | what | runs | new p50 ms | new p95 ms | naive runs | naive p50 ms | naive p95 ms | same |")
        say("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for name, run in (
            ("referrals", part_referrals),
            ("people", part_people),
            ("duplicates", part_duplicates),
            ("directory", part_directory),
        ):
            if name not in parts:
                continue
            try:
                for row in run(device, args.runs, args.naive_runs):
                    say(row.line())
            except Skip as exc:
                say(f"| {name} | skipped: {exc} | | | | | | | |")
        say()
        if parts & {"imports", "start"} and args.starts > 0:
            say(f"Cold start ({args.starts} runs each; wall time from the process start):")
            for line in cold_start_lines(device, args.starts, tmp, parts):
                say(line)
        device.db.close()
    return out


if __name__ == "__main__":
    main()
