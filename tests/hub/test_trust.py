"""The hub's side of trust across restores (issue 10): the epoch, `POST /sync/ops/diff`, and the housekeeping
commands `field-app hub backup`, `restore` and `new-epoch` — on a real hub process, SQLite and PostgreSQL.

The device side (noticing and healing a restore) is tests/sync/test_restore.py.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from field_app.hub import trust
from field_app.hub.db import open_hub_db
from field_app.sync.protocol import MAX_DIFF
from tests.hub import ops
from tests.hub.conftest import HubProcess, database, hub_cli

DIFF = "/api/v1/sync/ops/diff"


def diff(hub: HubProcess, headers: dict[str, str], op_ids: list[str]) -> httpx.Response:
    return httpx.post(f"{hub.url}{DIFF}", json={"op_ids": op_ids}, headers=headers, timeout=30)


def epoch_of(target: str) -> str:
    db = open_hub_db(target, migrate=False)
    try:
        with db.transaction() as tx:
            return trust.epoch(tx)
    finally:
        db.close()


def meta(target: str, key: str) -> str | None:
    db = open_hub_db(target, migrate=False)
    try:
        with db.transaction(readonly=True) as tx:
            row = tx.one("SELECT value FROM meta WHERE key = ?", [key])
            return None if row is None else str(row["value"])
    finally:
        db.close()


# --- POST /sync/ops/diff -----------------------------------------------------------------------------------------


def test_ops_diff_names_the_ops_the_hub_lacks_in_the_order_asked(hub: HubProcess) -> None:
    device = hub.enrol("agent", "kayes")
    made, created = ops.referral("kayes")
    sent = [ops.returnee_op(ops.returnee("kayes")), ops.referral_op(made, created)]
    answer = ops.push(hub.url, device.headers, sent)
    assert [r for r, _code in ops.results(answer)] == ["applied", "applied"]
    held = [op["op_id"] for op in sent]
    unknown = [ops.new_id() for _ in range(3)]
    asked = [unknown[0], held[0], unknown[1], held[1], unknown[2]]

    response = diff(hub, device.headers, asked)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["missing"] == unknown
    state = body["state"]
    assert state["epoch"] == epoch_of(hub.target)
    assert state["head"] >= 2  # at least the referral and its `sent` event were logged
    # the same state as the pull's (where the pull carries one)
    pulled = httpx.get(f"{hub.url}/api/v1/sync/pull", params={"cursor": 0}, headers=device.headers, timeout=30)
    if pulled.json().get("state") is not None:
        assert pulled.json()["state"]["epoch"] == state["epoch"]


def test_a_rejected_op_leaves_nothing_so_it_is_missing(hub: HubProcess) -> None:
    device = hub.enrol("agent", "kayes")
    bad = ops.event_op(ops.new_id())  # an event for a referral the hub does not have: rejected
    assert ops.results(ops.push(hub.url, device.headers, [bad]))[0][0] == "rejected"
    assert diff(hub, device.headers, [bad["op_id"]]).json()["missing"] == [bad["op_id"]]


def test_ops_diff_takes_up_to_max_diff_uuids_with_a_token(hub: HubProcess) -> None:
    device = hub.enrol("agent", "kayes")
    many = [str(uuid.uuid4()) for _ in range(MAX_DIFF)]
    full = diff(hub, device.headers, many)
    assert full.status_code == 200 and full.json()["missing"] == many  # chunked lookups keep the order
    refused = {
        "too many": diff(hub, device.headers, [*many, str(uuid.uuid4())]),
        "none": diff(hub, device.headers, []),
        "not a uuid": diff(hub, device.headers, ["x" * 40]),
    }
    for what, response in refused.items():
        assert response.status_code == 422, what
        assert response.json()["code"] == "invalid_request", what
    anonymous = httpx.post(f"{hub.url}{DIFF}", json={"op_ids": many[:1]}, timeout=30)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_token"


def test_ops_diff_is_in_the_openapi_description(hub: HubProcess) -> None:
    spec = httpx.get(f"{hub.url}/openapi.json", timeout=30).json()
    post = spec["paths"][DIFF]["post"]
    assert {"200", "401", "422", "503"} <= set(post["responses"])


# --- the epoch, backups and restores -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_database_has_its_own_epoch_and_new_epoch_changes_it(backend: str, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with database(backend, tmp_path / "a") as one, database(backend, tmp_path / "b") as two:
        hub_cli(one, "token")  # any command prepares the database: hub id and epoch made once
        hub_cli(two, "token")
        first, other = meta(one, "epoch"), meta(two, "epoch")
        assert first and other and first != other
        hub_id = meta(one, "hub_id")
        assert epoch_of(one) == first  # stable
        done = hub_cli(one, "new-epoch")
        assert meta(one, "epoch") not in (None, first)
        assert meta(one, "epoch") in done.stdout
        assert meta(one, "hub_id") == hub_id  # the hub id stays: only the epoch tells a restore


def test_sqlite_backup_while_serving_and_restore_with_a_new_epoch(tmp_path: Path) -> None:
    target = str(tmp_path / "hub.db")
    hub = HubProcess(target, "sqlite", tmp_path / "hub.log").start()
    try:
        device = hub.enrol("agent", "kayes")
        early = ops.returnee_op(ops.returnee("kayes"))
        assert ops.results(ops.push(hub.url, device.headers, [early]))[0][0] == "applied"
        before = epoch_of(target)
        backup = tmp_path / "backups" / "hub-1.db"
        done = hub_cli(target, "backup", str(backup))
        assert str(backup) in done.stdout and backup.is_file()
        again = hub_cli(target, "backup", str(backup), check=False)
        assert again.returncode == 1 and "exists" in again.stderr  # never over an older backup
        late = ops.returnee_op(ops.returnee("kayes"))
        assert ops.results(ops.push(hub.url, device.headers, [late]))[0][0] == "applied"
    finally:
        hub.stop()

    hub_id = meta(target, "hub_id")
    done = hub_cli(target, "restore", str(backup))
    after = meta(target, "epoch")
    assert after not in (None, before) and after in done.stdout
    assert meta(target, "hub_id") == hub_id
    kept = list(tmp_path.glob("hub.db.before-restore-*"))
    assert len(kept) == 1  # the replaced database is kept aside
    with sqlite3.connect(target) as conn:
        held = {r[0] for r in conn.execute("SELECT op_id FROM ops")}
    assert early["op_id"] in held and late["op_id"] not in held  # the backup's content, and only it
    with sqlite3.connect(kept[0]) as conn:
        assert late["op_id"] in {r[0] for r in conn.execute("SELECT op_id FROM ops")}

    hub = HubProcess(target, "sqlite", tmp_path / "hub.log").start()
    try:
        device2 = hub.enrol("agent", "kayes")
        body = diff(hub, device2.headers, [early["op_id"], late["op_id"]]).json()
        assert body["missing"] == [late["op_id"]] and body["state"]["epoch"] == after
    finally:
        hub.stop()


def test_restore_refuses_what_is_not_a_hub_backup(tmp_path: Path) -> None:
    target = str(tmp_path / "hub.db")
    hub_cli(target, "token")
    epoch = meta(target, "epoch")
    not_hub = tmp_path / "other.db"
    with sqlite3.connect(not_hub) as conn:
        conn.execute("CREATE TABLE t (x)")
    for backup in (not_hub, tmp_path / "missing.db"):
        done = hub_cli(target, "restore", str(backup), check=False)
        assert done.returncode == 1 and backup.name in done.stderr
        assert meta(target, "epoch") == epoch  # nothing replaced


def test_postgres_backup_runs_pg_dump_and_restore_says_how(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    with database("postgres", tmp_path) as url:
        hub_cli(url, "token")
        dest = tmp_path / "hub.dump"
        done = hub_cli(url, "backup", str(dest))
        assert dest.is_file() and dest.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        assert "pg_restore" in done.stdout and "new-epoch" in done.stdout
        assert "passerelle:" not in done.stdout  # the password never printed
        refused = hub_cli(url, "restore", str(dest), check=False)
        assert refused.returncode == 1 and "pg_restore" in refused.stderr and "new-epoch" in refused.stderr
