"""A second open referral of the same person to the same service is refused (`AlreadyReferred`, nothing written)
unless confirmed (`force=True`); a cancelled or closed one is no obstacle; the message names the person, the date
and the status, in the person's grammatical gender in French."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import CLOSED, OPEN, EventKind, ReferralEvent, ReferralStatus, is_open
from field_app.errors import AlreadyReferred, Conflict, ValidationError
from field_app.i18n import format_date, in_language
from field_app.referrals.service import cancel, open_referral, refer
from field_app.returnees.service import register
from field_app.storage.database import open_db
from field_app.storage.referrals import merge_event

NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
SERVICE = "cfp-senou/menuiserie-bois"
OTHER = "cfp-senou/construction-metallique"
EVENT = "0f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f5"


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "refer.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


def person(db: sqlite_utils.Database, given: str = "Fatoumata", sex: str = "F") -> str:
    form = {"given_name": given, "family_name": "Traoré", "sex": sex, "age": 22, "region": "kayes", "consent": True}
    return register(db, form, now=NOW).id


def counts(db: sqlite_utils.Database) -> tuple[int, int, int]:
    return tuple(
        db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("referrals", "referral_events", "outbox")
    )  # type: ignore[return-value]


def queue(db: sqlite_utils.Database, who: str, service: str = SERVICE, **kw: object) -> str:
    return refer(db, returnee_id=who, service_id=service, consent_share=True, now=NOW, **kw).id  # type: ignore[arg-type]


def test_open_statuses_are_those_not_closed() -> None:
    assert frozenset(ReferralStatus) == OPEN | CLOSED and not OPEN & CLOSED
    assert is_open(ReferralStatus.QUEUED) and is_open(ReferralStatus.ACCEPTED) and is_open(ReferralStatus.ENROLLED)
    assert not is_open(ReferralStatus.REVOKED) and not is_open(ReferralStatus.COMPLETED)


def test_a_second_open_referral_is_refused_and_writes_nothing(db: sqlite_utils.Database) -> None:
    who = person(db)
    first = queue(db, who)
    before = counts(db)
    with in_language("en"):
        with pytest.raises(AlreadyReferred) as caught:
            queue(db, who)
        day = format_date(NOW.date())
    assert isinstance(caught.value, Conflict) and caught.value.referral_id == first
    assert day == "December 2, 2026"
    assert str(caught.value) == f"Fatoumata Traoré was already referred to this service on {day} (Waiting to be sent)."
    assert counts(db) == before
    queue(db, who, OTHER)  # another service is another matter
    queue(db, person(db, "Awa"))  # so is another person


def test_the_message_agrees_with_the_person_in_french(db: sqlite_utils.Database) -> None:
    woman, man = person(db), person(db, "Moussa", "M")
    queue(db, woman)
    queue(db, man)
    with in_language("fr"):
        for who, word in ((woman, "orientée"), (man, "orienté ")):
            with pytest.raises(AlreadyReferred) as caught:
                queue(db, who)
            assert f"a déjà été {word}".strip() in str(caught.value)
            assert "En attente d" in str(caught.value) and "décembre 2026" in str(caught.value)


def test_force_queues_a_second_one(db: sqlite_utils.Database) -> None:
    who = person(db)
    first = queue(db, who)
    second = queue(db, who, force=True)
    assert second != first and counts(db)[0] == 2
    prior = open_referral(db, who, SERVICE)
    assert prior is not None and prior.id in {first, second}


def test_a_cancelled_referral_is_no_obstacle(db: sqlite_utils.Database) -> None:
    who = person(db)
    first = queue(db, who)
    cancel(db, first, now=NOW + dt.timedelta(minutes=1))
    assert open_referral(db, who, SERVICE) is None
    queue(db, who)


@pytest.mark.parametrize(
    ("kinds", "refused"),
    [
        ((EventKind.SENT,), True),
        ((EventKind.SENT, EventKind.ACCEPTED), True),
        ((EventKind.ACCEPTED, EventKind.ENROLLED), True),
        ((EventKind.DECLINED,), False),
        ((EventKind.ACCEPTED, EventKind.ENROLLED, EventKind.COMPLETED), False),
        ((EventKind.ACCEPTED, EventKind.NOT_COMPLETED), False),
    ],
)
def test_only_open_referrals_count(db: sqlite_utils.Database, kinds: tuple[EventKind, ...], refused: bool) -> None:
    """The office's moves arrive from the hub; once the referral is closed, a new one goes through."""
    who = person(db)
    first = queue(db, who)
    for n, kind in enumerate(kinds):
        extra = {"reason": "partner_full"} if kind in {EventKind.DECLINED, EventKind.NOT_COMPLETED} else {}
        extra |= {"outcome": "trained"} if kind is EventKind.COMPLETED else {}
        event = ReferralEvent.model_validate(
            {"id": f"{EVENT}{n}", "referral_id": first, "kind": kind, "at": NOW + dt.timedelta(days=n + 1), **extra}
        )
        assert merge_event(db, event)
    if refused:
        with pytest.raises(AlreadyReferred):
            queue(db, who)
    else:
        queue(db, who)


def test_consent_is_still_asked_first(db: sqlite_utils.Database) -> None:
    who = person(db)
    queue(db, who)
    with pytest.raises(ValidationError):
        refer(db, returnee_id=who, service_id=SERVICE, consent_share=False, now=NOW)
