"""A returnee as the field agent registers them: the minimum needed to refer them, and their consent.

Pure: the model, the age arithmetic and the eligibility profile. Parsing raw form input (with localised,
field-named messages and phone normalisation) happens in `field_app.returnees.form`, outside the domain.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from field_app.domain.eligibility import Profile, age_on
from field_app.domain.moments import Day, Moment
from field_app.domain.safe_input import cleaned
from field_app.domain.vocabulary import Document, Education, Language, Region, Sector, Sex, Vulnerability

E164 = r"^\+[1-9][0-9]{6,14}$"
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Text typed by a person: never a NUL, control character or lone surrogate (safe_input). The doors (the form,
# `returnee add --json`) refuse them with a message before a model is built; the model drops them from anything
# else (a record stored by an older version, which may hold a NUL the hub refuses for ever).
Text = Annotated[str, BeforeValidator(cleaned)]
Name = Annotated[Text, Field(min_length=1, max_length=80)]


class Returnee(BaseModel):
    """One registered person. `birth_date` when known, else the `age` they gave on `age_recorded_on`.

    Consent to keep the record is required to store it at all (`consent_keep_on`); consent to share with a
    named partner is asked per referral, not here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Annotated[str, Field(pattern=UUID)]
    given_name: Name
    family_name: Name
    sex: Sex
    birth_date: Day | None = None
    age: int | None = Field(default=None, ge=0, le=120)
    age_recorded_on: Day | None = None
    phone: Annotated[str, Field(pattern=E164)] | None = None
    languages: list[Language] = []
    region: Region
    locality: Annotated[Text, Field(max_length=80)] | None = None  # a gazetteer id: the cercle or commune of return
    returned_from: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    return_date: Day | None = None
    education: Education | None = None
    reads_french: bool | None = None
    trade_before: Annotated[Text, Field(max_length=120)] | None = None
    sectors: list[Sector] = []
    documents: list[Document] = []
    vulnerabilities: list[Vulnerability] = []
    consent_keep_on: Day
    created_at: Moment
    updated_at: Moment
    version: int = Field(default=1, ge=1, le=2**31 - 1)  # the hub keeps it in a 32-bit INTEGER column

    @model_validator(mode="after")
    def _age_known_once(self) -> Returnee:
        if (self.birth_date is None) == (self.age is None):
            raise ValueError("give either birth_date or age")
        if self.age is not None and self.age_recorded_on is None:
            raise ValueError("age needs age_recorded_on")
        return self

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age_on(self, today: dt.date) -> int:
        """Age on `today`: exact from a birth date, else the stated age plus the whole years since it was given."""
        if self.birth_date is not None:
            return age_on(self.birth_date, today)
        assert self.age is not None and self.age_recorded_on is not None
        return self.age + age_on(self.age_recorded_on, today)

    def birth_year(self) -> int:
        """Known or estimated year of birth (used to spot duplicates)."""
        if self.birth_date is not None:
            return self.birth_date.year
        assert self.age is not None and self.age_recorded_on is not None
        return self.age_recorded_on.year - self.age

    def profile(self, today: dt.date) -> Profile:
        """What eligibility needs, nothing more."""
        return Profile(
            age=self.age_on(today),
            sex=self.sex,
            documents=frozenset(self.documents),
            education=self.education,
            reads_french=self.reads_french,
            region=self.region,
        )
