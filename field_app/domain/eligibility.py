"""Eligibility: a returnee's profile × a service's conditions → a verdict with reasons. Pure and table-tested.

Reasons carry a stable code and parameters; the UI turns them into localised sentences. Today's date is passed
in (never read from a clock) so that ages are reproducible; the service's status is its status on that day
(`domain.directory.status_on`: a service past its stated end is ended).

A minimum education of `none` ("Niveau minimum : Non scolarisé·e") is no condition: everyone meets it, so it
never asks for the person's level.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum

from field_app.domain.directory import Eligibility, ServiceArea
from field_app.domain.vocabulary import Document, Education, Region, ServiceStatus, Sex


class Status(IntEnum):
    """Ordered from best to worst, so the verdict is the worst of its reasons."""

    ELIGIBLE = 0
    ELIGIBLE_IF = 1
    NOT_ELIGIBLE = 2

    @property
    def code(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Reason:
    code: str
    status: Status
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Profile:
    """What eligibility needs to know about a person (nothing more)."""

    age: int | None = None
    sex: Sex | None = None
    documents: frozenset[Document] = frozenset()
    education: Education | None = None
    reads_french: bool | None = None
    region: Region | None = None


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Age in whole years on `today`."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def assess(
    profile: Profile,
    rules: Eligibility,
    status: ServiceStatus = ServiceStatus.ACTIVE,
    area: ServiceArea | None = None,
) -> Verdict:
    """The verdict for one person and one service; every unmet condition is a reason."""
    reasons: list[Reason] = []
    if status is ServiceStatus.ENDED:
        reasons.append(Reason("service_inactive", Status.NOT_ELIGIBLE))
    elif status is ServiceStatus.PLANNED:
        reasons.append(Reason("service_planned", Status.NOT_ELIGIBLE))
    elif status is ServiceStatus.SUSPENDED:
        reasons.append(Reason("service_suspended", Status.NOT_ELIGIBLE))
    elif status is ServiceStatus.FULL:
        reasons.append(Reason("service_full", Status.NOT_ELIGIBLE))
    reasons += _age_reasons(profile.age, rules)
    if rules.sex is not None and profile.sex is not None and profile.sex != rules.sex:
        reasons.append(Reason("sex_restricted", Status.NOT_ELIGIBLE, (("sex", rules.sex.value),)))
    for doc in rules.documents:
        if doc not in profile.documents:
            reasons.append(Reason("missing_document", Status.ELIGIBLE_IF, (("document", doc.value),)))
    if rules.education_min is not None and rules.education_min is not Education.NONE:  # "none" asks nothing
        if profile.education is None:
            reasons.append(Reason("education_unknown", Status.ELIGIBLE_IF, (("education", rules.education_min.value),)))
        elif profile.education.rank < rules.education_min.rank:
            reasons.append(Reason("education_below", Status.NOT_ELIGIBLE, (("education", rules.education_min.value),)))
    if rules.literacy_required and profile.reads_french is not True:
        code, level = (
            ("literacy_unknown", Status.ELIGIBLE_IF)
            if profile.reads_french is None
            else ("literacy_required", Status.NOT_ELIGIBLE)
        )
        reasons.append(Reason(code, level))
    if (
        area is not None
        and area.scope == "regions"
        and profile.region is not None
        and profile.region not in area.regions
    ):
        reasons.append(
            Reason("region_not_served", Status.NOT_ELIGIBLE, (("regions", ",".join(r.value for r in area.regions)),))
        )
    worst = max((r.status for r in reasons), default=Status.ELIGIBLE)
    return Verdict(worst, tuple(reasons))


def _age_reasons(age: int | None, rules: Eligibility) -> list[Reason]:
    if rules.min_age is None and rules.max_age is None:
        return []
    if age is None:
        return [Reason("age_unknown", Status.ELIGIBLE_IF)]
    if rules.min_age is not None and age < rules.min_age:
        return [Reason("below_min_age", Status.NOT_ELIGIBLE, (("min_age", str(rules.min_age)),))]
    if rules.max_age is not None and age > rules.max_age:
        return [Reason("above_max_age", Status.NOT_ELIGIBLE, (("max_age", str(rules.max_age)),))]
    return []
