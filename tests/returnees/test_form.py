"""The returnee form: one named, localised problem per bad field; phones, regions and places normalised."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Document, Language, Region, Sex
from field_app.errors import Problem, ValidationError
from field_app.i18n import language, set_language
from field_app.returnees.form import FIELDS, REQUIRED, date_hint, parse_returnee, typed_date
from field_app.returnees.service import localities_index

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
TODAY = NOW.date()
NEW_ID = "0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f"

GOOD: dict[str, Any] = {
    "given_name": "Fatoumata",
    "family_name": "Traoré",
    "sex": "F",
    "birth_date": "1998-06-15",
    "phone": "76 12 34 56",
    "languages": ["bm", "fr"],
    "region": "segou",
    "locality": "markala",
    "returned_from": "LY",
    "return_date": "2024-11-02",
    "education": "def",
    "reads_french": True,
    "trade_before": "couturière",
    "sectors": ["tailoring"],
    "documents": ["birth_certificate"],
    "vulnerabilities": ["woman_head_of_household"],
    "consent": True,
}


@pytest.fixture(scope="module")
def places(built_db: sqlite_utils.Database) -> dict[str, str]:
    return localities_index(built_db)


@pytest.fixture(params=["en", "fr"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    before = language()
    set_language(request.param)
    yield request.param
    set_language(before)


def parse(places: dict[str, str], **change: Any) -> Returnee:
    data = {**GOOD, **change}
    return parse_returnee(
        {k: v for k, v in data.items() if v is not ...},
        today=TODAY,
        now=NOW,
        new_id=lambda: NEW_ID,
        localities=places,
    )


def problems(places: dict[str, str], **change: Any) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        parse(places, **change)
    return caught.value.problems


def test_good_input_round_trip(places: dict[str, str]) -> None:
    person = parse(places)
    assert person.id == NEW_ID
    assert (person.given_name, person.family_name, person.sex) == ("Fatoumata", "Traoré", Sex.F)
    assert person.birth_date == dt.date(1998, 6, 15) and person.age is None
    assert person.phone == "+22376123456"
    assert person.languages == [Language.BAMBARA, Language.FRENCH]
    assert (person.region, person.locality, person.returned_from) == (Region.SEGOU, "markala", "LY")
    assert person.return_date == dt.date(2024, 11, 2)
    assert person.documents == [Document.BIRTH_CERTIFICATE]
    assert person.consent_keep_on == TODAY and person.created_at == NOW == person.updated_at
    assert person.version == 1


def test_optional_fields_may_be_left_out(places: dict[str, str]) -> None:
    required = {"given_name", "family_name", "sex", "birth_date", "region", "consent"}
    person = parse(places, **{k: ... for k in GOOD if k not in required})
    assert person.phone is None and person.languages == [] and person.locality is None
    assert person.education is None and person.reads_french is None


def test_age_instead_of_a_birth_date(places: dict[str, str]) -> None:
    person = parse(places, birth_date=..., age="27")
    assert (person.age, person.age_recorded_on, person.birth_date) == (27, TODAY, None)


# field → a bad value (each must give exactly one problem, on that field)
BAD = [
    ("given_name", ""),
    ("given_name", 42),
    ("given_name", "x" * 81),
    ("family_name", None),
    ("sex", "X"),
    ("sex", None),
    ("birth_date", "31/02/1998"),  # no such day
    ("birth_date", "15/06/98"),  # the year in full, please
    ("birth_date", "2030-01-01"),  # in the future
    ("birth_date", "1890-01-01"),  # more than 120 years ago
    ("age", "twenty"),
    ("age", 121),
    ("age", True),
    ("phone", "123"),
    ("languages", "bm"),
    ("languages", ["bm", "klingon"]),
    ("region", "atlantis"),
    ("region", None),
    ("region", ["segou"]),  # a list is not a region, even if its text folds to one
    ("locality", "nowhere-at-all"),
    ("locality", "diema"),  # a real place, in Kayes, not in Ségou
    ("returned_from", "Libya"),
    ("returned_from", "QQ"),
    ("returned_from", "EU"),  # a grouping CLDR knows, not a country
    ("returned_from", "ZZ"),  # CLDR's "Unknown Region"
    ("return_date", "soon"),
    ("return_date", "1990-01-01"),  # before the birth date
    ("education", "phd"),
    ("reads_french", "maybe"),
    ("trade_before", "x" * 121),
    ("sectors", ["space"]),
    ("documents", ["passport"]),
    ("vulnerabilities", ["bored"]),
    ("consent", False),
    ("consent", None),
    ("consent", "yes"),
]


LABELS = ["Given name", "Family name", "Sex", "Birth date", "Age", "Phone", "Languages", "Region of return",
          "Place of return", "Country returned from", "Return date", "Education", "Reads French",
          "Trade before leaving", "Sectors of interest", "Documents held", "Vulnerabilities", "Consent"]  # fmt: skip
LABEL_PREFIX = re.compile(rf"^({'|'.join(LABELS)}):")


def test_every_field_has_a_bad_case() -> None:
    assert {field for field, _ in BAD} == set(FIELDS)


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v!r}"[:40] for f, v in BAD])
def test_a_bad_value_gives_one_problem_on_its_field(
    places: dict[str, str], lang: str, field: str, value: object
) -> None:
    change: dict[str, Any] = {field: value}
    if field == "age":
        change["birth_date"] = ...  # an age replaces the birth date
    found = problems(places, **change)
    assert [p.field for p in found] == [field]
    message = found[0].message
    assert isinstance(message, str) and message.strip()
    if lang == "en":  # never "sex: Sex: unknown value…": the problem already names its field
        assert not LABEL_PREFIX.match(message), message
    assert "{" not in message and "}" not in message  # every parameter filled


def test_messages_do_not_repeat_the_field_label(places: dict[str, str]) -> None:
    before = language()
    set_language("en")
    try:
        found = problems(places, sex="X")
        assert str(found[0]) == "sex: Unknown value “X” (one of: F, M)."
    finally:
        set_language(before)


def test_all_problems_together(places: dict[str, str]) -> None:
    found = problems(places, given_name="", sex="X", phone="123", consent=False)
    assert [p.field for p in found] == ["given_name", "sex", "phone", "consent"]


@pytest.mark.parametrize("written", ["76 12 34 56", "76123456", "+223 76 12 34 56", "0022376123456", "76.12.34.56"])
def test_phone_normalised_to_e164(places: dict[str, str], written: str) -> None:
    assert parse(places, phone=written).phone == "+22376123456"


@pytest.mark.parametrize("written", ["123", "7612345", "+223 12 34 56 78", "abc"])
def test_phone_refused(places: dict[str, str], written: str) -> None:
    assert [p.field for p in problems(places, phone=written)] == ["phone"]


@pytest.mark.parametrize("written", ["segou", "Ségou", "SEGOU", " ségou "])
def test_region_by_code_or_name(places: dict[str, str], written: str) -> None:
    assert parse(places, region=written).region is Region.SEGOU


def test_region_by_name_with_accents(places: dict[str, str]) -> None:
    assert parse(places, region="Tombouctou", locality=...).region is Region.TOMBOUCTOU
    assert parse(places, region="menaka", locality=...).region is Region.MENAKA


def test_locality_must_be_in_the_region(places: dict[str, str]) -> None:
    assert places["diema"] == "kayes"
    assert parse(places, region="kayes", locality="diema").locality == "diema"
    assert [p.field for p in problems(places, region="segou", locality="diema")] == ["locality"]


def test_consent_refused_means_no_record(places: dict[str, str]) -> None:
    assert [p.field for p in problems(places, consent=False)] == ["consent"]


def test_age_and_birth_date_together_refused(places: dict[str, str]) -> None:
    assert [p.field for p in problems(places, age=27)] == ["age"]


def test_neither_age_nor_birth_date_refused(places: dict[str, str]) -> None:
    assert [p.field for p in problems(places, birth_date=...)] == ["age"]


def test_future_birth_date_refused(places: dict[str, str]) -> None:
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    assert [p.field for p in problems(places, birth_date=tomorrow)] == ["birth_date"]
    assert parse(places, birth_date=TODAY.isoformat(), return_date=...).birth_date == TODAY


def test_dates_from_a_date_picker(places: dict[str, str]) -> None:
    # Flet's DatePicker gives datetimes; they must be read as their day, not crash when compared with today
    person = parse(places, birth_date=dt.datetime(1998, 6, 15, 0, 0), return_date=dt.datetime(2024, 11, 2, 13, 5))
    assert (person.birth_date, person.return_date) == (dt.date(1998, 6, 15), dt.date(2024, 11, 2))
    assert type(person.birth_date) is dt.date
    future = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time())
    assert [p.field for p in problems(places, birth_date=future)] == ["birth_date"]


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_text_counts_as_not_given(places: dict[str, str], blank: str) -> None:
    person = parse(places, age=blank, education=blank, reads_french=blank, returned_from=blank, phone=blank)
    assert (person.age, person.education, person.reads_french, person.returned_from, person.phone) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert [p.field for p in problems(places, sex=blank, region=blank)] == ["sex", "region"]
    assert [p.field for p in problems(places, birth_date=blank)] == ["age"]  # neither age nor birth date


def test_unknown_field_refused(places: dict[str, str]) -> None:
    found = problems(places, nickname="Fatou")
    assert [p.field for p in found] == ["nickname"]


@pytest.mark.parametrize(("written", "code"), [("ly", "LY"), (" dz ", "DZ"), ("FR", "FR"), ("ic", "IC")])
def test_country_codes_accepted(places: dict[str, str], written: str, code: str) -> None:
    assert parse(places, returned_from=written).returned_from == code


def test_id_is_ignored_not_refused(places: dict[str, str]) -> None:
    assert parse(places, id="something-else").id == NEW_ID


def test_lists_are_deduplicated_in_order(places: dict[str, str]) -> None:
    person = parse(
        places,
        languages=["fr", "bm", "fr", "bm"],
        documents=["photos", "id_card", "photos"],
        sectors=["commerce", "commerce"],
        vulnerabilities=["health", "health"],
    )
    assert person.languages == [Language.FRENCH, Language.BAMBARA]
    assert person.documents == [Document.PHOTOS, Document.ID_CARD]
    assert [s.value for s in person.sectors] == ["commerce"]
    assert [v.value for v in person.vulnerabilities] == ["health"]


def test_names_are_tidied(places: dict[str, str]) -> None:
    person = parse(places, given_name="  Fatoumata   Binta ", family_name=" Traoré ")
    assert (person.given_name, person.family_name) == ("Fatoumata Binta", "Traoré")


def test_editing_keeps_identity_and_consent_date(places: dict[str, str]) -> None:
    first = parse(places, birth_date=..., age=30)
    later = NOW + dt.timedelta(days=400)
    edited = parse_returnee(
        {**GOOD, "birth_date": None, "age": 30, "given_name": "Fatou"},
        today=later.date(),
        now=later,
        new_id=lambda: "ffffffff-ffff-4fff-8fff-ffffffffffff",
        localities=places,
        existing=first,
    )
    assert (edited.id, edited.created_at, edited.consent_keep_on) == (first.id, first.created_at, first.consent_keep_on)
    assert edited.age_recorded_on == first.age_recorded_on  # the same stated age keeps the day it was said
    assert edited.updated_at == later and edited.given_name == "Fatou"


# --- dates typed the way the agent's language writes them ---------------------------------------------------------

TYPED = {  # language → (how 25 March 1999 is typed, the hint, other ways people type it)
    "fr": ("25/03/1999", "JJ/MM/AAAA", ["25.03.1999", "25-3-1999", "25 03 1999", " 25/3/1999 "]),
    "en": ("03/25/1999", "MM/DD/YYYY", ["3/25/1999", "03.25.1999"]),
}


@pytest.mark.parametrize("lang", ["fr", "en"], indirect=True)
def test_dates_typed_in_the_languages_order(places: dict[str, str], lang: str) -> None:
    typed, hint, others = TYPED[lang]
    assert typed_date(dt.date(1999, 3, 25)) == typed and date_hint() == hint
    for written in [typed, *others, "1999-03-25"]:  # ISO too: files and the command line write it
        assert parse(places, birth_date=written).birth_date == dt.date(1999, 3, 25), written


@pytest.mark.parametrize("lang", ["fr", "en"], indirect=True)
@pytest.mark.parametrize("written", ["31/02/1999", "25/03/99", "1999/25/03", "25 mars 1999", "2024-13-01", "1/2"])
def test_not_a_date_says_how_to_write_one(places: dict[str, str], lang: str, written: str) -> None:
    [problem] = problems(places, birth_date=written)
    typed, hint, _others = TYPED[lang]
    assert problem.field == "birth_date"
    assert hint in problem.message and typed in problem.message


def test_day_and_month_are_not_swapped_in_french(places: dict[str, str]) -> None:
    before = language()
    set_language("fr")
    try:
        assert parse(places, return_date="02/11/2024").return_date == dt.date(2024, 11, 2)  # 2 November
    finally:
        set_language(before)


def test_required_fields_are_the_ones_the_parser_requires(places: dict[str, str]) -> None:
    """REQUIRED (what the screen marks) says the truth: leaving out any one of them is a problem on it."""
    for name in REQUIRED:
        assert name in {p.field for p in problems(places, **{name: ...})}, name
    optional = set(FIELDS) - REQUIRED - {"age", "birth_date"}
    parse(places, **{name: ... for name in optional})  # all the others may be left out together
