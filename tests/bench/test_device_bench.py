"""bench/device.py at a tiny size: the device it fills is what the app writes (through the use cases, every record
with its outbox entry), every part runs and agrees with its naive way, and the import timing works. The browser
start is left to the full run (it is measured, not tested)."""

from __future__ import annotations

import re
from pathlib import Path

from bench import device as bench_device


def test_the_device_is_filled_through_the_use_cases(tmp_path: Path) -> None:
    device = bench_device.fill_device(tmp_path / "device", people=40, referrals=90, services=80, seed=3)
    db = device.db
    assert db.execute("SELECT count(*) FROM returnees").fetchone()[0] == len(device.people) == 40
    assert device.referrals == db.execute("SELECT count(*) FROM referrals").fetchone()[0] == 90
    outbox = dict(db.execute("SELECT entity, count(*) FROM outbox GROUP BY entity").fetchall())
    assert outbox["returnee"] == 40 and outbox["referral"] == 90  # each record with its outbox entry
    statuses = {r[0] for r in db.execute("SELECT DISTINCT status FROM referrals")}
    assert {"queued", "revoked"} <= statuses and len(statuses) >= 3  # some cancelled, some moved by the office
    assert db.execute("SELECT count(*) FROM returnee_keys").fetchone()[0] > 40  # the duplicate check's keys
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


def test_every_part_runs_and_agrees_with_the_naive_way() -> None:
    tiny = "--people 50 --referrals 100 --services 120 --runs 3 --naive-runs 2 --starts 2 --skip start"
    lines = bench_device.main(tiny.split())
    rows = [line for line in lines if line.startswith("| ") and not line.startswith("| part")]
    parts = {row.split(" | ")[0].strip("| ") for row in rows}
    assert parts == {"my referrals", "people search", "duplicate check", "directory search"}
    assert not [row for row in rows if "skipped" in row or row.rstrip(" |").endswith("NO")]
    compared = [row for row in rows if row.rstrip().endswith("yes |")]
    assert len(compared) >= 10
    imports = [line for line in lines if line.startswith("- import field_app.ui.app")]
    assert imports and re.search(r"median \d+\.\d\d s of 2", imports[0])


def test_a_missing_function_is_a_reason_not_a_crash() -> None:
    try:
        bench_device.function("field_app.returnees.service", "no_such_function")
    except bench_device.Skip as exc:
        assert "no_such_function" in str(exc)
    else:
        raise AssertionError("expected Skip")
