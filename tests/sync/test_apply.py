"""Applying pulled changes to a device's database (real SQLite files, no hub): the directory ends up exactly as a
build from the corrected dataset would make it; referral events are taken in once and re-folded."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app.directory.build import build_directory, put_organization
from field_app.directory.dataset import Dataset
from field_app.directory.nearby import Filters, nearby
from field_app.directory.search import search
from field_app.domain.directory import Organization
from field_app.domain.eligibility import Profile
from field_app.domain.referrals import EventKind, ReferralStatus
from field_app.errors import ValidationError
from field_app.referrals.service import cancel, refer
from field_app.returnees.service import register
from field_app.storage.database import open_db
from field_app.storage.outbox import pending_count
from field_app.storage.referrals import get_referral
from field_app.sync.engine import apply_change
from field_app.sync.protocol import Change

NOW = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)
TABLES = ["localities", "organizations", "locations", "services", "service_locations", "contacts", "phones"]


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every directory table, the full-text rows and the nearby index (without the full-text rowids, which
    depend on the order rows were written)."""
    out = {t: sorted(tuple(r.values()) for r in db[t].rows) for t in TABLES}
    out["fts"] = sorted(db.execute("SELECT service_id, service, organization, places, details FROM services_fts"))
    out["offices"] = sorted(
        db.execute(
            "SELECT service_id, location_id, listed, latitude, longitude, organization, service, pathway "
            "FROM service_offices"
        )
    )
    out["coverage"] = sorted(
        db.execute("SELECT region, organization, service, service_id, pathway FROM service_coverage")
    )
    out["fts_matches_offices"] = [
        db.execute(
            "SELECT count(*) FROM service_offices o JOIN services_fts f ON f.rowid = o.doc "
            "WHERE f.service_id != o.service_id"
        ).fetchone()
    ]
    return out


def built(path: Path, dataset: Dataset) -> sqlite_utils.Database:
    db = open_db(path)
    build_directory(db, dataset=dataset)
    return db


def org_change(seq: int, org: Organization) -> Change:
    return Change(seq=seq, entity="organization", id=org.id, op="upsert", data=org.model_dump(mode="json"))


def find(dataset: Dataset, org_id: str) -> Organization:
    return next(o for o in dataset.organizations if o.id == org_id)


def test_an_organisation_upsert_gives_what_a_build_gives(tmp_path: Path, dataset: Dataset) -> None:
    org = find(dataset, "cfp-senou")
    renamed = org.model_copy(update={"name": "Centre Senou (nouveau nom)"})
    device = built(tmp_path / "device.db", dataset)
    assert apply_change(device, org_change(1, renamed))
    others = [o for o in dataset.organizations if o.id != org.id]
    reference = built(tmp_path / "reference.db", Dataset([*others, renamed], dataset.localities))
    assert dump(device) == dump(reference)
    assert {h.organization for h in search(device, "Senou")} >= {"Centre Senou (nouveau nom)"}


def test_the_same_upsert_twice_changes_nothing_more(tmp_path: Path, dataset: Dataset) -> None:
    device = built(tmp_path / "device.db", dataset)
    before = dump(device)
    org = find(dataset, "cfp-senou")
    assert put_organization(device, org) is False  # the bundled version: unchanged
    assert apply_change(device, org_change(1, org))
    assert dump(device) == before


def test_an_organisation_delete_removes_every_row_and_index(tmp_path: Path, dataset: Dataset) -> None:
    device = built(tmp_path / "device.db", dataset)
    org_id = "cfp-senou"
    assert apply_change(device, Change(seq=2, entity="organization", id=org_id, op="delete"))
    reference = built(
        tmp_path / "reference.db", Dataset([o for o in dataset.organizations if o.id != org_id], dataset.localities)
    )
    assert dump(device) == dump(reference)
    hits = nearby(
        device, Profile(age=25), (12.65, -8.0), Filters(radius_km=5000), today=dt.date(2026, 12, 2), limit=500
    )
    assert all(h.organization_id != org_id for h in hits)
    assert apply_change(device, Change(seq=3, entity="organization", id=org_id, op="delete"))  # again: harmless


def test_a_new_organisation_on_a_new_place(tmp_path: Path, dataset: Dataset) -> None:
    """The hub sends the place first, then the organisation with an office there."""
    device = built(tmp_path / "device.db", dataset)
    org = find(dataset, "cfp-senou")
    place = dataset.localities[org.locations[0].locality].model_copy(
        update={"id": "nouveau-quartier", "name": "Nouveau Quartier", "latitude": 12.7, "longitude": -7.9}
    )
    new_org = org.model_copy(
        update={
            "id": "nouvelle-org",
            "name": "Nouvelle organisation",
            "locations": [org.locations[0].model_copy(update={"locality": "nouveau-quartier"})],
        }
    )
    assert apply_change(
        device, Change(seq=1, entity="locality", id=place.id, op="upsert", data=place.model_dump(mode="json"))
    )
    assert apply_change(device, org_change(2, new_org))
    localities = {**dataset.localities, place.id: place}
    reference = built(tmp_path / "reference.db", Dataset([*dataset.organizations, new_org], localities))
    assert dump(device) == dump(reference)


def test_an_organisation_on_an_unknown_place_is_refused_and_changes_nothing(tmp_path: Path, dataset: Dataset) -> None:
    device = built(tmp_path / "device.db", dataset)
    before = dump(device)
    org = find(dataset, "cfp-senou")
    lost = org.model_copy(update={"locations": [org.locations[0].model_copy(update={"locality": "nulle-part"})]})
    with pytest.raises(ValidationError) as caught:
        apply_change(device, org_change(1, lost))
    assert [p.field for p in caught.value.problems] == ["locations[0].locality"]
    assert dump(device) == before


