"""The sync engine against a REAL hub process on 127.0.0.1 (`python -m field_app hub`), with real device databases:
enrolment, referrals pushed once and coming back `sent`, office events and directory corrections flowing back,
refused entries quarantined with their reason and retried, a big entry split out, a revoked device, and resuming
after a crash between the push and its checkpoint. No fault proxy here (see test_faults*.py)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import yaml

from field_app import i18n
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import EventKind, ReferralEvent, ReferralStatus
from field_app.domain.returnees import Returnee
from field_app.errors import AuthError
from field_app.referrals.service import cancel, refer
from field_app.returnees.service import edit, form_values, register
from field_app.storage import outbox, sync_state
from field_app.storage.database import open_db
from field_app.storage.outbox import OutboxEntry
from field_app.storage.referrals import get_referral
from field_app.sync import quarantine
from field_app.sync.engine import (
    BATCH_PUSHED,
    FINISHED,
    PAGE_PULLED,
    STARTED,
    SyncEngine,
    SyncEvent,
    SyncReport,
    client_for,
    enrol,
)
from field_app.sync.protocol import MAX_BODY_BYTES, Op
from tests.sync.hubproc import HubProcess, hub_referrals

PERSON: dict[str, Any] = {
    "given_name": "Awa",
    "family_name": "Diarra",
    "sex": "F",
    "age": 24,
    "region": "kayes",
    "locality": "kayes",
    "consent": True,
}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    tmp = tmp_path_factory.mktemp("hub")
    process = HubProcess(str(tmp / "hub.db"), tmp).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def supervisor(hub: HubProcess) -> str:
    return hub.supervisor_token()


@pytest.fixture
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


@dataclass
class Device:
    db: sqlite_utils.Database
    events: list[SyncEvent] = field(default_factory=list)

    @property
    def id(self) -> str:
        return sync_state.require(self.db).device_id

    def sync(self, **options: Any) -> SyncReport:
        with client_for(self.db) as client:
            engine = SyncEngine(self.db, client, utc_now, random.Random(1), listener=self.events.append, **options)
            return engine.sync_once()

    def person(self, **changes: Any) -> Returnee:
        return register(self.db, {**PERSON, **changes}, now=utc_now())

    def refer(self, person: Returnee, nth: int = 0) -> str:
        services = [r[0] for r in self.db.execute("SELECT id FROM services ORDER BY id")]
        return refer(self.db, returnee_id=person.id, service_id=services[nth], consent_share=True, now=utc_now()).id


def new_device(hub: HubProcess, path: Path, dataset: Dataset) -> Device:
    db = open_db(path)
    build_directory(db, dataset=dataset)
    enrol(db, hub.url, hub.enrol_code("agent", "kayes"))
    return Device(db)


@pytest.fixture
def device(hub: HubProcess, tmp_path: Path, dataset: Dataset) -> Iterator[Device]:
    made = new_device(hub, tmp_path / "device.db", dataset)
    yield made
    made.db.close()


def on_hub(hub: HubProcess, supervisor: str, device: Device) -> dict[str, dict[str, Any]]:
    """The referrals the hub holds from this device, by id (every page of the read API)."""
    items = [i for i in hub_referrals(hub.url, supervisor) if i["device_id"] == device.id]
    assert len(items) == len({i["id"] for i in items}), "a referral listed twice"
    return {i["id"]: i for i in items}


def hub_rows(hub: HubProcess, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True)) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


# --- enrolment ------------------------------------------------------------------------------------------------


def test_enrolment_stores_the_device_and_a_code_works_once(hub: HubProcess, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    code = hub.enrol_code("agent", "kayes")
    state = enrol(db, hub.url + "/", code, device_name="test phone")
    assert (state.hub_url, state.role, state.region, state.cursor) == (hub.url, "agent", "kayes", 0)
    assert state.device_id and len(state.token) >= 32
    with pytest.raises(AuthError):
        enrol(db, hub.url, code)
    assert sync_state.require(db) == state  # a refused code changes nothing


# --- push, and what comes back ---------------------------------------------------------------------------------


def test_queued_referrals_reach_the_hub_once_and_come_back_sent(
    hub: HubProcess, supervisor: str, device: Device
) -> None:
    person = device.person()
    ids = {device.refer(person, 0), device.refer(person, 1)}
    report = device.sync()
    assert (report.pushed, report.applied, report.duplicates, report.rejected) == (3, 3, 0, 0)
    # the push answer carried the referrals' state and the hub's `sent` (issue 10): none of its own rows pulled
    assert report.pulled == 0 and report.cursor > 0
    assert outbox.counts(device.db) == {"pending": 0, "done": 3, "quarantined": 0}
    for rid in ids:
        assert get_referral(device.db, rid).status is ReferralStatus.SENT
    held = on_hub(hub, supervisor, device)
    assert set(held) == ids
    assert {i["status"] for i in held.values()} == {"sent"}
    assert {i["returnee_id"] for i in held.values()} == {person.id}
    assert [e.kind for e in device.events] == [STARTED, BATCH_PUSHED, PAGE_PULLED, FINISHED]
    assert device.events[-1].report == report
    again = device.sync()
    assert (again.pushed, again.pulled, again.cursor) == (0, 0, report.cursor)
    assert sync_state.require(device.db).last_result == sync_state.OK


def test_an_office_event_flows_back_to_the_agent(hub: HubProcess, device: Device) -> None:
    rid = device.refer(device.person())
    device.sync()
    hub.cli("referral", "event", rid, "--kind", "accepted")
    report = device.sync()
    assert report.pulled == 1 and report.pushed == 0
    stored = get_referral(device.db, rid)
    assert stored.status is ReferralStatus.ACCEPTED
    assert [e.kind for e in stored.events] == [EventKind.CREATED, EventKind.SENT, EventKind.ACCEPTED]
    hub.cli("referral", "event", rid, "--kind", "enrolled")
    device.sync()
    assert get_referral(device.db, rid).status is ReferralStatus.ENROLLED


def test_a_referral_cancelled_before_it_left_is_revoked_on_both_sides(
    hub: HubProcess, supervisor: str, device: Device
) -> None:
    rid = device.refer(device.person())
    cancel(device.db, rid, now=utc_now())
    report = device.sync()
    assert (report.applied, report.rejected) == (3, 0)  # returnee, referral, its revoked event
    assert get_referral(device.db, rid).status is ReferralStatus.REVOKED
    assert on_hub(hub, supervisor, device)[rid]["status"] == "revoked"


def test_other_devices_referrals_stay_out_of_scope(
    hub: HubProcess, device: Device, tmp_path: Path, dataset: Dataset
) -> None:
    other = new_device(hub, tmp_path / "other.db", dataset)
    theirs = other.refer(other.person(given_name="Mariam"))
    other.sync()
    hub.cli("referral", "event", theirs, "--kind", "accepted")
    report = device.sync()
    assert report.skipped == 0
    assert device.db.execute("SELECT count(*) FROM referral_events").fetchone()[0] == 0


# --- directory corrections ------------------------------------------------------------------------------------


def test_a_directory_correction_and_a_deletion_reach_the_device(
    hub: HubProcess, device: Device, dataset: Dataset, tmp_path: Path
) -> None:
    org = sorted(dataset.organizations, key=lambda o: o.id)[-1]
    device.sync()
    corrected = org.model_copy(update={"name": f"{org.name} (corrigé)"})
    path = tmp_path / f"{org.id}.yaml"
    path.write_text(yaml.safe_dump(corrected.model_dump(mode="json", exclude_none=True), allow_unicode=True))
    hub.cli("directory", "apply", str(path))
    report = device.sync()
    assert report.pulled >= 1
    assert device.db.execute("SELECT name FROM organizations WHERE id = ?", [org.id]).fetchone()[0] == corrected.name
    fts = device.db.execute("SELECT count(*) FROM services_fts WHERE services_fts MATCH 'corrigé'").fetchone()[0]
    assert fts == len(org.services)
    hub.cli("directory", "apply", "--delete", org.id)
    device.sync()
    for table, column in [("organizations", "id"), ("services", "organization_id"), ("locations", "organization_id")]:
        assert device.db.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", [org.id]).fetchone()[0] == 0
    assert (
        device.db.execute("SELECT count(*) FROM services_fts WHERE service_id LIKE ?", [f"{org.id}/%"]).fetchone()[0]
        == 0
    )


# --- refused entries -------------------------------------------------------------------------------------------


def break_returnee_entry(device: Device) -> OutboxEntry:
    """Make the queued returnee entry look written by an older app: its record lacks `sex` (the hub requires it)."""
    [entry] = [e for e in outbox.entries(device.db) if e.entity == "returnee"]
    broken = {k: v for k, v in entry.payload.items() if k != "sex"}
    device.db.execute("UPDATE outbox SET payload = ? WHERE seq = ?", [json.dumps(broken), entry.seq])
    return entry


@pytest.mark.usefixtures("english")
def test_a_refused_entry_is_quarantined_with_its_reason_then_retried(hub: HubProcess, device: Device) -> None:
    person = device.person()
    rid = device.refer(person)
    entry = break_returnee_entry(device)
    report = device.sync()
    assert (report.applied, report.rejected) == (1, 1)  # the referral went on without it
    assert get_referral(device.db, rid).status is ReferralStatus.SENT
    [item] = quarantine.items(device.db)
    assert (item.seq, item.entity, item.entity_id, item.code) == (entry.seq, "returnee", person.id, "invalid_payload")
    assert "sex" in (item.reason or "")
    assert item.message == "The hub found this record invalid: correct it, then send it again."
    assert item.what == "Returnee record"
    assert hub_rows(hub, "SELECT id FROM returnees WHERE id = ?", [person.id]) == []
    assert device.sync().rejected == 0  # set aside: not sent again by itself
    # "Send again": it goes with the record as stored on the phone now
    assert quarantine.retry(device.db, item.seq) == 1
    report = device.sync()
    assert (report.pushed, report.applied, report.rejected) == (1, 1, 0)
    assert quarantine.items(device.db) == []
    assert hub_rows(hub, "SELECT version FROM returnees WHERE id = ?", [person.id]) == [(person.version,)]


def test_a_refused_entry_superseded_by_an_edit_is_settled_not_resent(hub: HubProcess, device: Device) -> None:
    person = device.person()
    entry = break_returnee_entry(device)
    assert device.sync().rejected == 1
    fixed = edit(device.db, person.id, {**form_values(person), "phone": "+22376123456"}, now=utc_now())
    assert device.sync().applied == 1  # the edit's own entry carries the whole record
    assert hub_rows(hub, "SELECT version FROM returnees WHERE id = ?", [person.id]) == [(fixed.version,)]
    assert quarantine.retry(device.db, entry.seq) == 1
    assert outbox.counts(device.db) == {"pending": 0, "done": 2, "quarantined": 0}
    assert device.sync().pushed == 0  # an older version sent after the newer one would only be refused


@pytest.mark.usefixtures("english")
def test_an_event_for_a_referral_the_hub_lacks_is_quarantined(device: Device) -> None:
    event = ReferralEvent(id=str(uuid.uuid4()), referral_id=str(uuid.uuid4()), kind=EventKind.REVOKED, at=utc_now())
    outbox.enqueue(
        device.db,
        entity="referral_event",
        entity_id=event.id,
        op="append",
        payload=event.model_dump(mode="json"),
        now=utc_now(),
    )
    report = device.sync()
    assert report.rejected == 1
    [item] = quarantine.items(device.db)
    assert item.code == "unknown_entity" and item.what == "Referral update"
    assert item.message.startswith("The hub does not know")


def test_an_entry_too_big_for_the_hub_is_split_out_and_the_rest_goes_on(device: Device) -> None:
    people = [device.person(given_name=f"Awa{i}", phone=f"+2237612345{i}") for i in range(3)]
    noise = base64.b64encode(os.urandom(MAX_BODY_BYTES)).decode()  # incompressible, over the limit once gzipped
    op_id = outbox.enqueue(
        device.db,
        entity="referral_event",
        entity_id=str(uuid.uuid4()),
        op="append",
        payload={"x": noise},
        now=utc_now(),
    )
    report = device.sync()
    assert (report.applied, report.rejected) == (3, 1)
    assert outbox.counts(device.db)["done"] == len(people)
    [item] = quarantine.items(device.db)
    assert (item.op_id, item.code) == (op_id, "too_large")


# --- a revoked device -----------------------------------------------------------------------------------------


def test_a_revoked_device_is_refused_and_told_to_enrol_again(hub: HubProcess, device: Device) -> None:
    device.sync()
    hub.cli("revoke", device.id)
    device.person()
    with pytest.raises(AuthError):
        device.sync()
    state = sync_state.require(device.db)
    assert (state.last_result, state.failures) == (sync_state.REFUSED, 1)
    assert state.next_attempt_at is not None
    assert outbox.counts(device.db)["pending"] == 1


# --- crashes --------------------------------------------------------------------------------------------------


def test_resume_after_a_crash_between_push_and_checkpoint(hub: HubProcess, supervisor: str, device: Device) -> None:
    """The hub applied the batch but the device died before marking it done: the next sync sends the same entries
    again, the hub answers `duplicate`, and nothing exists twice."""
    person = device.person()
    ids = {device.refer(person, n) for n in range(3)}
    pending = outbox.entries(device.db)
    ops = [Op(op_id=e.op_id, entity=e.entity, entity_id=e.entity_id, op=e.op, payload=e.payload) for e in pending]
    with client_for(device.db) as client:
        first = client.push(ops)  # what the engine sends before its checkpoint… then the crash
    assert [r.result for r in first.results] == ["applied"] * 4
    assert outbox.counts(device.db)["pending"] == 4
    report = device.sync()
    assert (report.pushed, report.applied, report.duplicates, report.rejected) == (4, 0, 4, 0)
    assert set(on_hub(hub, supervisor, device)) == ids
    assert all(get_referral(device.db, rid).status is ReferralStatus.SENT for rid in ids)


def test_pulling_everything_again_changes_nothing(hub: HubProcess, device: Device) -> None:
    """A crash after applying a page but before... there is no such moment (page and cursor are one
    transaction); still, pulling from 0 again must be harmless."""
    rid = device.refer(device.person())
    device.sync()
    hub.cli("referral", "event", rid, "--kind", "received")
    device.sync()
    before = device.db.execute("SELECT id, kind FROM referral_events ORDER BY id").fetchall()
    cursor = sync_state.require(device.db).cursor
    sync_state.set_cursor(device.db, 0)
    report = device.sync()
    assert report.cursor == cursor and report.pushed == 0
    assert device.db.execute("SELECT id, kind FROM referral_events ORDER BY id").fetchall() == before
    assert get_referral(device.db, rid).status is ReferralStatus.RECEIVED


def test_small_batches_are_checkpointed_one_by_one(hub: HubProcess, supervisor: str, device: Device) -> None:
    person = device.person()
    ids = {device.refer(person, n) for n in range(4)}
    report = device.sync(batch_size=2)
    pushed = [e for e in device.events if e.kind == BATCH_PUSHED]
    assert [(e.batch, e.batches, e.sent, e.to_send) for e in pushed] == [(1, 3, 2, 5), (2, 3, 4, 5), (3, 3, 5, 5)]
    assert [e.progress for e in pushed] == [0.4, 0.8, 1.0]
    assert report.applied == 5 and set(on_hub(hub, supervisor, device)) == ids
