"""Words for codes: every code the app can show has a label, and every reason a filled-in sentence."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.domain.directory import Eligibility, ServiceArea
from field_app.domain.duplicates import DuplicateReason
from field_app.domain.eligibility import Profile, Reason, Status, assess
from field_app.domain.ranking import MatchKind
from field_app.domain.referrals import ReferralStatus
from field_app.domain.vocabulary import (
    Document,
    Education,
    Language,
    Pathway,
    Region,
    Sector,
    ServesReturnees,
    ServiceStatus,
    Sex,
    TargetGroup,
    Vulnerability,
)
from field_app.i18n import language, set_language
from field_app.labels import (
    DOCUMENTS,
    DUPLICATE_REASONS,
    EDUCATION,
    LANGUAGES,
    MATCH_KINDS,
    PATHWAYS,
    REASONS,
    REFERRAL_STATUSES,
    SECTORS,
    SERVES_RETURNEES,
    SEX,
    TARGET_GROUPS,
    VERDICTS,
    VULNERABILITIES,
    country_name,
    label,
    reason_message,
    region_name,
)


@pytest.fixture(params=["en", "fr"])
def lang(request: pytest.FixtureRequest) -> Iterator[str]:
    before = language()
    set_language(request.param)
    yield request.param
    set_language(before)


TABLES: list[tuple[type[StrEnum], Mapping[Any, str]]] = [
    (Document, DOCUMENTS),
    (Education, EDUCATION),
    (Language, LANGUAGES),
    (Sector, SECTORS),
    (Vulnerability, VULNERABILITIES),
    (Pathway, PATHWAYS),
    (Sex, SEX),
    (ReferralStatus, REFERRAL_STATUSES),
    (TargetGroup, TARGET_GROUPS),
    (ServesReturnees, SERVES_RETURNEES),
    (DuplicateReason, DUPLICATE_REASONS),
    (MatchKind, MATCH_KINDS),
]


@pytest.mark.parametrize(("enum", "table"), TABLES, ids=[e.__name__ for e, _ in TABLES])
def test_every_code_has_a_label(enum: type[StrEnum], table: Mapping[Any, str], lang: str) -> None:
    assert set(table) == {e.value for e in enum}  # none missing, none stale
    for member in enum:
        words = label(dict(table), member.value)
        assert isinstance(words, str) and words.strip(), member
        if lang == "en":
            assert words == table[member.value]  # the English msgid itself


def test_every_verdict_has_a_label() -> None:
    assert set(VERDICTS) == set(Status)


def test_unknown_code_falls_back_to_the_code() -> None:
    assert label(DOCUMENTS, "passport") == "passport"
    assert region_name("atlantis") == "atlantis" and region_name("segou") == "Ségou"


# One profile × rules per reason code assess can give; together they must produce every code.
ADULT = Profile(age=25, sex=Sex.M, documents=frozenset(), education=Education.PRIMARY, reads_french=False,
                region=Region.KAYES)  # fmt: skip
EXAMPLES: list[tuple[Profile, Eligibility, ServiceStatus, ServiceArea | None]] = [
    (ADULT, Eligibility(), ServiceStatus.INACTIVE, None),
    (ADULT, Eligibility(), ServiceStatus.PLANNED, None),
    (ADULT, Eligibility(), ServiceStatus.SUSPENDED, None),
    (ADULT, Eligibility(), ServiceStatus.FULL, None),
    (ADULT, Eligibility(min_age=30), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(max_age=20), ServiceStatus.ACTIVE, None),
    (dataclasses.replace(ADULT, age=None), Eligibility(min_age=18), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(sex=Sex.F), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(documents=[Document.BIRTH_CERTIFICATE]), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(education_min=Education.BAC), ServiceStatus.ACTIVE, None),
    (dataclasses.replace(ADULT, education=None), Eligibility(education_min=Education.BAC), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(literacy_required=True), ServiceStatus.ACTIVE, None),
    (dataclasses.replace(ADULT, reads_french=None), Eligibility(literacy_required=True), ServiceStatus.ACTIVE, None),
    (ADULT, Eligibility(), ServiceStatus.ACTIVE, ServiceArea(scope="regions", regions=[Region.SEGOU, Region.MOPTI])),
]


def example_reasons() -> list[Reason]:
    return [r for p, e, s, a in EXAMPLES for r in assess(p, e, s, a).reasons]


def test_every_reason_code_has_a_message() -> None:
    assert {r.code for r in example_reasons()} == set(REASONS)


def test_reason_messages_are_filled_in(lang: str) -> None:
    for reason in example_reasons():
        message = reason_message(reason)
        assert message and "{" not in message and "}" not in message, (reason.code, message)
        assert message != reason.code


def test_reason_message_words(lang: str) -> None:
    messages = {r.code: reason_message(r) for r in example_reasons()}
    assert "30" in messages["below_min_age"] and "20" in messages["above_max_age"]
    assert label(DOCUMENTS, "birth_certificate") in messages["missing_document"]
    assert label(EDUCATION, "bac") in messages["education_below"]
    assert "Ségou" in messages["region_not_served"] and "Mopti" in messages["region_not_served"]


profiles = st.builds(
    Profile,
    age=st.none() | st.integers(0, 90),
    sex=st.none() | st.sampled_from(Sex),
    documents=st.frozensets(st.sampled_from(Document)),
    education=st.none() | st.sampled_from(Education),
    reads_french=st.none() | st.booleans(),
    region=st.none() | st.sampled_from(Region),
)
rules = st.builds(
    Eligibility,
    min_age=st.none() | st.integers(0, 40),
    max_age=st.none() | st.integers(41, 90),
    sex=st.none() | st.sampled_from(Sex),
    documents=st.lists(st.sampled_from(Document), max_size=3),
    education_min=st.none() | st.sampled_from(Education),
    literacy_required=st.none() | st.booleans(),
)
areas = (
    st.none()
    | st.just(ServiceArea(scope="national"))
    | st.builds(
        ServiceArea, scope=st.just("regions"), regions=st.lists(st.sampled_from(Region), min_size=1, max_size=3)
    )
)


@given(profile=profiles, conditions=rules, status=st.sampled_from(ServiceStatus), area=areas)
def test_any_reason_assess_gives_reads_as_a_sentence(
    profile: Profile, conditions: Eligibility, status: ServiceStatus, area: ServiceArea | None
) -> None:
    for reason in assess(profile, conditions, status, area).reasons:
        assert reason.code in REASONS
        message = reason_message(reason)
        assert "{" not in message and message != reason.code


@pytest.mark.parametrize(("lang_code", "libya", "france"), [("fr", "Libye", "France"), ("en", "Libya", "France")])
def test_country_names(lang_code: str, libya: str, france: str) -> None:
    before = language()
    set_language(lang_code)
    try:
        assert country_name("LY") == libya
        assert country_name("FR") == france
        assert country_name("ZZZ") == "ZZZ"
    finally:
        set_language(before)
