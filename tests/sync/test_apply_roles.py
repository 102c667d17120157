"""Issue 8's pulled entities applied on a device (real SQLite file, no hub): a referral made elsewhere with its
events and person, later events for it, devices, access rows and directory audit rows; a malformed one is
skipped, never applied by halves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlite_utils

from field_app.domain.referrals import EventKind
from field_app.storage.access import list_access
from field_app.storage.audit import list_audit
from field_app.storage.devices import list_devices
from field_app.storage.referrals import get_referral
from field_app.storage.shared_persons import get_shared_person
from field_app.sync.engine import app_version, apply_change
from field_app.sync.protocol import Change

NOW = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)


def uid() -> str:
    return str(uuid.uuid4())


def event(ref: str, kind: str, minutes: int, **more: object) -> dict[str, object]:
    return {
        "id": uid(),
        "referral_id": ref,
        "kind": kind,
        "at": (NOW + dt.timedelta(minutes=minutes)).isoformat(),
        **more,
    }


def test_a_referral_made_elsewhere_then_its_events(fresh_db: sqlite_utils.Database) -> None:
    ref, returnee = uid(), uid()
    data = {
        "referral": {
            "id": ref,
            "returnee_id": returnee,
            "service_id": "svc",
            "organization_id": "org",
            "region": "kayes",
            "consent_share_at": NOW.isoformat(),
            "created_at": NOW.isoformat(),
        },
        "device_id": "agent-1",
        "status": "sent",
        "flagged": [],
        "events": [event(ref, "created", 0), event(ref, "sent", 1)],
        "person": {
            "returnee_id": returnee,
            "given_name": "Awa",
            "family_name": "Diarra",
            "sex": "F",
            "phone": "+22376000001",
            "region": "kayes",
        },
    }
    assert apply_change(fresh_db, Change(seq=1, entity="referral", id=ref, op="upsert", data=data), now=NOW)
    assert get_referral(fresh_db, ref).status == "sent"
    assert get_shared_person(fresh_db, returnee).phone == "+22376000001"  # type: ignore[union-attr]
    accepted = event(ref, "accepted", 60, reason=None, actor="office-1")
    assert apply_change(
        fresh_db, Change(seq=2, entity="referral_event", id=str(accepted["id"]), op="upsert", data=accepted)
    )
    stored = get_referral(fresh_db, ref)
    assert stored.status == "accepted" and stored.events[-1].kind is EventKind.ACCEPTED
    assert stored.events[-1].actor == "office-1"
    # the same change again changes nothing
    assert apply_change(fresh_db, Change(seq=1, entity="referral", id=ref, op="upsert", data=data), now=NOW)
    assert len(get_referral(fresh_db, ref).events) == 3


def test_devices_access_and_audit_rows(fresh_db: sqlite_utils.Database) -> None:
    device = {
        "id": uid(),
        "role": "office",
        "region": "kayes",
        "name": "Kayes",
        "created_at": NOW.isoformat(),
        "pending": 2,
        "quarantined": 0,
        "app_version": "0.1.0",
    }
    access = {
        "id": uid(),
        "returnee_id": uid(),
        "referral_id": uid(),
        "via": "pull",
        "at": NOW.isoformat(),
        "device_id": device["id"],
    }
    audit = {
        "id": uid(),
        "edit_id": uid(),
        "organization_id": "org",
        "field": "phones",
        "before": [],
        "after": ["+223"],
        "device_id": device["id"],
        "role": "office",
        "at": NOW.isoformat(),
    }
    for n, (entity, data) in enumerate([("device", device), ("access", access), ("directory_audit", audit)]):
        assert apply_change(fresh_db, Change(seq=n, entity=entity, id=str(data["id"]), op="upsert", data=data))
    assert [d.id for d in list_devices(fresh_db)] == [device["id"]] and list_devices(fresh_db)[0].pending == 2
    assert [a.id for a in list_access(fresh_db)] == [access["id"]]
    assert [a.id for a in list_audit(fresh_db)] == [audit["id"]]


def test_a_referral_with_an_event_of_another_referral_is_refused_whole(fresh_db: sqlite_utils.Database) -> None:
    ref = uid()
    data = {
        "referral": {
            "id": ref,
            "returnee_id": uid(),
            "service_id": "s",
            "organization_id": "o",
            "region": "kayes",
            "consent_share_at": NOW.isoformat(),
            "created_at": NOW.isoformat(),
        },
        "device_id": "a",
        "status": "sent",
        "flagged": [],
        "events": [event(uid(), "created", 0)],
    }
    with pytest.raises(ValueError):
        apply_change(fresh_db, Change(seq=1, entity="referral", id=ref, op="upsert", data=data), now=NOW)
    assert fresh_db.execute("SELECT count(*) FROM referrals").fetchone()[0] == 0


def test_app_version_is_reported() -> None:
    assert app_version() and len(app_version()) <= 40
