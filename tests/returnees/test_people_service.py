"""The returnee use cases the People screens and `field-app returnee` share: a person's record in labelled lines
(the unknown left out, in the current language), a page of people and its counts, a duplicate with what the
agent needs to ask the person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from field_app import i18n
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.duplicates import DuplicateReason
from field_app.returnees.service import details, find_duplicates, register, search_people
from field_app.storage.database import open_db

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
FULL = {
    "given_name": "Moussa", "family_name": "Keïta", "sex": "M", "birth_date": "1996-03-04", "phone": "66 21 43 65",
    "languages": ["bm", "fr"], "region": "kayes", "locality": "kayes", "returned_from": "LY",
    "return_date": "2026-10-01", "education": "primary", "reads_french": False, "trade_before": "mécanicien",
    "sectors": ["mechanics"], "documents": ["id_card"], "consent": True,
}  # fmt: skip


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "people.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


@pytest.fixture
def english() -> Iterator[None]:
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


@pytest.mark.usefixtures("english")
def test_details_name_every_known_fact(db: sqlite_utils.Database) -> None:
    person = register(db, FULL, now=NOW)
    lines = dict(details(db, person, NOW.date()))
    assert lines["Sex"] == "Man" and lines["Age"] == "30 years" and lines["Phone"] == "+22366214365"
    assert lines["Place of return"] == "Kayes" and lines["Country returned from"] == "Libya"
    assert lines["Reads French"] == "no" and lines["Documents held"] == "identity card"
    assert lines["Date registered"] == "December 2, 2026"
    brief = register(db, {"given_name": "Awa", "family_name": "Sow", "sex": "F", "age": 1, "region": "gao",
                          "consent": True}, now=NOW)  # fmt: skip
    names = [name for name, _ in details(db, brief, NOW.date())]
    assert "Phone" not in names and "Place of return" not in names and "Vulnerabilities" not in names
    assert dict(details(db, brief, NOW.date()))["Age"] == "1 year"  # plural forms


def test_details_in_french(db: sqlite_utils.Database) -> None:
    person = register(db, FULL, now=NOW)
    i18n.set_language("fr")
    lines = dict(details(db, person, NOW.date()))
    assert lines["Sexe"] == "Homme" and lines["Âge"] == "30 ans" and lines["Pays de retour"] == "Libye"


def test_a_page_of_people(db: sqlite_utils.Database) -> None:
    for k in range(7):
        register(db, {**FULL, "given_name": f"Moussa{k}", "phone": None}, now=NOW + dt.timedelta(minutes=k))
    page = search_people(db, "keita", limit=3, offset=3)
    assert [r.given_name for r in page.people] == ["Moussa3", "Moussa2", "Moussa1"]
    assert (page.total, page.has_more, page.next_offset, page.text) == (7, True, 6, "keita")
    last = search_people(db, "  keita  ", limit=3, offset=6)
    assert [r.given_name for r in last.people] == ["Moussa0"] and not last.has_more
    assert search_people(db, limit=0).limit == 1  # never an empty page size


def test_a_duplicate_carries_why_and_what_to_ask(db: sqlite_utils.Database) -> None:
    first = register(db, FULL, now=NOW)
    again = first.model_copy(update={"id": "0" * 8 + "-0000-4000-8000-" + "0" * 12, "given_name": "Mousa",
                                     "birth_date": dt.date(1990, 1, 1)})  # fmt: skip
    [dup] = find_duplicates(db, again)
    assert dup.returnee == first
    assert dup.reasons == (DuplicateReason.SAME_PHONE, DuplicateReason.SIMILAR_NAME, DuplicateReason.SAME_REGION)
    assert dup.phone_end == "4365" and dup.match.score == 1.0
