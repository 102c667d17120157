"""An eligibility profile typed by hand (`field-app eligible --profile FILE`), checked like the returnee form.

A profile is the few facts eligibility needs, for someone not (yet) registered: age or birth date, sex, region,
and what is known of documents, schooling and reading. Problems are named by field and worded exactly as the
form words them (the same parsers), all reported together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from field_app.domain.eligibility import Profile, age_on
from field_app.domain.vocabulary import Document, Education, Sex
from field_app.errors import Problem, ValidationError
from field_app.i18n import _
from field_app.returnees.form import (
    InvalidField,
    parse_age,
    parse_bool,
    parse_code,
    parse_codes,
    parse_date,
    parse_region,
    required,
    unknown_fields,
)

# Required: age or birth_date, sex, region. Optional (unknown when absent, which makes some services
# "eligible if…" until checked): documents, education, reads_french.
PROFILE_FIELDS = ("age", "birth_date", "sex", "region", "documents", "education", "reads_french")


def parse_profile(data: Mapping[str, Any], *, today: dt.date) -> Profile:
    """A `Profile` from raw values (age from the birth date on `today`), or ValidationError naming every bad field."""
    problems: list[Problem] = unknown_fields(data, PROFILE_FIELDS)
    values: dict[str, Any] = {}
    parsers: dict[str, Callable[[Any], Any]] = {
        "age": parse_age,
        "birth_date": lambda v: parse_date(v, _("Birth date"), today),
        "sex": lambda v: required(parse_code(Sex, v, _("Sex")), _("Sex")),
        "region": parse_region,
        "documents": lambda v: parse_codes(Document, v, _("Documents held")),
        "education": lambda v: parse_code(Education, v, _("Education")),
        "reads_french": lambda v: parse_bool(v, _("Reads French")),
    }
    for name, parse in parsers.items():
        try:
            values[name] = parse(data.get(name))
        except InvalidField as exc:
            problems.append(Problem(name, str(exc)))
    if not {"age", "birth_date"} & {p.field for p in problems}:
        if values["age"] is None and values["birth_date"] is None:
            problems.append(Problem("age", _("Give a birth date or an age.")))
        elif values["age"] is not None and values["birth_date"] is not None:
            problems.append(Problem("age", _("Give a birth date or an age, not both.")))
    if problems:
        raise ValidationError(problems)
    birth: dt.date | None = values["birth_date"]
    return Profile(
        age=age_on(birth, today) if birth is not None else values["age"],
        sex=values["sex"],
        documents=frozenset(values["documents"]),
        education=values["education"],
        reads_french=values["reads_french"],
        region=values["region"],
    )
