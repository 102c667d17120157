"""Eligibility rules, one table row per rule, and properties over random combinations (Hypothesis)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.directory.dataset import Dataset
from field_app.domain.directory import Eligibility, ServiceArea
from field_app.domain.eligibility import Profile, Status, Verdict, age_on, assess
from field_app.domain.vocabulary import Document, Education, Region, ServiceStatus, Sex

ADULT = Profile(age=25, sex=Sex.M, documents=frozenset({Document.BIRTH_CERTIFICATE}), education=Education.DEF,
                reads_french=True, region=Region.KAYES)  # fmt: skip
KAYES_ONLY = ServiceArea(scope="regions", regions=[Region.KAYES])
SEGOU_ONLY = ServiceArea(scope="regions", regions=[Region.SEGOU])

CASES = [
    # (name, profile change, rules, service status, area, expected status, expected codes)
    ("no conditions", {}, Eligibility(), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("old enough", {}, Eligibility(min_age=15), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("exactly the minimum", {"age": 15}, Eligibility(min_age=15), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("too young", {"age": 14}, Eligibility(min_age=15), ServiceStatus.ACTIVE, None, Status.NOT_ELIGIBLE, ["below_min_age"]),
    ("exactly the maximum", {"age": 35}, Eligibility(max_age=35), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("too old", {"age": 36}, Eligibility(max_age=35), ServiceStatus.ACTIVE, None, Status.NOT_ELIGIBLE, ["above_max_age"]),
    ("age unknown", {"age": None}, Eligibility(min_age=15), ServiceStatus.ACTIVE, None, Status.ELIGIBLE_IF, ["age_unknown"]),
    ("women only", {}, Eligibility(sex=Sex.F), ServiceStatus.ACTIVE, None, Status.NOT_ELIGIBLE, ["sex_restricted"]),
    ("woman, women only", {"sex": Sex.F}, Eligibility(sex=Sex.F), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("document held", {}, Eligibility(documents=[Document.BIRTH_CERTIFICATE]), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("document missing", {}, Eligibility(documents=[Document.NATIONALITY_CERTIFICATE]), ServiceStatus.ACTIVE, None,
     Status.ELIGIBLE_IF, ["missing_document"]),
    ("education met", {}, Eligibility(education_min=Education.DEF), ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("education below", {"education": Education.PRIMARY}, Eligibility(education_min=Education.DEF), ServiceStatus.ACTIVE,
     None, Status.NOT_ELIGIBLE, ["education_below"]),
    ("education unknown", {"education": None}, Eligibility(education_min=Education.DEF), ServiceStatus.ACTIVE, None,
     Status.ELIGIBLE_IF, ["education_unknown"]),
    ("no schooling asked, level not recorded", {"education": None}, Eligibility(education_min=Education.NONE),
     ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("no schooling asked, none had", {"education": Education.NONE}, Eligibility(education_min=Education.NONE),
     ServiceStatus.ACTIVE, None, Status.ELIGIBLE, []),
    ("cannot read French", {"reads_french": False}, Eligibility(literacy_required=True), ServiceStatus.ACTIVE, None,
     Status.NOT_ELIGIBLE, ["literacy_required"]),
    ("region served", {}, Eligibility(), ServiceStatus.ACTIVE, KAYES_ONLY, Status.ELIGIBLE, []),
    ("region not served", {}, Eligibility(), ServiceStatus.ACTIVE, SEGOU_ONLY, Status.NOT_ELIGIBLE, ["region_not_served"]),
    ("national", {}, Eligibility(), ServiceStatus.ACTIVE, ServiceArea(scope="national"), Status.ELIGIBLE, []),
    ("ended", {}, Eligibility(), ServiceStatus.ENDED, None, Status.NOT_ELIGIBLE, ["service_inactive"]),
    ("planned", {}, Eligibility(), ServiceStatus.PLANNED, None, Status.NOT_ELIGIBLE, ["service_planned"]),
    ("worst reason wins", {"age": 14}, Eligibility(min_age=15, documents=[Document.PHOTOS]), ServiceStatus.ACTIVE, None,
     Status.NOT_ELIGIBLE, ["below_min_age", "missing_document"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "change", "rules", "status", "area", "expected", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(
    name: str,
    change: dict[str, object],
    rules: Eligibility,
    status: ServiceStatus,
    area: ServiceArea | None,
    expected: Status,
    codes: list[str],
) -> None:
    verdict = assess(dataclasses.replace(ADULT, **change), rules, status, area)  # type: ignore[arg-type]
    assert verdict.status == expected
    assert [r.code for r in verdict.reasons] == codes


def test_age_on_birthdays() -> None:
    assert age_on(dt.date(2000, 6, 15), dt.date(2025, 6, 14)) == 24
    assert age_on(dt.date(2000, 6, 15), dt.date(2025, 6, 15)) == 25
    assert age_on(dt.date(2004, 2, 29), dt.date(2025, 2, 28)) == 20


profiles = st.builds(
    Profile,
    age=st.none() | st.integers(0, 90),
    sex=st.none() | st.sampled_from(Sex),
    documents=st.frozensets(st.sampled_from(Document)),
    education=st.none() | st.sampled_from(Education),
    reads_french=st.none() | st.booleans(),
    region=st.none() | st.sampled_from(Region),
)
ages = st.none() | st.integers(0, 70)
rules_st = st.builds(
    Eligibility,
    min_age=ages,
    max_age=st.none(),
    sex=st.none() | st.sampled_from(Sex),
    documents=st.lists(st.sampled_from(Document), max_size=4, unique=True),
    education_min=st.none() | st.sampled_from(Education),
    literacy_required=st.none() | st.booleans(),
)
areas = (
    st.none()
    | st.just(ServiceArea(scope="national"))
    | st.builds(
        ServiceArea,
        scope=st.just("regions"),
        regions=st.lists(st.sampled_from(Region), min_size=1, max_size=3, unique=True),
    )
)
AGE_CODES = {"below_min_age", "above_max_age", "age_unknown"}


def verdict(profile: Profile, rules: Eligibility, area: ServiceArea | None) -> Verdict:
    return assess(profile, rules, ServiceStatus.ACTIVE, area)


@given(profiles, rules_st, areas, st.sampled_from(Document))
def test_adding_a_document_never_makes_a_verdict_worse(
    profile: Profile, rules: Eligibility, area: ServiceArea | None, doc: Document
) -> None:
    more = dataclasses.replace(profile, documents=profile.documents | {doc})
    assert verdict(more, rules, area).status <= verdict(profile, rules, area).status


@given(profiles, rules_st, areas)
def test_ageing_one_year_only_changes_age_reasons(
    profile: Profile, rules: Eligibility, area: ServiceArea | None
) -> None:
    older = dataclasses.replace(profile, age=None if profile.age is None else profile.age + 1)
    before = {r.code for r in verdict(profile, rules, area).reasons} - AGE_CODES
    after = {r.code for r in verdict(older, rules, area).reasons} - AGE_CODES
    assert before == after


@given(profiles, rules_st, areas)
def test_status_is_the_worst_reason(profile: Profile, rules: Eligibility, area: ServiceArea | None) -> None:
    result = verdict(profile, rules, area)
    assert result.status == max((r.status for r in result.reasons), default=Status.ELIGIBLE)
    assert (result.status == Status.ELIGIBLE) == (result.reasons == ())


CREATEAM_OPEN = [
    "preincubation",
    "incubation-acceleration",
    "formations-gestion-projet",
    "formations-techniques",
    "programme-engim",
]


def test_a_minimum_of_no_schooling_downgrades_no_service_of_the_dataset(dataset: Dataset) -> None:
    """ "Niveau minimum : Non scolarisé·e" (Createam: « sans niveau de base ») downgraded its five open services to
    "eligible if…" for a person whose level is not recorded; they are eligible now, as with no condition at all."""
    unknown_level = dataclasses.replace(ADULT, education=None, documents=frozenset(Document), reads_french=None)
    org = next(o for o in dataset.organizations if o.id == "createam")
    services = {s.id: s for s in org.services}
    assert sorted(s.id for s in org.services if s.status is ServiceStatus.ACTIVE) == sorted(CREATEAM_OPEN)
    for sid in CREATEAM_OPEN:
        svc = services[sid]
        got = assess(unknown_level, org.service_eligibility(svc), svc.status, org.service_area_of(svc))
        assert got.status is Status.ELIGIBLE, (sid, got)
    asked = 0
    for o in dataset.organizations:
        for svc in o.services:
            rules = o.service_eligibility(svc)
            if rules.education_min is Education.NONE:
                asked += 1
                area = o.service_area_of(svc)
                without = rules.model_copy(update={"education_min": None})
                assert assess(unknown_level, rules, svc.status, area) == assess(
                    unknown_level, without, svc.status, area
                )
    assert asked >= 4
