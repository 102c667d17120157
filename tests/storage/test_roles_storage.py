"""Storage for issue 8 on real SQLite files: the v4 → v5 upgrade keeps every row, referrals made elsewhere
(pulled with their events and person), shared persons, the access log."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path

import sqlite_utils

from field_app.domain.referrals import DeclineReason, EventKind, Outcome, ReferralEvent, ReferralStatus
from field_app.storage.access import count_access, list_access, put_access
from field_app.storage.database import open_db
from field_app.storage.migrations import MIGRATIONS, applied_versions, apply_migrations
from field_app.storage.referrals import get_referral, merge_event, put_pulled_referral
from field_app.storage.shared_persons import get_shared_person, put_shared_person
from field_app.sync.protocol import AccessRecord, ReferralChange, SharedPerson

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)


def uid() -> str:
    return str(uuid.uuid4())


def v4_database(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path))
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    apply_migrations(db, [m for m in MIGRATIONS if m.version <= 4])
    return db


def test_a_version_4_database_upgrades_to_5_keeping_every_row_and_key(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = v4_database(path)
    assert applied_versions(db) == {1, 2, 3, 4}
    people, referrals, events = [], [], []
    for n in range(3):
        rid = uid()
        people.append(rid)
        db.execute(
            "INSERT INTO returnees VALUES (?, ?, ?, 'F', 1990, NULL, 'kayes', '{}', 1, ?, ?)",
            [rid, f"Awa{n}", "Diarra", NOW.isoformat(), NOW.isoformat()],
        )
        for k in range(2):
            ref = uid()
            referrals.append(ref)
            created = (NOW + dt.timedelta(minutes=n * 10 + k)).isoformat()
            db.execute(
                "INSERT INTO referrals VALUES (?, ?, 'svc', 'org', 'kayes', 'sent', '[]', '{}', ?, ?)",
                [ref, rid, created, created],
            )
            for kind, minutes in (("created", 0), ("sent", 5)):
                ev = uid()
                events.append(ev)
                at = (NOW + dt.timedelta(minutes=n * 10 + k + minutes)).isoformat()
                db.execute("INSERT INTO referral_events VALUES (?, ?, ?, ?, '{}')", [ev, ref, kind, at])
    db.execute(
        "INSERT INTO outbox (op_id, entity, entity_id, op, payload, created_at) VALUES ('x', 'r', 'i', 'o', '{}', ?)",
        [NOW.isoformat()],
    )
    db.conn.commit()
    before_events = db.execute("SELECT * FROM referral_events ORDER BY id").fetchall()
    db.close()

    upgraded = open_db(path)
    assert applied_versions(upgraded) == {m.version for m in MIGRATIONS}
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []
    assert upgraded.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(r[0] for r in upgraded.execute("SELECT id FROM returnees")) == sorted(people)
    rows = {r["id"]: r for r in upgraded.query("SELECT * FROM referrals")}
    assert sorted(rows) == sorted(referrals)
    for ref, row in rows.items():
        assert row["origin_device"] is None and row["code"] == ref[:8].upper()
        last = upgraded.execute("SELECT max(at) FROM referral_events WHERE referral_id = ?", [ref]).fetchone()[0]
        assert row["last_event_at"] == last and row["status"] == "sent" and row["returnee_id"] in people
    kept = "SELECT id, referral_id, kind, at, document FROM referral_events ORDER BY id"  # + hub_order (v14)
    assert upgraded.execute(kept).fetchall() == before_events
    assert upgraded.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    # the foreign key from events to the rebuilt referrals still holds
    fks = upgraded.execute("PRAGMA foreign_key_list(referral_events)").fetchall()
    assert [(f[2], f[3], f[4]) for f in fks] == [("referrals", "referral_id", "id")]
    try:
        upgraded.execute(
            "INSERT INTO referral_events VALUES (?, ?, 'sent', ?, '{}', NULL)", [uid(), uid(), NOW.isoformat()]
        )
        raise AssertionError("an event of an unknown referral was accepted")
    except sqlite3.IntegrityError:
        pass
    upgraded.close()


def person(returnee_id: str, given: str = "Fatoumata", family: str = "Traoré") -> SharedPerson:
    return SharedPerson(
        returnee_id=returnee_id,
        given_name=given,
        family_name=family,
        sex="F",
        age=27,
        age_recorded_on=dt.date(2025, 3, 1),
        phone="+22376123456",
        region="kayes",
        locality=None,
    )


def change(ref: str, returnee: str, events: list[ReferralEvent], *, shared: SharedPerson | None) -> ReferralChange:
    referral = {
        "id": ref,
        "returnee_id": returnee,
        "service_id": "cfp-senou/menuiserie-bois",
        "organization_id": "cfp-senou",
        "region": "kayes",
        "consent_share_at": NOW.isoformat(),
        "created_at": NOW.isoformat(),
    }
    return ReferralChange(
        referral=referral,
        device_id="agent-device",
        status="sent",
        flagged=[],
        events=[e.model_dump(mode="json") for e in events],
        person=shared,
    )


def event(ref: str, kind: EventKind, minutes: int, **details: object) -> ReferralEvent:
    return ReferralEvent.model_validate(
        {"id": uid(), "referral_id": ref, "kind": kind, "at": NOW + dt.timedelta(minutes=minutes), **details}
    )


def test_a_referral_made_elsewhere_is_stored_with_its_events_and_person(fresh_db: sqlite_utils.Database) -> None:
    ref, returnee = uid(), uid()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 1)
    with fresh_db.atomic():
        assert put_pulled_referral(fresh_db, change(ref, returnee, [created, sent], shared=person(returnee)), now=NOW)
    stored = get_referral(fresh_db, ref)
    assert stored.status is ReferralStatus.SENT and [e.kind for e in stored.events] == ["created", "sent"]
    row = next(fresh_db.query("SELECT * FROM referrals WHERE id = ?", [ref]))
    assert row["origin_device"] == "agent-device" and row["code"] == ref[:8].upper()
    assert row["last_event_at"] == sent.at.isoformat()
    assert get_shared_person(fresh_db, returnee) == person(returnee)
    assert fresh_db.execute("SELECT folded_name FROM shared_persons").fetchone()[0] == "fatoumata traore"

    # the office's moves arrive as events: the cached columns follow
    accepted = event(ref, EventKind.ACCEPTED, 60, follow_up="2025-03-20")
    assert merge_event(fresh_db, accepted)
    enrolled = event(ref, EventKind.ENROLLED, 120)
    completed = event(ref, EventKind.COMPLETED, 180, outcome=Outcome.JOB_PLACEMENT)
    # the same referral again (the person's record changed on the hub), with events it partly has
    with fresh_db.atomic():
        put_pulled_referral(
            fresh_db,
            change(
                ref, returnee, [created, sent, accepted, enrolled, completed], shared=person(returnee, given="Fanta")
            ),
            now=NOW,
        )
    row = next(fresh_db.query("SELECT * FROM referrals WHERE id = ?", [ref]))
    assert (row["status"], row["outcome"], row["reason"], row["follow_up"]) == (
        "completed",
        "job_placement",
        None,
        "2025-03-20",
    )
    assert row["last_event_at"] == completed.at.isoformat()
    assert fresh_db.execute("SELECT count(*) FROM referral_events WHERE referral_id = ?", [ref]).fetchone()[0] == 5
    assert get_shared_person(fresh_db, returnee).given_name == "Fanta"  # type: ignore[union-attr]
    assert fresh_db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0  # nothing to send back


def test_a_flagged_event_sets_no_reason_and_arrival_order_does_not_matter(fresh_db: sqlite_utils.Database) -> None:
    ref, returnee = uid(), uid()
    created = event(ref, EventKind.CREATED, 0)
    revoked = event(ref, EventKind.REVOKED, 5)
    declined = event(ref, EventKind.DECLINED, 10, reason=DeclineReason.PARTNER_FULL)  # after the cancel: flagged
    with fresh_db.atomic():
        put_pulled_referral(fresh_db, change(ref, returnee, [created, declined], shared=None), now=NOW)
    assert next(fresh_db.query("SELECT reason, status FROM referrals"))["reason"] == "partner_full"
    assert merge_event(fresh_db, revoked)
    row = next(fresh_db.query("SELECT * FROM referrals"))
    assert row["status"] == "revoked" and json.loads(row["flagged"]) == [declined.id] and row["reason"] is None
    assert get_shared_person(fresh_db, returnee) is None


def test_the_access_log_keeps_each_read_once_newest_first(fresh_db: sqlite_utils.Database) -> None:
    returnee = uid()
    records = [
        AccessRecord(
            id=uid(),
            returnee_id=returnee,
            referral_id=uid(),
            via="detail",
            at=NOW + dt.timedelta(hours=h),
            device_id="office-1",
        )
        for h in range(3)
    ]
    for record in [*records, records[0]]:
        put_access(fresh_db, record)
    put_access(fresh_db, AccessRecord(id=uid(), returnee_id=uid(), via="pull", at=NOW - dt.timedelta(hours=1)))
    assert count_access(fresh_db) == 4 and count_access(fresh_db, returnee_id=returnee) == 3
    assert list_access(fresh_db, returnee_id=returnee) == records[::-1]
    assert [r.via for r in list_access(fresh_db, offset=3)] == ["pull"]


def test_shared_person_put_twice_is_one_row(fresh_db: sqlite_utils.Database) -> None:
    returnee = uid()
    put_shared_person(fresh_db, person(returnee), now=NOW)
    put_shared_person(fresh_db, person(returnee, family="Koné"), now=NOW)
    assert fresh_db.execute("SELECT count(*), folded_name FROM shared_persons").fetchone() == (1, "fatoumata kone")
