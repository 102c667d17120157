"""bench/load.py at a tiny size, on real hub processes: every device's referrals reach the hub once, the figures
are printed, and the checks the bench makes on the hub afterwards do see a lost referral and a doubled event."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bench import load

TINY = ["--devices", "3", "--batches", "2", "--referrals", "3", "--people", "2", "--timeout", "60", "--deadline", "120"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "postgresql-2hubs"])
def test_a_tiny_load_reaches_the_hub_once(backend: str, tmp_path: Path) -> None:
    if backend.startswith("postgresql") and not os.environ.get("FIELD_APP_TEST_PG_URL"):
        pytest.skip("PostgreSQL tests skipped: FIELD_APP_TEST_PG_URL is not set")
    args = load.parse([*TINY, "--backends", backend])
    [outcome] = load.run(args, tmp_path)
    assert outcome.stats is not None and outcome.held is not None, outcome.skipped
    assert len(outcome.stats.acknowledged) == 3 * 2 * 3  # every referral answered applied or duplicate
    assert outcome.stats.acknowledged <= outcome.held.referrals
    assert (outcome.lost, outcome.duplicated, outcome.people_missing, outcome.stats.not_sent) == (0, 0, 0, 0)
    assert outcome.errors == 0, outcome.stats.answers
    assert outcome.stats.sent_seen == outcome.stats.acknowledged  # each device learnt its referrals were sent
    # the offices pulling all along saw every referral, each change once
    assert len(outcome.stats.office_seen) == 2 and all(outcome.stats.office_seen)
    assert (outcome.office_missing, outcome.stats.office_repeats) == (0, 0)
    # one enrol a device; per sync one push, at least one pull, one report
    expected = (("enrol", 3), ("push", 6), ("pull", 6), ("report", 6), ("pull (office)", 4))
    assert all(len(outcome.stats.latency[e]) >= n for e, n in expected), outcome.stats.latency
    lines = load.report([outcome], args)
    rows = [line for line in lines if line.startswith(f"| {backend} | ")]
    assert [row.split(" | ")[1] for row in rows[:5]] == list(load.ENDPOINTS)
    assert any(" | 0 | 0 | 0 | 0 | 0 | 18 / 18 | " in row for row in rows), (
        rows
    )  # errors, lost, not sent, doubled, missing


def test_the_hub_check_sees_a_lost_referral_and_a_doubled_event(tmp_path: Path) -> None:
    args = load.parse([*TINY, "--backends", "sqlite"])
    [outcome] = load.run(args, tmp_path)
    assert outcome.stats is not None and outcome.lost == 0 and outcome.duplicated == 0
    gone, doubled = sorted(outcome.stats.acknowledged)[:2]
    conn = sqlite3.connect(outcome.db)
    with conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DELETE FROM referral_events WHERE referral_id = ?", [gone])
        conn.execute("DELETE FROM referrals WHERE id = ?", [gone])
        conn.execute("DROP TRIGGER IF EXISTS referral_events_append_only")  # if the hub guards it
        row = conn.execute(
            "SELECT * FROM referral_events WHERE referral_id = ? AND kind = 'sent'", [doubled]
        ).fetchone()
        copy = ["another-id" if k == 0 else v for k, v in enumerate(row)]
        conn.execute(f"INSERT INTO referral_events VALUES ({', '.join('?' * len(copy))})", copy)
    conn.close()
    outcome.held = load.hub_holds(outcome.db)
    assert (outcome.lost, outcome.duplicated) == (1, 1)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(k) for k in range(1, 101)]
    assert [load.percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert load.percentile([3.0], 99) == 3.0
    assert load.percentile([], 50) != load.percentile([], 50)  # nan: no requests


def test_each_device_gets_fresh_ids_and_keeps_its_links(tmp_path: Path) -> None:
    template = load.make_template(tmp_path, people=2, referrals=3)
    a, b = load.fresh_ids(template), load.fresh_ids(template)
    ids = {o["op_id"] for o in a.people + a.referrals}
    assert not ids & {o["op_id"] for o in b.people + b.referrals}
    people = {o["entity_id"] for o in a.people}
    assert {o["payload"]["referral"]["returnee_id"] for o in a.referrals} <= people
    assert [o["payload"]["referral"]["service_id"] for o in a.referrals] == [
        o["payload"]["referral"]["service_id"] for o in template.referrals
    ]


def test_the_sync_bench_runs_its_link_and_ingest_parts() -> None:
    from bench import sync as bench_sync

    lines = bench_sync.main(["--referrals", "6", "--sample", "2", "--ingest", "10", "--kbit", "2000", "--rtt", "0.02"])
    link = [line for line in lines if line.startswith("| ") and "(s)" not in line and "---" not in line]
    labels = [line.split(" | ")[0].strip("| ") for line in link]
    assert "whole sync, batched (push + pull)" in labels and "per-record push, extrapolated" in labels
    for line in link:
        if " | referrals/s" in line:
            continue
        cells = line.strip("| ").split(" | ")
        if len(cells) == 9:  # a link row: its time is at least its physical bound (bytes and round trips)
            assert float(cells[2].replace(",", "")) >= 0.9 * float(cells[7].replace(",", "")), line
    ingest = [line for line in lines if line.startswith(("| SQLite", "| PostgreSQL"))]
    assert ingest and not [line for line in ingest if "failed" in line], ingest
    expected_pg = os.environ.get("FIELD_APP_TEST_PG_URL") is not None
    assert all("skipped" not in line for line in ingest) == expected_pg, ingest
