"""The office workspace's use cases on a real SQLite file: inbox order, counts, paging and search; the detail
(person only with consent, every read recorded); the workflow moves (one transaction, nothing written when
refused); the overdue delay."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from field_app.casework import access, office, roles
from field_app.casework.office import InboxFilters
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import EventKind, ReferralEvent
from field_app.errors import ValidationError
from field_app.i18n import language, set_language
from field_app.referrals.service import refer
from field_app.returnees.service import register
from field_app.storage import outbox, sync_state
from field_app.storage.database import open_db
from field_app.storage.referrals import merge_event, put_pulled_referral
from field_app.sync.protocol import ReferralChange, SharedPerson

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
SERVICE = "cfp-senou/menuiserie-bois"
OFFICE_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> Path:
    path = tmp_path_factory.mktemp("office") / "template.db"
    db = open_db(path)
    build_directory(db, dataset=dataset)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    path = tmp_path / "office.db"
    shutil.copy(template, path)
    database = open_db(path)
    sync_state.save_enrolment(
        database,
        hub_url="http://hub",
        hub_id="hub",
        device_id=OFFICE_ID,
        token="t",
        role="office",
        region="kayes",
        now=NOW,
    )
    yield database
    database.close()


@pytest.fixture
def english() -> Iterator[None]:
    before = language()
    set_language("en")
    yield
    set_language(before)


def uid() -> str:
    return str(uuid.uuid4())


def org_of(db: sqlite_utils.Database, service_id: str = SERVICE) -> str:
    return str(db.execute("SELECT organization_id FROM services WHERE id = ?", [service_id]).fetchone()[0])


def pulled(
    db: sqlite_utils.Database,
    *,
    created: dt.datetime,
    last: dt.datetime | None = None,
    given: str = "Fatoumata",
    family: str = "Traoré",
    region: str = "kayes",
    shared: bool = True,
    device: str = "agent-1",
    locality: str | None = None,
) -> str:
    """A referral made on an agent's phone, as the hub sends it (sent, maybe with the person)."""
    ref, returnee = uid(), uid()
    events = [
        ReferralEvent(id=uid(), referral_id=ref, kind=EventKind.CREATED, at=created),
        ReferralEvent(id=uid(), referral_id=ref, kind=EventKind.SENT, at=last or created),
    ]
    person = SharedPerson(
        returnee_id=returnee,
        given_name=given,
        family_name=family,
        sex="F",
        age=25,
        age_recorded_on=created.date(),
        phone="+22376000001",
        region=region,
        locality=locality,
    )
    change = ReferralChange(
        referral={
            "id": ref,
            "returnee_id": returnee,
            "service_id": SERVICE,
            "organization_id": org_of(db),
            "region": region,
            "consent_share_at": created.isoformat(),
            "created_at": created.isoformat(),
        },
        device_id=device,
        status="sent",
        flagged=[],
        events=[e.model_dump(mode="json") for e in events],
        person=person if shared else None,
    )
    with db.atomic():
        put_pulled_referral(db, change, now=created)
    return ref


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def test_workspace_follows_the_enrolment(db: sqlite_utils.Database, fresh_db: sqlite_utils.Database) -> None:
    assert roles.current(db) == roles.Workspace("office", "kayes", OFFICE_ID)
    assert roles.current(fresh_db) == roles.Workspace("agent", None, None)


def test_inbox_overdue_first_then_newest_with_counts_and_paging(db: sqlite_utils.Database) -> None:
    old_open = pulled(db, created=NOW - days(40))  # overdue (no event for 40 days)
    older_open = pulled(db, created=NOW - days(50))  # overdue too, older
    recent = [pulled(db, created=NOW - days(n)) for n in (1, 2, 3)]
    closed_old = pulled(db, created=NOW - days(60))
    office.move(db, closed_old, "declined", reason="partner_full", now=NOW - days(30))  # closed: never overdue
    pulled(db, created=NOW - days(1), region="segou")  # another region: not in this inbox

    page = office.inbox(db, region="kayes", filters=InboxFilters(), now=NOW)
    assert [i.id for i in page.items] == [old_open, older_open, *recent, closed_old]
    assert [i.overdue for i in page.items] == [True, True, False, False, False, False]
    assert page.total == 6 and page.overdue == 2 and not page.has_more
    assert page.counts["sent"] == 5 and page.counts["declined"] == 1 and page.counts["accepted"] == 0

    # paging across the overdue boundary: nothing skipped, nothing twice, the total said each time
    seen = []
    for offset in range(0, 6, 4):
        part = office.inbox(db, region="kayes", filters=InboxFilters(), now=NOW, offset=offset, limit=4)
        assert part.total == 6
        seen += [i.id for i in part.items]
    assert seen == [i.id for i in page.items]
    first = office.inbox(db, region="kayes", filters=InboxFilters(), now=NOW, limit=1)
    assert first.has_more and len(first.items) == 1

    only = office.inbox(db, region="kayes", filters=InboxFilters(overdue_only=True), now=NOW)
    assert [i.id for i in only.items] == [old_open, older_open] and only.total == 2
    declined = office.inbox(db, region="kayes", filters=InboxFilters(status="declined"), now=NOW)
    assert [i.id for i in declined.items] == [closed_old] and declined.total == 1
    assert declined.counts["sent"] == 5  # counts ignore the status filter
    everywhere = office.inbox(db, region=None, filters=InboxFilters(), now=NOW)
    assert everywhere.total == 7


