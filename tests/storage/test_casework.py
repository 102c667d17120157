"""Returnees and referrals on a real SQLite file: every write goes with its outbox entry, both or neither."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import EventKind, ReferralStatus
from field_app.domain.returnees import Returnee
from field_app.errors import Conflict, NotFound, StorageError, ValidationError
from field_app.referrals.service import cancel, refer, referral_lines
from field_app.returnees.service import check_form, edit, find_duplicates, register
from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.storage.referrals import get_referral, list_referrals
from field_app.storage.returnees import get_returnee, list_returnees

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=2)
SERVICE = "cfp-senou/menuiserie-bois"

FORM: dict[str, Any] = {
    "given_name": "Fatoumata",
    "family_name": "Traoré",
    "sex": "F",
    "birth_date": "1998-06-15",
    "phone": "76 12 34 56",
    "region": "segou",
    "locality": "markala",
    "documents": ["birth_certificate"],
    "consent": True,
}


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "casework.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


def count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def ids(*values: str) -> Iterator[str]:
    yield from values


def fail_enqueue(*args: object, **kwargs: object) -> str:
    raise sqlite3.OperationalError("disk I/O error (injected)")


# --- returnees ---------------------------------------------------------------------------------------------


def test_register_writes_the_record_and_one_outbox_entry(db: sqlite_utils.Database) -> None:
    person = register(db, FORM, now=NOW)
    assert get_returnee(db, person.id) == person
    assert count(db, "returnees") == 1
    [entry] = outbox.entries(db)
    assert (entry.entity, entry.entity_id, entry.op, entry.base_version) == ("returnee", person.id, "upsert", None)
    assert entry.payload["id"] == person.id and entry.payload["phone"] == "+22376123456"
    assert Returnee.model_validate(entry.payload) == person
    assert outbox.pending_count(db) == 1


def test_the_record_survives_reopening(tmp_path: Path, dataset: Dataset) -> None:
    path = tmp_path / "reopen.db"
    first = open_db(path)
    build_directory(first, dataset=dataset)
    person = register(first, FORM, now=NOW)
    first.close()
    again = open_db(path)
    try:
        assert list_returnees(again) == [person] and outbox.pending_count(again) == 1
    finally:
        again.close()


def test_failure_between_record_and_outbox_leaves_neither(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "enqueue", fail_enqueue)
    with pytest.raises(StorageError):
        register(db, FORM, now=NOW)
    assert count(db, "returnees") == 0
    assert count(db, "outbox") == 0


def test_invalid_form_writes_nothing(db: sqlite_utils.Database) -> None:
    with pytest.raises(ValidationError) as caught:
        register(db, {**FORM, "consent": False}, now=NOW)
    assert [p.field for p in caught.value.problems] == ["consent"]
    assert count(db, "returnees") == 0 and count(db, "outbox") == 0


def test_edit_bumps_version_and_keeps_identity(db: sqlite_utils.Database) -> None:
    person = register(db, FORM, now=NOW)
    edited = edit(db, person.id, {**FORM, "given_name": "Fatou", "phone": "66 00 00 00"}, now=LATER)
    assert edited.version == 2 and edited.given_name == "Fatou" and edited.phone == "+22366000000"
    assert (edited.id, edited.created_at, edited.consent_keep_on) == (person.id, person.created_at, NOW.date())
    assert edited.updated_at == LATER
    assert get_returnee(db, person.id) == edited
    assert count(db, "returnees") == 1
    first, second = outbox.entries(db)
    assert (second.entity, second.entity_id, second.op) == ("returnee", person.id, "upsert")
    assert second.base_version == 1 and second.payload["version"] == 2 and second.payload["given_name"] == "Fatou"
    assert first.seq < second.seq
    third = edit(db, person.id, {**FORM, "given_name": "Fatoumata B."}, now=LATER + dt.timedelta(days=1))
    assert third.version == 3 and outbox.entries(db)[-1].base_version == 2


def test_edit_with_a_failing_outbox_keeps_the_old_record(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = register(db, FORM, now=NOW)
    monkeypatch.setattr(outbox, "enqueue", fail_enqueue)
    with pytest.raises(StorageError):
        edit(db, person.id, {**FORM, "given_name": "Fatou"}, now=LATER)
    assert get_returnee(db, person.id) == person
    assert count(db, "outbox") == 1


def test_edit_unknown_returnee(db: sqlite_utils.Database) -> None:
    with pytest.raises(NotFound):
        edit(db, "0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f", FORM, now=NOW)


def test_an_id_collision_is_a_conflict(db: sqlite_utils.Database) -> None:
    same = "0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f"
    register(db, FORM, now=NOW, new_id=lambda: same)
    with pytest.raises(Conflict):
        register(db, {**FORM, "given_name": "Awa"}, now=LATER, new_id=lambda: same)
    assert get_returnee(db, same).given_name == "Fatoumata"
    assert count(db, "returnees") == 1 and count(db, "outbox") == 1


def test_duplicates_are_found_before_create(db: sqlite_utils.Database) -> None:
    first = register(db, FORM, now=NOW)
    register(db, {**FORM, "given_name": "Moussa", "family_name": "Diarra", "sex": "M", "phone": None}, now=NOW)
    other = {**FORM, "given_name": "TRAORE", "family_name": "fatoumata", "phone": None, "birth_date": "1999-01-01"}
    candidate = check_form(db, other, now=LATER)
    [dup] = find_duplicates(db, candidate)
    assert dup.returnee == first and "same_name_same_region" in dup.match.reasons  # the same name, in either order
    assert count(db, "returnees") == 2  # checking wrote nothing


# --- referrals ---------------------------------------------------------------------------------------------


@pytest.fixture
def person(db: sqlite_utils.Database) -> Returnee:
    return register(db, FORM, now=NOW)


def test_refer_queues_the_referral_its_event_and_one_outbox_entry(db: sqlite_utils.Database, person: Returnee) -> None:
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    assert (referral.organization_id, referral.region, referral.consent_share_at) == ("cfp-senou", "segou", LATER)
    stored = get_referral(db, referral.id)
    assert stored.referral == referral and stored.status is ReferralStatus.QUEUED
    assert [e.kind for e in stored.events] == [EventKind.CREATED]
    entry = outbox.entries(db)[-1]
    assert (entry.entity, entry.entity_id, entry.op) == ("referral", referral.id, "create")
    assert entry.payload["referral"]["id"] == referral.id
    assert [e["kind"] for e in entry.payload["events"]] == ["created"]
    assert count(db, "outbox") == 2  # the returnee's, then the referral's
    [line] = referral_lines(db)
    assert (line.returnee_name, line.organization, line.service) == (
        "Fatoumata Traoré",
        "Centre de Formation Professionnelle de Sénou",
        "Menuiserie bois",
    )


def test_refer_without_consent_writes_nothing(db: sqlite_utils.Database, person: Returnee) -> None:
    with pytest.raises(ValidationError) as caught:
        refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=False, now=LATER)
    assert [p.field for p in caught.value.problems] == ["consent"]
    assert (count(db, "referrals"), count(db, "referral_events"), count(db, "outbox")) == (0, 0, 1)


def test_refer_unknown_service_or_returnee(db: sqlite_utils.Database, person: Returnee) -> None:
    with pytest.raises(NotFound):
        refer(db, returnee_id=person.id, service_id="cfp-senou/astronautique", consent_share=True, now=LATER)
    with pytest.raises(NotFound):
        refer(
            db,
            returnee_id="0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f",
            service_id=SERVICE,
            consent_share=True,
            now=LATER,
        )
    assert (count(db, "referrals"), count(db, "referral_events"), count(db, "outbox")) == (0, 0, 1)


def test_refer_with_a_failing_outbox_leaves_nothing(
    db: sqlite_utils.Database, person: Returnee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "enqueue", fail_enqueue)
    with pytest.raises(StorageError):
        refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    assert (count(db, "referrals"), count(db, "referral_events"), count(db, "outbox")) == (0, 0, 1)


def test_a_referral_id_collision_is_a_conflict(db: sqlite_utils.Database, person: Returnee) -> None:
    made = ids("5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50", "6f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f51")
    refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER, new_id=lambda: next(made))
    again = ids("5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50", "7f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f52")
    with pytest.raises(Conflict):
        refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER, new_id=lambda: next(again))
    assert (count(db, "referrals"), count(db, "referral_events"), count(db, "outbox")) == (1, 1, 2)


def test_cancel_revokes_with_an_event_and_an_outbox_entry(db: sqlite_utils.Database, person: Returnee) -> None:
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    stored = cancel(db, referral.id, now=LATER + dt.timedelta(minutes=5))
    assert stored.status is ReferralStatus.REVOKED
    assert [e.kind for e in stored.events] == [EventKind.CREATED, EventKind.REVOKED]
    assert get_referral(db, referral.id).status is ReferralStatus.REVOKED
    assert list_referrals(db, person.id)[0].status is ReferralStatus.REVOKED
    entry = outbox.entries(db)[-1]
    assert (entry.entity, entry.entity_id, entry.op) == ("referral_event", stored.events[-1].id, "append")
    assert entry.payload["kind"] == "revoked" and entry.payload["referral_id"] == referral.id
    assert count(db, "outbox") == 3


def test_cancel_in_the_same_instant_as_created(db: sqlite_utils.Database, person: Returnee) -> None:
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    assert cancel(db, referral.id, now=LATER).status is ReferralStatus.REVOKED


def test_cancel_twice_is_a_conflict(db: sqlite_utils.Database, person: Returnee) -> None:
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    cancel(db, referral.id, now=LATER + dt.timedelta(minutes=5))
    with pytest.raises(Conflict):
        cancel(db, referral.id, now=LATER + dt.timedelta(minutes=6))
    assert (count(db, "referral_events"), count(db, "outbox")) == (2, 3)


def test_cancel_unknown_referral(db: sqlite_utils.Database) -> None:
    with pytest.raises(NotFound):
        cancel(db, "5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50", now=LATER)


def test_cancel_with_a_failing_outbox_changes_nothing(
    db: sqlite_utils.Database, person: Returnee, monkeypatch: pytest.MonkeyPatch
) -> None:
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=LATER)
    monkeypatch.setattr(outbox, "enqueue", fail_enqueue)
    with pytest.raises(StorageError):
        cancel(db, referral.id, now=LATER + dt.timedelta(minutes=5))
    stored = get_referral(db, referral.id)
    assert stored.status is ReferralStatus.QUEUED and len(stored.events) == 1
    assert db.execute("SELECT status FROM referrals").fetchone()[0] == "queued"
    assert (count(db, "referral_events"), count(db, "outbox")) == (1, 2)
