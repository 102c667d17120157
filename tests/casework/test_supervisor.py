"""Supervisor workspace on a device: devices, revocation (queued), pipeline and outcome figures over real rows."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app.casework import supervisor
from field_app.domain.geo import fold
from field_app.errors import NotFound, ValidationError
from field_app.storage.database import open_db
from field_app.storage.devices import get_device, put_device
from field_app.storage.sync_state import save_enrolment
from field_app.sync.protocol import DeviceInfo, DeviceRevocation

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
OWN = "00000000-0000-4000-8000-000000000001"


def device(tmp_path: Path, built_db: sqlite_utils.Database, role: str, region: str | None = None) -> Any:
    path = tmp_path / f"{role}.db"
    target = sqlite3.connect(path)
    built_db.conn.backup(target)
    target.close()
    db = open_db(path)
    save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="h", device_id=OWN, token="t", role=role, region=region, now=NOW
    )
    return db


def add_referral(
    db: sqlite_utils.Database,
    org: str,
    *,
    status: str,
    region: str = "kayes",
    created: dt.datetime = NOW - dt.timedelta(days=3),
    last: dt.datetime | None = None,
    outcome: str | None = None,
    kinds: tuple[str, ...] = (),
    flagged: bool = False,
    person: tuple[str, str, str] | None = ("Awa", "Traoré", "+22376000000"),
) -> str:
    """A referral as the sync engine stores one pulled from the hub (origin_device set), with its events."""
    rid, returnee = str(uuid.uuid4()), str(uuid.uuid4())
    service = db.execute("SELECT id FROM services WHERE organization_id = ? LIMIT 1", [org]).fetchone()[0]
    document = {
        "id": rid,
        "returnee_id": returnee,
        "service_id": service,
        "organization_id": org,
        "region": region,
        "consent_share_at": created.isoformat(),
        "created_at": created.isoformat(),
    }
    events = [("created", created), *((k, created + dt.timedelta(days=i + 1)) for i, k in enumerate(kinds))]
    ids = [str(uuid.uuid4()) for _e in events]
    last = last or events[-1][1]
    db.execute(
        "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, status, flagged, document, "
        "created_at, updated_at, origin_device, last_event_at, outcome, code) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [rid, returnee, service, org, region, status, json.dumps(ids[-1:] if flagged else []), json.dumps(document),
         created.isoformat(), last.isoformat(), str(uuid.uuid4()), last.isoformat(), outcome, rid[:8].upper()],
    )  # fmt: skip
    for eid, (kind, at) in zip(ids, events, strict=True):
        event = {"id": eid, "referral_id": rid, "kind": kind, "at": at.isoformat()}
        db.execute(
            "INSERT INTO referral_events (id, referral_id, kind, at, document) VALUES (?, ?, ?, ?, ?)",
            [eid, rid, kind, at.isoformat(), json.dumps(event)],
        )
    if person:
        db.execute(
            "INSERT INTO shared_persons (returnee_id, given_name, family_name, phone, folded_name, document, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [returnee, *person, fold(f"{person[0]} {person[1]}"), json.dumps({"region": region}), NOW.isoformat()],
        )
    return rid


def two_orgs(db: sqlite_utils.Database) -> tuple[str, str]:
    """An organisation quoting an insertion rate, and one that does not."""
    quoted = db.execute(
        "SELECT id FROM organizations WHERE json_extract(document, '$.insertion_rate') IS NOT NULL ORDER BY id"
    ).fetchone()[0]
    plain = db.execute(
        "SELECT id FROM organizations WHERE json_extract(document, '$.insertion_rate') IS NULL ORDER BY id"
    ).fetchone()[0]
    return quoted, plain


def _device(role: str, name: str, **kw: Any) -> DeviceInfo:
    return DeviceInfo.model_validate(
        {"id": str(uuid.uuid4()), "role": role, "region": kw.pop("region", None), "name": name, "created_at": NOW, **kw}
    )


def test_devices_and_revoke_queued(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "supervisor")
    phone = _device("agent", "Kayes agent 1", region="kayes", pending=2, quarantined=1, app_version="0.8.0")
    put_device(db, phone)
    put_device(db, _device("supervisor", "HQ", id=OWN))
    assert {d.name for d in supervisor.devices(db)} == {"Kayes agent 1", "HQ"}
    revoked = supervisor.revoke(db, phone.id, note="phone lost", now=NOW)
    assert revoked.revoked_at == NOW and get_device(db, phone.id) == revoked
    [(entity, entity_id, payload)] = db.execute("SELECT entity, entity_id, payload FROM outbox").fetchall()
    assert (entity, entity_id) == ("device_revocation", phone.id)
    assert DeviceRevocation.model_validate_json(payload) == DeviceRevocation(
        device_id=phone.id, at=NOW, note="phone lost"
    )
    supervisor.revoke(db, phone.id, now=NOW)  # already revoked: nothing more queued
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    with pytest.raises(ValidationError):
        supervisor.revoke(db, OWN, now=NOW)
    with pytest.raises(NotFound):
        supervisor.revoke(db, str(uuid.uuid4()), now=NOW)


def test_only_a_supervisor_revokes(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "office", "kayes")
    phone = _device("agent", "x", region="kayes")
    put_device(db, phone)
    with pytest.raises(ValidationError) as err:
        supervisor.revoke(db, phone.id, now=NOW)
    assert [p.field for p in err.value.problems] == ["device"]
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert get_device(db, phone.id) == phone


def test_pipeline_counts_funnel_and_rates(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "supervisor")
    quoted, plain = two_orgs(db)
    march, feb = NOW - dt.timedelta(days=5), dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    add_referral(db, quoted, status="received", created=march)
    add_referral(db, quoted, status="accepted", kinds=("accepted",), created=march)
    add_referral(db, quoted, status="enrolled", kinds=("accepted", "enrolled"), created=feb, last=NOW)
    for outcome in ("job_placement", "trained", "self_employment"):
        add_referral(db, quoted, status="completed", kinds=("accepted", "enrolled", "completed"), outcome=outcome,
                     created=feb, last=NOW)  # fmt: skip
    add_referral(db, quoted, status="not_completed", kinds=("accepted", "enrolled", "not_completed"), created=feb)
    add_referral(db, quoted, status="not_completed", kinds=("accepted", "not_completed"), created=feb)
    add_referral(db, quoted, status="declined", kinds=("declined",), created=feb)
    add_referral(db, quoted, status="revoked", kinds=("revoked",), created=feb)
    add_referral(db, plain, status="received", region="segou", created=march, flagged=True, last=NOW)
    p = supervisor.pipeline(db, now=NOW)
    assert p.total == 11
    assert p.by_status == {"received": 2, "accepted": 1, "enrolled": 1, "completed": 3, "not_completed": 2,
                           "declined": 1, "revoked": 1}  # fmt: skip
    assert p.by_region == {"kayes": 10, "segou": 1}
    assert p.by_month == [("2026-02", 8), ("2026-03", 3)]
    assert p.outcomes == {"job_placement": 1, "self_employment": 1, "trained": 1}
    first = p.partners[0]
    assert first.organization_id == quoted
    # revoked left out: 9 referred; accepted = 1 + 1 + 3 + 2; enrolled = 1 + 3 + the not_completed that was enrolled
    assert (first.referred, first.accepted, first.enrolled, first.completed, first.placed) == (9, 7, 5, 3, 2)
    assert first.acceptance_rate == pytest.approx(7 / 9)
    assert first.completion_rate == pytest.approx(3 / 5)
    assert first.placement_rate == pytest.approx(2 / 3)
    assert first.quoted_insertion is not None and first.quoted_year == 2022
    second = p.partners[1]
    assert (second.referred, second.placement_rate, second.quoted_insertion) == (1, None, None)
    assert [i.id for i in p.conflicts] and all(i.flagged for i in p.conflicts) and p.conflicts_total == 1
    # overdue: open and no event for 14 days (the accepted one, the two received in March are recent)
    assert p.overdue_total == len(p.overdue) and all(i.overdue for i in p.overdue)

    kayes = supervisor.pipeline(db, region="kayes", now=NOW)
    assert kayes.by_region == {"kayes": 10} and kayes.conflicts == [] and len(kayes.partners) == 1