def test_overdue_days_is_a_setting(db: sqlite_utils.Database) -> None:
    ref = pulled(db, created=NOW - days(10))
    assert office.overdue_days(db) == 14
    assert not office.inbox(db, region="kayes", now=NOW).items[0].overdue
    office.set_overdue_days(db, 7)
    assert office.overdue_days(db) == 7
    [item] = office.inbox(db, region="kayes", now=NOW).items
    assert item.id == ref and item.overdue
    with pytest.raises(ValidationError) as caught:
        office.set_overdue_days(db, 0)
    assert caught.value.problems[0].field == "overdue_days"


def test_search_by_slip_code_or_accent_blind_name(db: sqlite_utils.Database) -> None:
    traore = pulled(db, created=NOW - days(1), given="Fatoumata", family="Traoré")
    kone = pulled(db, created=NOW - days(2), given="Sékou", family="Koné")
    for text, expected in [
        ("traore", [traore]),
        ("TRAORÉ", [traore]),
        ("sekou kone", [kone]),
        ("Koné", [kone]),
        (kone[:8].upper(), [kone]),
        (traore[:5].lower(), [traore]),
        ("nobody", []),
        ("%", []),
    ]:
        page = office.inbox(db, region="kayes", filters=InboxFilters(text=text), now=NOW)
        assert [i.id for i in page.items] == expected, text
        assert page.total == len(expected)


def test_local_walk_in_is_listed_and_searchable(db: sqlite_utils.Database) -> None:
    person = register(
        db,
        {
            "given_name": "Mariam",
            "family_name": "Sissoko",
            "sex": "F",
            "birth_date": "1999-01-01",
            "phone": "76 11 22 33",
            "region": "kayes",
            "consent": True,
        },
        now=NOW,
    )
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=NOW)
    [item] = office.inbox(db, region="kayes", filters=InboxFilters(text="sissoko"), now=NOW).items
    assert item.id == referral.id and item.origin_device is None
    assert item.person == office.PersonLine("Mariam", "Sissoko", "+22376112233")
    mine = office.inbox(db, region="kayes", filters=InboxFilters(device_id=OFFICE_ID), now=NOW)
    assert [i.id for i in mine.items] == [referral.id]


def test_person_only_with_consent_and_each_read_is_recorded(db: sqlite_utils.Database) -> None:
    shared = pulled(db, created=NOW - days(1))
    hidden = pulled(db, created=NOW - days(2), shared=False)
    items = {i.id: i for i in office.inbox(db, region="kayes", now=NOW).items}
    assert items[shared].person == office.PersonLine("Fatoumata", "Traoré", "+22376000001")
    assert items[hidden].person is None and items[hidden].as_json()["returnee"] is None
    before = outbox.pending_count(db)

    seen = office.detail(db, shared, now=NOW)
    assert seen.person is not None and seen.person.family_name == "Traoré"
    assert [e.kind for e in seen.events] == ["created", "sent"]
    assert seen.moves == [EventKind.RECEIVED, EventKind.ACCEPTED, EventKind.DECLINED]
    assert seen.service is not None and seen.service.service.id == "menuiserie-bois"
    [read] = access.log(db)
    assert (read.returnee_id, read.referral_id, read.via, read.device_id) == (
        seen.person.returnee_id,
        shared,
        "detail",
        OFFICE_ID,
    )
    [entry] = outbox.entries(db)[before:]
    assert (entry.entity, entry.entity_id, entry.op) == ("access", read.id, "append")

    assert office.detail(db, hidden, now=NOW).person is None
    assert len(access.log(db)) == 1 and outbox.pending_count(db) == before + 1  # no person, no read


def test_the_workflow_with_reasons_outcomes_and_one_transaction(db: sqlite_utils.Database) -> None:
    ref = pulled(db, created=NOW - days(3))
    item = office.move(db, ref, "accepted", note="place confirmed", follow_up=dt.date(2025, 6, 15), now=NOW)
    assert item.status == "accepted" and item.follow_up == dt.date(2025, 6, 15)
    item = office.move(db, ref, EventKind.ENROLLED, now=NOW + days(1))
    item = office.move(db, ref, "completed", outcome="job_placement", now=NOW + days(30))
    assert (item.status, item.outcome, item.last_event_at) == ("completed", "job_placement", NOW + days(30))
    events = outbox.entries(db)
    assert [e.entity for e in events] == ["referral_event"] * 3
    assert events[-1].payload["outcome"] == "job_placement" and events[-1].payload["actor"] == OFFICE_ID
    assert events[0].payload["note"] == "place confirmed" and events[0].payload["follow_up"] == "2025-06-15"
    assert office.detail(db, ref, now=NOW).moves == []