def test_a_moved_place_moves_the_offices_on_it(tmp_path: Path, dataset: Dataset) -> None:
    device = built(tmp_path / "device.db", dataset)
    moved = dataset.localities["kayes"].model_copy(update={"latitude": 14.5, "longitude": -11.5})
    assert apply_change(
        device, Change(seq=1, entity="locality", id="kayes", op="upsert", data=moved.model_dump(mode="json"))
    )
    reference = built(tmp_path / "reference.db", Dataset(dataset.organizations, {**dataset.localities, "kayes": moved}))
    assert dump(device) == dump(reference)
    assert device.execute("SELECT DISTINCT latitude FROM locations WHERE locality_id = 'kayes'").fetchall() == [(14.5,)]


def test_a_place_in_use_is_not_deleted_an_unused_one_is(tmp_path: Path, dataset: Dataset) -> None:
    device = built(tmp_path / "device.db", dataset)
    used = {r[0] for r in device.execute("SELECT DISTINCT locality_id FROM locations")}
    unused = sorted(set(dataset.localities) - used)[0]
    assert apply_change(device, Change(seq=1, entity="locality", id="kayes", op="delete")) is False
    assert apply_change(device, Change(seq=2, entity="locality", id=unused, op="delete")) is True
    assert device.execute("SELECT count(*) FROM localities WHERE id IN ('kayes', ?)", [unused]).fetchone()[0] == 1


# --- referral events ------------------------------------------------------------------------------------------

PERSON = {"given_name": "Awa", "family_name": "Diarra", "sex": "F", "age": 24, "region": "kayes", "consent": True}


def event_change(seq: int, referral_id: str, kind: str, at: dt.datetime, **extra: Any) -> Change:
    data = {"id": str(uuid.uuid4()), "referral_id": referral_id, "kind": kind, "at": at.isoformat(), **extra}
    return Change(seq=seq, entity="referral_event", id=data["id"], op="upsert", data=data)


@pytest.fixture
def device(tmp_path: Path, dataset: Dataset) -> sqlite_utils.Database:
    return built(tmp_path / "device.db", dataset)


def queued_referral(db: sqlite_utils.Database) -> str:
    person = register(db, PERSON, now=NOW)
    service = db.execute("SELECT id FROM services ORDER BY id LIMIT 1").fetchone()[0]
    return refer(db, returnee_id=person.id, service_id=service, consent_share=True, now=NOW).id


def test_hub_events_move_the_status_and_queue_nothing(device: sqlite_utils.Database) -> None:
    rid = queued_referral(device)
    pending = pending_count(device)
    sent = event_change(10, rid, "sent", NOW + dt.timedelta(minutes=5), status="sent", flagged=[])
    accepted = event_change(11, rid, "accepted", NOW + dt.timedelta(days=1), status="accepted", flagged=[])
    assert apply_change(device, sent)
    assert get_referral(device, rid).status is ReferralStatus.SENT
    assert apply_change(device, accepted)
    stored = get_referral(device, rid)
    assert stored.status is ReferralStatus.ACCEPTED
    assert [e.kind for e in stored.events] == [EventKind.CREATED, EventKind.SENT, EventKind.ACCEPTED]
    assert stored.updated_at == NOW + dt.timedelta(days=1)
    assert pending_count(device) == pending  # what came from the hub is not sent back


def test_the_same_event_twice_is_taken_once(device: sqlite_utils.Database) -> None:
    rid = queued_referral(device)
    sent = event_change(10, rid, "sent", NOW + dt.timedelta(minutes=5))
    assert apply_change(device, sent)
    assert apply_change(device, sent)  # known already: still "applied", nothing added
    assert len(get_referral(device, rid).events) == 2


def test_an_event_for_a_referral_made_elsewhere_is_skipped(device: sqlite_utils.Database) -> None:
    assert apply_change(device, event_change(10, str(uuid.uuid4()), "accepted", NOW)) is False
    assert device.execute("SELECT count(*) FROM referral_events").fetchone()[0] == 0


def test_a_conflict_keeps_both_events_and_flags_the_late_one(device: sqlite_utils.Database) -> None:
    """The agent cancels offline while the office accepts: both kept, the fold decides, one is flagged. The hub
    holds the office's `accepted`; the cancel, still in the phone's outbox, will reach it after (issue 10: the hub's
    receipt order, not the times): the cancel is the late one, although it is dated first."""
    rid = queued_referral(device)
    revoked = cancel(device, rid, now=NOW + dt.timedelta(hours=2)).events[-1]
    accepted = event_change(12, rid, "accepted", NOW + dt.timedelta(hours=3))
    assert apply_change(device, accepted)
    stored = get_referral(device, rid)
    assert stored.status is ReferralStatus.ACCEPTED
    assert len(stored.events) == 3 and stored.events[-1] == revoked
    flagged = device.execute("SELECT flagged FROM referrals WHERE id = ?", [rid]).fetchone()[0]
    assert json.loads(flagged) == [revoked.id]


def test_a_skipped_change_is_logged_without_its_data(
    device: sqlite_utils.Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Personal data is never logged: an unusable change names where it failed, not what it said."""
    from field_app.sync.client import HubClient
    from field_app.sync.engine import SyncEngine

    rid = queued_referral(device)
    bad = event_change(11, rid, "Fatoumata Traoré, 76 12 34 56", NOW)  # a kind no device knows, quoting a person
    with HubClient("http://127.0.0.1:9", token="unused") as client, caplog.at_level("WARNING"):
        engine = SyncEngine(device, client)
        assert engine._apply(bad) is False
    assert "invalid kind" in caplog.text
    assert "Fatoumata" not in caplog.text and "76 12" not in caplog.text
    assert len(get_referral(device, rid).events) == 1
