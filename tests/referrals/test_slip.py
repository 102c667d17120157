"""The referral slip: the full slip (partner, town, a dialable phone, what to bring, the code, the date) and the
one-SMS slip in the person's language; the SMS length arithmetic as tables from 3GPP TS 23.038 (160/153 septets
in GSM-7, an extension character two septets and never split; 70/67 UTF-16 units in UCS-2, a surrogate pair never
split); every service of the real directory, the longest partner and service names first, fits one SMS."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlite_utils
from hypothesis import given
from hypothesis import strategies as st

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.directory.detail import service_detail
from field_app.errors import NotFound
from field_app.i18n import format_date, in_language, language, set_language
from field_app.labels import DOCUMENTS, label
from field_app.referrals.service import refer
from field_app.referrals.slip import Slip, dialable, make_slip, slip_language, sms_cost
from field_app.referrals.sms import GSM_BASIC, GSM_EXTENDED, Encoding, is_gsm7, sms_safe, sms_size
from field_app.returnees.service import register
from field_app.storage.database import open_db

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
REFERRAL_ID = "5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50"
SENOU = "cfp-senou/menuiserie-bois"
SENOU_REQUIRED = ["birth_certificate", "nationality_certificate", "residence_certificate", "photos"]
LONG_PERSON = {"given_name": "Aminata Kadidiatou", "family_name": "Diallo-Coulibaly"}


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


def person(db: sqlite_utils.Database, region: str = "bamako", **extra: object) -> str:
    form = {"given_name": "Moussa", "family_name": "Diarra", "sex": "M", "age": 24, "region": region, "consent": True}
    return register(db, {**form, **extra}, now=NOW).id


def referral(db: sqlite_utils.Database, service_id: str, region: str = "bamako", **extra: object) -> str:
    ids = iter([REFERRAL_ID, "6f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f51"])
    return refer(
        db,
        returnee_id=person(db, region, **extra),
        service_id=service_id,
        consent_share=True,
        now=NOW,
        new_id=lambda: next(ids),
    ).id


# --- the full slip -------------------------------------------------------------------------------------------------


def test_slip_holds_what_the_returnee_needs(db: sqlite_utils.Database, lang: str) -> None:
    slip = make_slip(db, referral(db, SENOU))
    text = slip.text()
    assert slip.code == "5F0C8A2E" and slip.code in text
    assert slip.organization == "Centre de Formation Professionnelle de Sénou (CFPS)" and "(CFPS)" in text
    assert slip.partner == "CFPS" and "Menuiserie bois" in text
    assert slip.person == "Moussa Diarra" and "Moussa Diarra" in text
    assert slip.town == "Sénou" and "Sénou" in text
    assert slip.phone_as_written == "+223/66.89.68.87"  # as the 2022 fiche printed it: kept, never shown
    assert slip.phone == "+22366896887" and slip.phone_display == "+223 66 89 68 87"
    assert "+223 66 89 68 87" in text and slip.phone_as_written not in text
    for code in SENOU_REQUIRED:
        assert label(DOCUMENTS, code) in slip.bring
        assert label(DOCUMENTS, code) in text  # localised, in the current language
    assert len(slip.bring) == len(set(slip.bring))
    assert format_date(NOW.date()) in text
    assert "{" not in text and "}" not in text


def test_slip_documents_are_localised(db: sqlite_utils.Database) -> None:
    slip = make_slip(db, referral(db, SENOU))
    for lang in ("en", "fr"):
        with in_language(lang):
            assert slip.bring[: len(SENOU_REQUIRED)] == [label(DOCUMENTS, c) for c in SENOU_REQUIRED]
    with in_language("en"):
        assert slip.bring[0] == "birth certificate"
    with in_language("fr"):
        assert slip.bring[0] != "birth certificate"


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


def test_slip_of_an_unknown_referral(db: sqlite_utils.Database) -> None:
    with pytest.raises(NotFound):
        make_slip(db, REFERRAL_ID)


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+22366896887", "+223 66 89 68 87"), ("+22320222999", "+223 20 22 29 99"), ("+33612345678", "+33 6 12 34 56 78")],
)
def test_numbers_are_written_to_be_dialled(e164: str, shown: str) -> None:
    assert dialable(e164) == shown
    assert dialable("not a number") == "not a number"


# --- the SMS length arithmetic (3GPP TS 23.038) ---------------------------------------------------------------------


def test_the_gsm_alphabet() -> None:
    assert len(GSM_BASIC) == 127  # 128 codes, one of them the escape to the extension table
    assert len(GSM_EXTENDED) == 10
    assert not GSM_BASIC & GSM_EXTENDED
    for char in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r":
        assert char in GSM_BASIC
    for char in "çêëîïôûâœ’«»—…ɛɔɲŋ\u00a0":
        assert not is_gsm7(char), char


E = "€"  # extension table: two septets
U = "ê"  # not in the alphabet: the message becomes UCS-2
SMILE = "\U0001f600"  # outside the BMP: two UTF-16 units


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"),
    [
        ("", Encoding.GSM7, 0, 1),
        ("a", Encoding.GSM7, 1, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("a" * 459, Encoding.GSM7, 459, 3),
        ("a" * 460, Encoding.GSM7, 460, 4),
        ("é" * 160, Encoding.GSM7, 160, 1),  # é, è, à, ù are in the alphabet
        ("Sénou\nKayes", Encoding.GSM7, 11, 1),
        (E * 80, Encoding.GSM7, 160, 1),
        (E * 81, Encoding.GSM7, 162, 2),
        ("a" * 159 + E, Encoding.GSM7, 161, 2),
        ("a" * 152 + E + "a" * 152, Encoding.GSM7, 306, 3),  # 306 septets, but the escape pair moves to part 2
        ("a" * 153 + E + "a" * 151, Encoding.GSM7, 306, 2),
        (U, Encoding.UCS2, 1, 1),
        (U + "a" * 69, Encoding.UCS2, 70, 1),
        (U + "a" * 70, Encoding.UCS2, 71, 2),
        (U + "a" * 133, Encoding.UCS2, 134, 2),
        (U + "a" * 134, Encoding.UCS2, 135, 3),
        ("a" * 159 + U, Encoding.UCS2, 160, 3),  # one ê: 160 characters take three SMS, not one
        ("ɛɔɲŋ" * 17 + "ab", Encoding.UCS2, 70, 1),
        (SMILE * 35, Encoding.UCS2, 70, 1),
        (SMILE * 36, Encoding.UCS2, 72, 2),
        ("a" * 66 + SMILE + "a" * 66, Encoding.UCS2, 134, 3),  # the pair is not split: part 1 ends at 66
        ("a" * 67 + SMILE + "a" * 65, Encoding.UCS2, 134, 2),
    ],
)
def test_sms_size(text: str, encoding: Encoding, units: int, parts: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.units, size.parts) == (encoding, units, parts)
    assert size.fits_one is (parts == 1)


@given(st.text(alphabet=st.sampled_from(sorted(GSM_BASIC)), max_size=1000))
def test_plain_gsm_text_takes_what_the_formula_says(text: str) -> None:
    size = sms_size(text)
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert (size.encoding, size.units, size.parts) == (Encoding.GSM7, len(text), expected)


@given(st.text(alphabet=st.sampled_from(sorted(GSM_BASIC | GSM_EXTENDED | set("êçɛ’«»—"))), max_size=600))
def test_parts_hold_the_text_in_order_without_splitting_a_character(text: str) -> None:
    """Cut the text greedily into parts by hand and compare: every part within its limit, nothing lost."""
    size = sms_size(text)
    gsm = size.encoding is Encoding.GSM7
    cost = [2 if gsm and c in GSM_EXTENDED else 1 for c in text]
    if sum(cost) <= (160 if gsm else 70):
        assert size.parts == 1
        return
    limit = 153 if gsm else 67
    parts = [0]
    for c in cost:
        if parts[-1] + c > limit:
            parts.append(0)
        parts[-1] += c
    assert size.parts == len(parts) and all(p <= limit for p in parts) and sum(parts) == size.units


@given(st.text(alphabet=st.sampled_from(sorted(GSM_BASIC | GSM_EXTENDED)), max_size=200))
def test_sms_safe_leaves_gsm_text_alone(text: str) -> None:
    assert sms_safe(text) == text


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("d’envoi", "d'envoi"),
        ("« Ɛ »", '" E "'),
        ("Tél. : 20 22", "Tél. : 20 22"),
        ("Lieu\u00a0: Sénou", "Lieu : Sénou"),
        ("être reçu à l’hôtel", "etre recu à l'hotel"),
        ("Kɔnɔ ɲɛnajɛ ŋaniya", "Kònò nyènajè nganiya"),  # the 1967 orthography, as SMS write Bambara
        ("maïs — œuf…", "mais - oeuf..."),
    ],
)
def test_sms_safe_look_alikes(text: str, safe: str) -> None:
    assert sms_safe(text) == safe and is_gsm7(sms_safe(text))


# --- the one-SMS slip -------------------------------------------------------------------------------------------------


def test_sms_is_one_sms_with_the_essentials(db: sqlite_utils.Database) -> None:
    slip = make_slip(db, referral(db, SENOU, languages=["fr"]))
    sms = slip.sms()
    assert sms.language == "fr" and sms.size.parts == 1 and sms.size.encoding is Encoding.GSM7
    assert sms.size.units == len(sms.text) <= 160
    assert slip.code in sms.text and "CFPS" in sms.text and "+22366896887" in sms.text  # tappable on any phone
    assert "Sénou" in sms.text
    assert "+223/66.89.68.87" not in sms.text and "Centre de Formation" not in sms.text  # the acronym, not the name
    with in_language("fr"):
        assert sms_cost(sms) == f"1 SMS · {sms.size.units} caractères"


def test_what_the_sms_leaves_out_is_named(db: sqlite_utils.Database) -> None:
    slip = make_slip(db, referral(db, SENOU, **LONG_PERSON))
    sms = slip.sms("en")
    assert sms.size.fits_one
    with in_language("en"):
        bring = ", ".join(slip.bring)
    if bring not in sms.text:  # four documents do not fit beside the essentials
        assert "the documents to bring" in sms.left_out
        assert "Bring 4 documents (see the slip)" in sms.text
    else:
        assert "the documents to bring" not in sms.left_out


@pytest.mark.parametrize(
    ("languages", "expected"),
    [(["en"], "en"), (["snk", "en", "fr"], "en"), (["bm", "fr"], "bm"), (["snk"], "fr"), ([], "fr")],
)
def test_sms_in_the_persons_language(db: sqlite_utils.Database, languages: list[str], expected: str) -> None:
    before = language()
    set_language("fr")
    try:
        rid = referral(db, SENOU, languages=languages)
        slip = make_slip(db, rid)
        assert slip.language == expected and slip.sms().language == expected
        if expected == "en":
            assert "Where: Sénou" in slip.sms().text
        assert language() == "fr"  # the screen stays in the agent's language
        assert slip.text().startswith("Orientation Passerelle")  # and so does the full slip
    finally:
        set_language(before)


def test_slip_language_is_the_first_the_app_speaks(db: sqlite_utils.Database) -> None:
    from field_app.returnees.service import get

    rid = person(db, languages=["son", "bm", "en"])
    assert slip_language(get(db, rid)) == "bm"


def test_an_sms_that_cannot_fit_says_how_many_it_takes() -> None:
    slip = Slip(
        referral_id=REFERRAL_ID,
        code="5F0C8A2E",
        person="Moussa Diarra",
        organization="x",
        partner="Association " + "très " * 40 + "longue",
        service="Formation",
        town="Kayes",
        phone="+22366896887",
        phone_as_written=None,
        phone_display="+223 66 89 68 87",
        date=NOW.date(),
    )
    with in_language("en"):
        sms = slip.sms()
        assert sms.size.parts == math.ceil(sms.size.units / 153) >= 2
        assert sms_cost(sms).startswith(f"This message takes {sms.size.parts} SMS")
        assert "the service" in sms.left_out and "Formation" not in sms.text


def test_sms_link(db: sqlite_utils.Database, lang: str) -> None:
    slip = make_slip(db, referral(db, SENOU))
    link = slip.sms_link("+22376123456")
    prefix = "sms:+22376123456?body="
    assert link.startswith(prefix)
    body = link[len(prefix) :]
    assert unquote(body) == slip.sms().text
    for raw in (" ", "\n", "&", "#", "?", "«", "é"):
        assert raw not in body  # url-encoded, so the message app gets the whole text
    full = slip.full_sms_link("+22376123456")
    assert unquote(full[len(prefix) :]) == sms_safe(slip.text())


def longest_names(dataset: Dataset, n: int) -> list[str]:
    """The services whose partner (as the SMS names it) and service names are longest, longest first."""
    named = [
        (len((o.short_name or o.name) + s.name), f"{o.id}/{s.id}") for o in dataset.organizations for s in o.services
    ]
    return [sid for _, sid in sorted(named, reverse=True)[:n]]


def test_every_service_fits_one_sms_in_every_language(db: sqlite_utils.Database, dataset: Dataset) -> None:
    """The whole directory, the longest names first, for a person with a long name: one SMS (GSM-7) in French,
    English and Bambara, with the code, the partner and a number to call whenever the directory has one."""
    rid = person(db, languages=["bm"], **LONG_PERSON)
    longest = longest_names(dataset, 10)
    services = longest + sorted({f"{o.id}/{s.id}" for o in dataset.organizations for s in o.services} - set(longest))
    assert len(services) > 300
    for service_id in services:
        referral_id = refer(db, returnee_id=rid, service_id=service_id, consent_share=True, now=NOW, force=True).id
        slip = make_slip(db, referral_id)
        for lang in ("fr", "en", "bm"):
            sms = slip.sms(lang)
            assert sms.size.parts == 1, (service_id, lang, sms.text)
            assert sms.size.encoding is Encoding.GSM7 and sms.size.units <= 160
            assert slip.code in sms.text and sms_safe(slip.partner) in sms.text
            if slip.phone:
                assert slip.phone in sms.text