def rows(db: sqlite_utils.Database) -> tuple[int, int, int]:
    return (
        int(db.execute("SELECT count(*) FROM referral_events").fetchone()[0]),
        int(db.execute("SELECT count(*) FROM outbox").fetchone()[0]),
        int(db.execute("SELECT count(*) FROM access_log").fetchone()[0]),
    )


@pytest.mark.parametrize(
    ("kind", "details", "fields"),
    [
        ("enrolled", {}, ["kind"]),  # not from `sent`
        ("declined", {}, ["reason"]),
        ("declined", {"reason": "other"}, ["note"]),
        ("accepted", {"reason": "partner_full"}, ["reason"]),
        ("completed", {}, ["kind", "outcome"]),
        ("declined", {"reason": "too_far"}, ["reason"]),  # unknown code
        ("finished", {}, ["kind"]),
        ("revoked", {}, ["kind"]),
        ("created", {}, ["kind"]),
    ],
)
def test_a_refused_move_names_the_field_and_writes_nothing(
    db: sqlite_utils.Database, english: None, kind: str, details: dict[str, str], fields: list[str]
) -> None:
    ref = pulled(db, created=NOW - days(3))
    before = rows(db)
    with pytest.raises(ValidationError) as caught:
        office.move(db, ref, kind, now=NOW, **details)  # type: ignore[arg-type]
    assert [p.field for p in caught.value.problems] == fields
    assert all(p.message and not p.message.startswith(("not_", "reason_", "outcome_")) for p in caught.value.problems)
    assert rows(db) == before


def test_a_move_on_another_regions_referral_is_refused(db: sqlite_utils.Database) -> None:
    ref = pulled(db, created=NOW - days(1), region="segou")
    before = rows(db)
    with pytest.raises(ValidationError) as caught:
        office.move(db, ref, "accepted", now=NOW)
    assert [p.field for p in caught.value.problems] == ["region"]
    assert rows(db) == before


def test_a_late_conflicting_event_is_flagged_not_hidden(db: sqlite_utils.Database) -> None:
    ref = pulled(db, created=NOW - days(2))
    office.move(db, ref, "accepted", now=NOW)
    revoked = ReferralEvent(id=uid(), referral_id=ref, kind=EventKind.REVOKED, at=NOW - days(1))  # the agent, before
    assert merge_event(db, revoked)
    seen = office.detail(db, ref, now=NOW)  # sent before the cancel reached the hub: the cancel is the conflict
    assert seen.item.status == "accepted" and seen.item.flagged
    assert seen.flagged == {revoked.id} and revoked.id in {e.id for e in seen.events}
    flagged_only = office.inbox(db, region="kayes", now=NOW).items
    assert flagged_only[0].flagged


def test_the_inbox_uses_its_indexes(db: sqlite_utils.Database) -> None:
    """The page reads the region's rows newest first from migration 6's index (no sort of the whole region)."""
    pulled(db, created=NOW)
    for status, index in [(None, "referrals_region_newest"), ("sent", "referrals_region_status_newest")]:
        where = "r.region = 'kayes'" + (f" AND r.status = '{status}'" if status else "")
        plan = " ".join(
            str(r[3])
            for r in db.execute(
                f"EXPLAIN QUERY PLAN SELECT r.id FROM referrals r INDEXED BY {index} WHERE {where} "
                "AND r.last_event_at <= '2025' ORDER BY r.created_at DESC, r.id DESC LIMIT 50"
            )
        )
        assert index in plan and "TEMP B-TREE" not in plan, plan


def test_name_search_follows_a_corrected_name_and_matches_word_starts(db: sqlite_utils.Database) -> None:
    """The full-text name index (migration 7) is kept in step by triggers: a renamed person is found by the new
    name only; a search matches the start of each word, in either order, accent- and case-blind."""
    ref = pulled(db, created=NOW - days(1), given="Aminata", family="Diarra")

    def find(text: str) -> list[str]:
        return [i.id for i in office.inbox(db, region="kayes", filters=InboxFilters(text=text), now=NOW).items]

    assert find("diar ami") == [ref] and find("AMINATA") == [ref] and find("mina") == []
    returnee_id = db.execute("SELECT returnee_id FROM referrals WHERE id = ?", [ref]).fetchone()[0]
    with db.atomic():
        db.execute(
            "UPDATE shared_persons SET given_name = 'Aminata', family_name = 'Dembélé' WHERE returnee_id = ?",
            [returnee_id],
        )
    assert find("diarra") == [] and find("dembele") == [ref]
    person = register(
        db,
        {"given_name": "Oumou", "family_name": "Sangaré", "sex": "F", "age": 30, "region": "kayes", "consent": True},
        now=NOW,
    )
    walk_in = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=NOW)
    assert find("sangare oumou") == [walk_in.id]
    with db.atomic():
        db.execute("UPDATE returnees SET family_name = 'Keïta' WHERE id = ?", [person.id])
    assert find("sangare") == [] and find("keita") == [walk_in.id]
