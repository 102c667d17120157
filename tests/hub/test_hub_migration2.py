"""Hub migration 2 on a database made by the hub before issue 8 (migration 1 only) that already holds referrals,
on SQLite and PostgreSQL: afterwards there is one `referral` change per referral, and an office pulls its region's
with the person's shared details; migrating again adds nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from field_app.domain.referrals import EventKind, ReferralEvent
from field_app.hub import auth, changes, referrals
from field_app.hub.db import HubDB, PostgresHubDB, SqliteHubDB, _statements, open_hub_db, stamp
from field_app.hub.schema import MIGRATIONS
from tests.hub.conftest import Device, HubProcess, database
from tests.hub.ops import NOW, pull_all, push, results, returnee_op
from tests.hub.test_roles_api import person, referral_for


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with database(request.param, tmp_path) as where:
        yield request.param, where


def at_migration_1(backend: str, where: str) -> HubDB:
    """A hub database as the hub before issue 8 made it: migration 1 only."""
    db: HubDB = SqliteHubDB(Path(where)) if backend == "sqlite" else PostgresHubDB(where)
    with db.transaction() as tx:
        tx.lock_changes()
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL)"
        )
        for statement in _statements(MIGRATIONS[0], db.dialect):
            tx.execute(statement)
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'hub', ?)",
            [stamp(dt.datetime.now(dt.UTC))],
        )
    return db


def old_push(
    db: HubDB, device_id: str, people: list[Any], regions: list[str], *, with_record: bool = True
) -> list[str]:
    """What the old hub's push wrote for each referral: the returnee row, the referral, its `created` and the hub's
    `sent` event, each event with its `referral_event` change — and no `referral` change."""
    ids = []
    with db.transaction() as tx:
        tx.lock_changes()
        for who, region in zip(people, regions, strict=True):
            if with_record:
                tx.execute(
                    "INSERT INTO returnees (id, device_id, region, version, document, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [who.id, device_id, who.region.value, who.version, who.model_dump_json(), stamp(NOW)],
                )
            made, created = referral_for(who, region)
            tx.execute(  # the old hub's SQL: the tables as migration 1 made them (no ranks, no positions, no origin)
                "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, device_id, document, "
                "status, flagged, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'sent', '[]', ?, ?)",
                [made.id, made.returnee_id, made.service_id, made.organization_id, made.region, device_id,
                 made.model_dump_json(), stamp(made.created_at), stamp(NOW)],
            )  # fmt: skip
            sent = ReferralEvent(id=referrals.sent_event_id(made.id), referral_id=made.id, kind=EventKind.SENT, at=NOW)
            for event in (created, sent):
                tx.execute(
                    "INSERT INTO referral_events (id, referral_id, kind, at, source, document, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [event.id, made.id, event.kind.value, stamp(event.at), device_id, event.model_dump_json(),
                     stamp(NOW)],
                )  # fmt: skip
                data = event.model_dump(mode="json") | {"status": "sent" if event is sent else "queued", "flagged": []}
                tx.execute(
                    "INSERT INTO changes (entity, entity_id, op, data, region, device_id, at) "
                    "VALUES ('referral_event', ?, 'upsert', ?, ?, ?, ?)",
                    [event.id, changes.dumps(data), made.region, device_id, stamp(NOW)],
                )
            ids.append(made.id)
    return ids


def referral_changes(db: HubDB) -> list[dict[str, Any]]:
    with db.transaction(readonly=True) as tx:
        return tx.all("SELECT seq, entity_id, region, device_id FROM changes WHERE entity = 'referral' ORDER BY seq")


def test_migration_2_backfills_one_referral_change_per_referral(target: tuple[str, str], tmp_path: Path) -> None:
    backend, where = target
    old = at_migration_1(backend, where)
    with old.transaction() as tx:  # a device enrolled by the old hub (its devices table, as migration 1 made it)
        agent_id, agent_token = auth._new_device(tx, kind="device", role="agent", region="kayes", name="old phone",
                                                 now=NOW)  # fmt: skip
    agent_caller = auth.Caller(agent_id, "device", "agent", "kayes")
    awa, binta, moussa, nobody = person("kayes"), person("kayes", given_name="Binta"), person("segou"), person("kayes")
    kayes_ids = old_push(old, agent_caller.id, [awa, binta], ["kayes", "kayes"])
    segou_ids = old_push(old, agent_caller.id, [moussa], ["segou"])
    (unshared,) = old_push(old, agent_caller.id, [nobody], ["kayes"], with_record=False)  # record never arrived
    with old.transaction(readonly=True) as tx:
        top = tx.one("SELECT max(seq) AS m FROM changes")
    assert top is not None
    last_old_seq = int(top["m"])
    assert referral_changes(old) == []
    old.close()

    migrated = open_hub_db(where)
    try:
        with migrated.transaction(readonly=True) as tx:
            versions = [r["version"] for r in tx.all("SELECT version FROM schema_migrations ORDER BY version")]
            assert versions[:2] == [1, 2] and versions == [m.version for m in MIGRATIONS]
        backfilled = referral_changes(migrated)
        every = [*kayes_ids, *segou_ids, unshared]
        assert sorted(r["entity_id"] for r in backfilled) == sorted(every)  # one each
        assert all(r["seq"] > last_old_seq and r["device_id"] == agent_caller.id for r in backfilled)
        assert {r["entity_id"]: r["region"] for r in backfilled} == {i: "segou" if i in segou_ids else "kayes"
                                                                     for i in every}  # fmt: skip
    finally:
        migrated.close()
    again = open_hub_db(where)  # migrating again: nothing to do, nothing added
    try:
        assert again.migrate() == [] and referral_changes(again) == backfilled
    finally:
        again.close()

    hub = HubProcess(where, backend, tmp_path / "hub.log").start()
    try:
        office, segou = hub.enrol("office", "kayes"), hub.enrol("office", "segou")
        pulled = {c["id"]: c["data"] for c in pull_all(hub.url, office.headers) if c["entity"] == "referral"}
        assert set(pulled) == {*kayes_ids, unshared}
        first = pulled[kayes_ids[0]]
        assert (first["status"], first["flagged"], first["device_id"]) == ("sent", [], agent_caller.id)
        assert [e["kind"] for e in first["events"]] == ["created", "sent"]
        assert (first["person"]["given_name"], first["person"]["phone"]) == ("Awa", "+22376001122")
        assert pulled[kayes_ids[1]]["person"]["given_name"] == "Binta"
        assert pulled[unshared]["person"] is None
        segou_pulled = [c for c in pull_all(hub.url, segou.headers) if c["entity"] == "referral"]
        assert [c["id"] for c in segou_pulled] == segou_ids
        # the agent enrolled before the migration still pulls its own, without the person
        agent = Device(agent_caller.id, agent_token, "agent", "kayes")
        own = [c for c in pull_all(hub.url, agent.headers) if c["entity"] == "referral"]
        assert sorted(c["id"] for c in own) == sorted([*kayes_ids, *segou_ids, unshared])
        assert all(c["data"]["person"] is None for c in own)
        # the missing record arrives now: the office gets the referral again, with the person
        cursor = pull_all(hub.url, office.headers)[-1]["seq"]
        assert results(push(hub.url, agent.headers, [returnee_op(nobody)])) == [("applied", None)]
        resent = [c for c in pull_all(hub.url, office.headers, cursor=cursor) if c["entity"] == "referral"]
        assert [(c["id"], c["data"]["person"]["returnee_id"]) for c in resent] == [(unshared, nobody.id)]
        sup = hub.token("supervisor")
        log = httpx.get(f"{hub.url}/api/v1/access-log", params={"device": office.id}, headers=sup.headers).json()
        assert {r["returnee_id"] for r in log["items"]} == {awa.id, binta.id, nobody.id}
    finally:
        hub.stop()
