"""The returnee model: a birth date or a stated age (never both), ages over time, the eligibility profile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.domain.eligibility import Profile
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Document, Education, Region, Sex

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
ID = "0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f"


def returnee(**change: Any) -> Returnee:
    data: dict[str, Any] = {
        "id": ID,
        "given_name": "Fatoumata",
        "family_name": "Traoré",
        "sex": Sex.F,
        "birth_date": dt.date(1998, 6, 15),
        "region": Region.SEGOU,
        "consent_keep_on": NOW.date(),
        "created_at": NOW,
        "updated_at": NOW,
    }
    data.update(change)
    return Returnee(**data)


AGE_CASES = [
    # (name, fields, accepted)
    ("birth date only", {}, True),
    ("age only, with its date", {"birth_date": None, "age": 27, "age_recorded_on": dt.date(2025, 3, 10)}, True),
    ("both", {"age": 27, "age_recorded_on": dt.date(2025, 3, 10)}, False),
    ("neither", {"birth_date": None}, False),
    ("age without the day it was given", {"birth_date": None, "age": 27}, False),
    ("age below 0", {"birth_date": None, "age": -1, "age_recorded_on": dt.date(2025, 3, 10)}, False),
    ("age above 120", {"birth_date": None, "age": 121, "age_recorded_on": dt.date(2025, 3, 10)}, False),
]


@pytest.mark.parametrize(("name", "fields", "accepted"), AGE_CASES, ids=[c[0] for c in AGE_CASES])
def test_birth_date_xor_age(name: str, fields: dict[str, Any], accepted: bool) -> None:
    if accepted:
        person = returnee(**fields)
        assert (person.birth_date is None) != (person.age is None)
    else:
        with pytest.raises(pydantic.ValidationError):
            returnee(**fields)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2025, 6, 14), 26),  # the day before the birthday
        (dt.date(2025, 6, 15), 27),  # the birthday
        (dt.date(2026, 1, 1), 27),
    ],
)
def test_age_on_from_a_birth_date(today: dt.date, expected: int) -> None:
    assert returnee().age_on(today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2025, 3, 10), 30),  # the day it was said
        (dt.date(2026, 3, 9), 30),  # not yet a whole year later
        (dt.date(2026, 3, 10), 31),
        (dt.date(2030, 3, 10), 35),  # years later, the stated age has grown
    ],
)
def test_age_on_from_a_stated_age(today: dt.date, expected: int) -> None:
    person = returnee(birth_date=None, age=30, age_recorded_on=dt.date(2025, 3, 10))
    assert person.age_on(today) == expected


def test_birth_year_known_and_estimated() -> None:
    assert returnee().birth_year() == 1998
    assert returnee(birth_date=None, age=30, age_recorded_on=dt.date(2025, 3, 10)).birth_year() == 1995


@given(
    age=st.integers(0, 120),
    said=st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)),
    years_later=st.integers(0, 40),
)
def test_a_stated_age_grows_one_year_a_year(age: int, said: dt.date, years_later: int) -> None:
    person = returnee(birth_date=None, age=age, age_recorded_on=said)
    later = said.replace(year=said.year + years_later) if (said.month, said.day) != (2, 29) else said
    expected = age + (later.year - said.year)
    assert person.age_on(later) == expected
    assert person.birth_year() == said.year - age


def test_profile_carries_what_eligibility_needs() -> None:
    person = returnee(
        documents=[Document.BIRTH_CERTIFICATE, Document.PHOTOS],
        education=Education.DEF,
        reads_french=True,
    )
    assert person.profile(dt.date(2025, 6, 15)) == Profile(
        age=27,
        sex=Sex.F,
        documents=frozenset({Document.BIRTH_CERTIFICATE, Document.PHOTOS}),
        education=Education.DEF,
        reads_french=True,
        region=Region.SEGOU,
    )


def test_profile_from_a_stated_age_and_unknowns() -> None:
    person = returnee(birth_date=None, age=17, age_recorded_on=dt.date(2024, 1, 1), sex=Sex.M)
    profile = person.profile(dt.date(2025, 3, 10))
    assert (profile.age, profile.sex, profile.documents, profile.education, profile.reads_french) == (
        18,
        Sex.M,
        frozenset(),
        None,
        None,
    )


def test_full_name_and_frozen() -> None:
    person = returnee(given_name="  Fatoumata ", family_name=" Traoré")
    assert person.full_name == "Fatoumata Traoré"
    with pytest.raises(pydantic.ValidationError):
        person.given_name = "Awa"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "not-a-uuid"),
        ("phone", "76123456"),  # stored numbers are E.164
        ("returned_from", "Libya"),
        ("given_name", ""),
        ("version", 0),
        ("nickname", "Fatou"),  # unknown fields are refused
    ],
)
def test_bad_field_is_refused(field: str, value: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        returnee(**{field: value})
