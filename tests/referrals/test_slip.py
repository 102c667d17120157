"""The referral slip the returnee keeps: partner, town, phone as written, what to bring, the code; as an SMS link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.directory.detail import service_detail
from field_app.errors import NotFound
from field_app.i18n import format_date, language, set_language
from field_app.labels import DOCUMENTS, label
from field_app.referrals.service import refer
from field_app.referrals.slip import make_slip
from field_app.returnees.service import register
from field_app.storage.database import open_db

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
REFERRAL_ID = "5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50"
SENOU = "cfp-senou/menuiserie-bois"
SENOU_REQUIRED = ["birth_certificate", "nationality_certificate", "residence_certificate", "photos"]


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "slip.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


@pytest.fixture(params=["en", "fr"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    before = language()
    set_language(request.param)
    yield request.param
    set_language(before)


def referral(db: sqlite_utils.Database, service_id: str, region: str = "bamako") -> str:
    person = register(
        db,
        {
            "given_name": "Moussa",
            "family_name": "Diarra",
            "sex": "M",
            "age": 24,
            "region": region,
            "consent": True,
        },
        now=NOW,
    )
    ids = iter([REFERRAL_ID, "6f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f51"])
    return refer(
        db, returnee_id=person.id, service_id=service_id, consent_share=True, now=NOW, new_id=lambda: next(ids)
    ).id


def test_slip_holds_what_the_returnee_needs(db: sqlite_utils.Database, lang: str) -> None:
    slip = make_slip(db, referral(db, SENOU))
    text = slip.text()
    assert slip.code == "5F0C8A2E" and slip.code in text
    assert (
        slip.organization == "Centre de Formation Professionnelle de Sénou (CFPS)"
        and "(CFPS)" in text
        and "Menuiserie bois" in text
    )
    assert slip.person == "Moussa Diarra" and "Moussa Diarra" in text
    assert slip.town == "Sénou" and "Sénou" in text
    assert slip.phone_as_written == "+223/66.89.68.87" and "+223/66.89.68.87" in text  # as the source wrote it
    assert slip.phone == "+22366896887"
    for code in SENOU_REQUIRED:
        assert label(DOCUMENTS, code) in slip.bring
        assert label(DOCUMENTS, code) in text  # localised, in the current language
    assert len(slip.bring) == len(set(slip.bring))
    assert format_date(NOW.date()) in text
    assert "{" not in text and "}" not in text


def test_slip_documents_are_localised(db: sqlite_utils.Database) -> None:
    referral_id = referral(db, SENOU)
    before = language()
    try:
        for lang in ("en", "fr"):
            set_language(lang)
            bring = make_slip(db, referral_id).bring
            assert bring[: len(SENOU_REQUIRED)] == [label(DOCUMENTS, c) for c in SENOU_REQUIRED]
        set_language("en")
        assert make_slip(db, referral_id).bring[0] == "birth certificate"
    finally:
        set_language(before)


def test_office_in_the_returnees_region_is_preferred(db: sqlite_utils.Database) -> None:
    found = db.execute(
        "SELECT s.id FROM services s JOIN service_locations sl ON sl.service_id = s.id "
        "JOIN locations l ON l.id = sl.location_id GROUP BY s.id HAVING count(DISTINCT l.region) > 1 LIMIT 1"
    ).fetchone()
    assert found is not None, "the dataset has a service with offices in several regions"
    service_id = found[0]
    detail = service_detail(db, service_id)
    first = detail.offices[0]
    other = next(o for o in detail.offices if o.region != first.region)
    slip = make_slip(db, referral(db, service_id, region=other.region))
    assert slip.town in {o.town for o in detail.offices if o.region == other.region}


def test_sms_link(db: sqlite_utils.Database, lang: str) -> None:
    slip = make_slip(db, referral(db, SENOU))
    link = slip.sms_link("+22376123456")
    prefix = "sms:+22376123456?body="
    assert link.startswith(prefix)
    body = link[len(prefix) :]
    assert unquote(body) == slip.text()
    for raw in (" ", "\n", "&", "#", "?", "«", "é"):
        assert raw not in body  # url-encoded, so the message app gets the whole text


def test_slip_of_an_unknown_referral(db: sqlite_utils.Database) -> None:
    with pytest.raises(NotFound):
        make_slip(db, REFERRAL_ID)
