"""A late event dated in the past cannot undo what the hub already holds (issue 10), end to end: a REAL hub process
(SQLite and PostgreSQL), real device databases synced by the engine, the fault proxy for a lost answer.

The hub ranks every event when it receives it and every side folds in that order: the hub, the devices that made
the events (through their push answers) and the devices that pull them. So an office's `enrolled`, then an event
that reaches the hub later but is dated before it — another office's `declined` from a phone whose clock is a day
behind, an agent's `revoked` made offline on a phone whose clock is an hour behind — leaves the referral
`enrolled` everywhere, with the late event flagged: a conflict the supervisors see in their pipeline (conflicts)
and exports (the Conflict column). By device clocks alone (the fold before issue 10) the late event would have won
on some sides."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bench.faultproxy import Fault, FaultProxy
from field_app.casework.exports import REFERRAL_COLUMNS, export_referrals
from field_app.casework.office import detail, move
from field_app.casework.supervisor import pipeline
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import DeclineReason, EventKind, ReferralStatus, fold
from field_app.errors import SyncError
from field_app.referrals.service import cancel, refer
from field_app.returnees.service import register
from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.storage.referrals import get_referral
from field_app.sync.engine import SyncEngine, SyncReport, client_for, enrol
from tests.sync.hubproc import HubProcess, fresh_pg_database, hub_referrals

PUSH = "/api/v1/sync/push"
PERSON: dict[str, Any] = {
    "given_name": "Awa",
    "family_name": "Diarra",
    "sex": "F",
    "age": 24,
    "region": "kayes",
    "locality": "kayes",
    "consent": True,
}


@dataclass
class Hub:
    process: HubProcess
    token: str  # a supervisor's, for the hub's read API

    def referral(self, referral_id: str) -> dict[str, Any]:
        (item,) = [i for i in hub_referrals(self.process.url, self.token) if i["id"] == referral_id]
        return item


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    logs = tmp_path_factory.mktemp("hub-logs")
    target = fresh_pg_database() if request.param == "postgresql" else contextlib.nullcontext(str(logs / "hub.db"))
    with target as db:
        process = HubProcess(db, logs).start()
        try:
            yield Hub(process, process.supervisor_token())
        finally:
            process.stop()


@dataclass
class Phone:
    db: sqlite_utils.Database
    skew: dt.timedelta  # how far this phone's clock is behind the true time

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - self.skew

    def sync(self) -> SyncReport:
        with client_for(self.db) as client:
            return SyncEngine(self.db, client, self.now, random.Random(1)).sync_once()

    def state(self, referral_id: str) -> tuple[ReferralStatus, list[str]]:
        row = self.db.execute("SELECT status, flagged FROM referrals WHERE id = ?", [referral_id]).fetchone()
        return ReferralStatus(row[0]), json.loads(row[1])


@pytest.fixture
def phones(hub: Hub, tmp_path: Path, dataset: Dataset) -> Iterator[Callable[..., Phone]]:
    made: list[Phone] = []

    def make(role: str, *, skew: dt.timedelta = dt.timedelta(0), via: str | None = None) -> Phone:
        db = open_db(tmp_path / f"{role}-{len(made)}.db")
        build_directory(db, dataset=dataset)
        code = hub.process.enrol_code(role, None if role == "supervisor" else "kayes")
        enrol(db, via or hub.process.url, code)
        phone = Phone(db, skew)
        made.append(phone)
        return phone

    yield make
    for phone in made:
        phone.db.close()


def refer_someone(agent: Phone) -> str:
    person = register(agent.db, PERSON, now=agent.now())
    service = agent.db.execute("SELECT id FROM services ORDER BY id LIMIT 1").fetchone()[0]
    return refer(agent.db, returnee_id=person.id, service_id=service, consent_share=True, now=agent.now()).id


def kinds(hub_item: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in hub_item["events"]]


def flagged_kinds(hub_item: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in hub_item["events"] if e["id"] in hub_item["flagged"]]


def by_device_clocks(phone: Phone, referral_id: str) -> ReferralStatus:
    """What the fold before issue 10 (events by their own times) would make of what this phone holds."""
    return fold(list(get_referral(phone.db, referral_id).events)).status


def exported_conflicts(phone: Phone, tmp_path: Path) -> dict[str, bool]:
    path = tmp_path / "referrals.csv"
    export_referrals(phone.db, path, fmt="csv", now=phone.now())
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    keys = [k for k, _label in REFERRAL_COLUMNS]
    return {r[keys.index("id")]: r[keys.index("flagged")].lower() in ("true", "1", "yes") for r in rows}


def test_an_office_decline_dated_before_the_enrolment_stays_flagged_everywhere(
    hub: Hub, phones: Callable[..., Phone], tmp_path: Path
) -> None:
    agent, office = phones("agent"), phones("office")
    late_office = phones("office", skew=dt.timedelta(days=1))  # its clock is a day behind
    supervisor = phones("supervisor")
    rid = refer_someone(agent)
    agent.sync()
    office.sync()
    late_office.sync()  # it sees the referral `sent`, then stays offline
    assert late_office.state(rid) == (ReferralStatus.SENT, [])
    move(office.db, rid, EventKind.ACCEPTED, now=office.now())
    move(office.db, rid, EventKind.ENROLLED, now=office.now())
    office.sync()
    move(late_office.db, rid, EventKind.DECLINED, reason=DeclineReason.PARTNER_FULL, now=late_office.now())
    assert late_office.state(rid) == (ReferralStatus.DECLINED, [])  # offline, it cannot know better
    report = late_office.sync()
    assert (report.applied, report.rejected) == (1, 0)

    held = hub.referral(rid)
    assert kinds(held) == ["created", "sent", "accepted", "enrolled", "declined"]  # the hub's receipt order
    assert held["status"] == "enrolled" and flagged_kinds(held) == ["declined"]
    declined = held["flagged"]
    stamps = {e["kind"]: dt.datetime.fromisoformat(e["at"]) for e in held["events"]}
    assert stamps["declined"] < stamps["accepted"]  # dated before the office's moves it came after
    ranks = [e["received"] for e in held["events"]]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)

    # the late office learnt it from its push answer (it never pulls its own event back)
    assert late_office.state(rid) == (ReferralStatus.ENROLLED, declined)
    for phone in (agent, office, supervisor):
        phone.sync()
    for phone in (agent, office, late_office, supervisor):
        assert phone.state(rid) == (ReferralStatus.ENROLLED, declined)
        stored = get_referral(phone.db, rid)
        assert [e.kind.value for e in stored.events] == kinds(held)
        assert stored.order == {e["id"]: e["received"] for e in held["events"]}
    assert by_device_clocks(agent, rid) is ReferralStatus.DECLINED  # what device clocks alone would have said

    # where supervisors look: the pipeline's conflicts, the export's Conflict column, the referral's history
    figures = pipeline(supervisor.db, now=supervisor.now())
    assert rid in {i.id for i in figures.conflicts} and figures.conflicts_total >= 1
    assert figures.by_status.get("enrolled", 0) >= 1
    assert exported_conflicts(supervisor, tmp_path)[rid] is True
    history = detail(supervisor.db, rid, now=supervisor.now())
    assert [e.kind for e in history.events][-1] is EventKind.DECLINED and history.flagged == set(declined)


def test_an_agents_cancel_made_offline_before_the_enrolment_does_not_undo_it(
    hub: Hub, phones: Callable[..., Phone]
) -> None:
    """The agent's push reaches the hub but its answer is lost, so the phone still shows the referral queued and
    lets the agent cancel it (its clock an hour behind); meanwhile the office accepts and enrols the person. When
    the agent's phone syncs again its `revoked` arrives after the `enrolled`: flagged, on the hub and on the phone."""
    with FaultProxy(hub.process.address) as proxy:
        agent = phones("agent", skew=dt.timedelta(hours=1), via=proxy.url)
        office, supervisor = phones("office"), phones("supervisor")
        rid = refer_someone(agent)
        proxy.add(Fault("drop_after_response", path=PUSH))
        with pytest.raises(SyncError):
            agent.sync()
        assert agent.state(rid) == (ReferralStatus.QUEUED, [])
        cancel(agent.db, rid, now=agent.now())
        assert agent.state(rid) == (ReferralStatus.REVOKED, [])
        office.sync()
        move(office.db, rid, EventKind.ACCEPTED, now=office.now())
        move(office.db, rid, EventKind.ENROLLED, now=office.now())
        office.sync()
        report = agent.sync()
        assert (report.duplicates, report.applied, report.rejected) == (2, 1, 0)  # person, referral again; revoked
        assert outbox.counts(agent.db)["pending"] == 0
    held = hub.referral(rid)
    assert kinds(held) == ["created", "sent", "accepted", "enrolled", "revoked"]
    assert held["status"] == "enrolled" and flagged_kinds(held) == ["revoked"]
    stamps = {e["kind"]: dt.datetime.fromisoformat(e["at"]) for e in held["events"]}
    assert stamps["revoked"] < stamps["sent"]  # the phone dated its cancel before the hub even had the referral
    assert agent.state(rid) == (ReferralStatus.ENROLLED, held["flagged"])
    assert by_device_clocks(agent, rid) is ReferralStatus.REVOKED
    for phone in (office, supervisor):
        phone.sync()
        assert phone.state(rid) == (ReferralStatus.ENROLLED, held["flagged"])
    assert rid in {i.id for i in pipeline(supervisor.db, now=supervisor.now()).conflicts}
