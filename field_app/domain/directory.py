"""The partner directory as pydantic models: one `Organization` per data file in `db/organizations/`.

The shape follows Open Referral HSDS 3 (organization → service → location, phone, contact, cost_option,
required_document, service_area) plus Passerelle's structured eligibility. Every fact keeps the words it came
from (`text` fields) beside its structured reading, so a reviewer can check one against the other.

Pure: pydantic and the standard library only. Phone parsing (phonenumbers) happens in the validator, outside.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from field_app.domain.vocabulary import (
    CostKind,
    CostUnit,
    Document,
    Education,
    OrganizationKind,
    Pathway,
    Precision,
    Region,
    ServesReturnees,
    ServiceCategory,
    ServiceStatus,
    Sex,
    TargetGroup,
)

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"

Slug = Annotated[str, Field(pattern=SLUG, min_length=1, max_length=80)]
NonEmpty = Annotated[str, Field(min_length=1)]
Email = Annotated[str, Field(pattern=EMAIL)]


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo in a data file must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Source(Strict):
    """Where the facts come from: a seed document and the fiche in it."""

    document: NonEmpty = "003_b0b3eacde88cb4a8.txt"
    fiche: Annotated[str, Field(pattern=r"^(partenaire|acteur)-[0-9]+$")]
    note: str | None = None
    # Set when the fiche does not describe this entry itself and it was inferred from what the fiche says
    # about another (the 11 ANPE regional directorates, from the ANPE's fiche): that sentence, verbatim.
    inferred_from: str | None = None


class Phone(Strict):
    """A phone number as written in the source and its E.164 form (+223…)."""

    as_written: NonEmpty
    e164: Annotated[str, Field(pattern=E164)]
    note: str | None = None


class Contact(Strict):
    """A focal point: a person (or a role when no name is given) with their own phones and e-mails."""

    name: str | None = None
    title: str | None = None
    phones: list[Phone] = []
    emails: list[Email] = []
    note: str | None = None

    @model_validator(mode="after")
    def _named_or_titled(self) -> Contact:
        if not (self.name or self.title):
            raise ValueError("a contact needs a name or a title")
        return self


class Location(Strict):
    """A place where the organisation receives people. Coordinates come from the gazetteer by `locality`."""

    id: Slug
    name: str | None = None
    locality: Slug  # a key of db/gazetteer/localities.csv
    region: Region
    address: str | None = None  # verbatim, when the source gives one
    precision: Precision = Precision.TOWN
    note: str | None = None


class ServiceArea(Strict):
    """Where a service is offered: everywhere in Mali, or in named regions."""

    scope: Literal["national", "regions"]
    regions: list[Region] = []
    text: str | None = None

    @model_validator(mode="after")
    def _regions_match_scope(self) -> ServiceArea:
        if self.scope == "regions" and not self.regions:
            raise ValueError("scope 'regions' needs at least one region")
        if self.scope == "national" and self.regions:
            raise ValueError("scope 'national' takes no regions")
        return self


class Duration(Strict):
    months: float | None = Field(default=None, gt=0)
    days: int | None = Field(default=None, gt=0)
    text: NonEmpty


class CostOption(Strict):
    """A fee in FCFA (XOF). `amount_max` when the source gives a range; 0 means free.

    `kind` says what it pays for ("From X F" compares registration fees only); `sex` restricts it to one sex
    when the source prices boys and girls differently (it applies to everyone when None)."""

    label: NonEmpty
    kind: CostKind = CostKind.OTHER
    amount: int | None = Field(default=None, ge=0)
    amount_max: int | None = Field(default=None, ge=0)
    unit: CostUnit = CostUnit.ONCE
    currency: Literal["XOF"] = "XOF"
    services: list[Slug] = []  # empty = every service of the organisation
    sex: Sex | None = None  # the fee applies only to this sex
    text: NonEmpty

    def applies_to(self, sex: Sex | None) -> bool:
        """Whether this fee is asked of a person of `sex` (an unknown sex: every fee may be)."""
        return self.sex is None or sex is None or self.sex == sex

    @model_validator(mode="after")
    def _range_ordered(self) -> CostOption:
        if self.amount is not None and self.amount_max is not None and self.amount_max < self.amount:
            raise ValueError("amount_max is below amount")
        return self


class Eligibility(Strict):
    """Structured entry conditions, with the source sentence verbatim in `text`.

    Ages are inclusive. `None` means the source sets no condition; it never means "unknown but assumed".
    """

    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    sex: Sex | None = None
    documents: list[Document] = []  # required
    documents_if_available: list[Document] = []  # asked for when the person has them
    education_min: Education | None = None
    literacy_required: bool | None = None
    target_groups: list[TargetGroup] = []
    text: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ages_ordered(self) -> Eligibility:
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValueError("max_age is below min_age")
        return self


class Service(Strict):
    """Something a returnee can be referred to: a training field, a loan product, a placement service…"""

    id: Slug
    name: NonEmpty
    pathway: Pathway
    category: ServiceCategory
    description: str | None = None
    duration: Duration | None = None
    status: ServiceStatus = ServiceStatus.ACTIVE
    # The period the source states (a project's "2019-2022": 2019-01-01 to 2022-12-31), with its words.
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    period_text: str | None = None
    # A programme that more than one fiche describes (FACEJ in DANIDA's and Swisscontact's): the same key in
    # every file, whose facts must agree (a dataset test compares them).
    programme: Slug | None = None
    locations: list[Slug] = []  # empty = every location of the organisation
    service_area: ServiceArea | None = None  # None = the organisation's
    eligibility: Eligibility | None = None  # None = the organisation's
    # What an agent must know before referring someone, in the source's words (French): "not open yet"…
    caveats: list[NonEmpty] = []
    note: str | None = None

    @model_validator(mode="after")
    def _period(self) -> Service:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if (self.start_date or self.end_date) and not self.period_text:
            raise ValueError("a start_date or end_date needs the source's words in period_text")
        return self

    def status_on(self, today: dt.date) -> ServiceStatus:
        """This service's status on `today`, its stated period taken into account (see `status_on`)."""
        return status_on(self.status, self.start_date, self.end_date, today)


def status_on(status: ServiceStatus, start: dt.date | None, end: dt.date | None, today: dt.date) -> ServiceStatus:
    """The status a service has on `today`: ended once its end date has passed (whatever was recorded: the
    source's 2022 "active" cannot outlive the period it gave); an active service whose start is still ahead has
    not opened yet (planned). Otherwise the recorded status. Pure: the caller passes its clock's date."""
    if end is not None and end < today:
        return ServiceStatus.ENDED
    if status is ServiceStatus.ACTIVE and start is not None and start > today:
        return ServiceStatus.PLANNED
    return status


class Capacity(Strict):
    per_year: int | None = Field(default=None, ge=0)
    text: NonEmpty


class InsertionRate(Strict):
    percent: float = Field(ge=0, le=100)
    year: int | None = Field(default=None, ge=1990, le=2030)
    text: NonEmpty


class Organization(Strict):
    """One directory entry: the content of one `db/organizations/<id>.yaml` file."""

    id: Slug
    name: NonEmpty
    short_name: str | None = None
    kind: OrganizationKind
    description: str | None = None
    structure_type: str | None = None  # "Type de structure", verbatim
    website: str | None = None
    emails: list[Email] = []
    phones: list[Phone] = []  # the organisation's own lines (a person's go under contacts)
    contacts: list[Contact] = []
    locations: list[Location] = []
    service_area: ServiceArea | None = None
    eligibility: Eligibility | None = None  # default for its services
    costs: list[CostOption] = []
    services: list[Service] = Field(min_length=1)
    capacity: Capacity | None = None
    insertion_rate: InsertionRate | None = None
    source: Source
    assured_date: dt.date  # the date the facts were collected (the fiche's meeting) or last verified
    # Whether the partner has worked with returning migrants, as the source says it, and the sentence that says
    # it (required for yes and no).
    serves_returnees: ServesReturnees = ServesReturnees.NOT_STATED
    serves_returnees_quote: str | None = None
    added_by: str | None = None  # set when a fact did not come from the seeds (e.g. an office's correction)
    # What an agent must know about this partner before referring anyone, in the source's words (French),
    # shown on every service's detail: who was met ("a delegate of the Danish Red Cross"), a centre not open yet…
    caveats: list[NonEmpty] = []
    notes: list[str] = []  # ambiguities found in the source and how they were recorded (for reviewers)

    @field_validator("website")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _references_resolve(self) -> Organization:
        location_ids = [loc.id for loc in self.locations]
        service_ids = [svc.id for svc in self.services]
        for label, ids in (("location", location_ids), ("service", service_ids)):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {label} id: {', '.join(dupes)}")
        for svc in self.services:
            for loc in svc.locations:
                if loc not in location_ids:
                    raise ValueError(f"service {svc.id}: unknown location {loc}")
        for cost in self.costs:
            for sid in cost.services:
                if sid not in service_ids:
                    raise ValueError(f"cost '{cost.label}': unknown service {sid}")
        if not self.locations and self.service_area is None:
            raise ValueError("an organisation needs a location or a service_area")
        if self.serves_returnees is not ServesReturnees.NOT_STATED and not self.serves_returnees_quote:
            raise ValueError("serves_returnees yes or no needs the source's sentence in serves_returnees_quote")
        return self

    def service_eligibility(self, service: Service) -> Eligibility:
        """The eligibility that applies to `service`: its own, else the organisation's, else none."""
        return service.eligibility or self.eligibility or Eligibility()

    def service_area_of(self, service: Service) -> ServiceArea | None:
        return service.service_area or self.service_area

    def locations_of(self, service: Service) -> list[Location]:
        if not service.locations:
            return list(self.locations)
        wanted = set(service.locations)
        return [loc for loc in self.locations if loc.id in wanted]

    def costs_of(self, service: Service) -> list[CostOption]:
        return [c for c in self.costs if not c.services or service.id in c.services]


class Locality(Strict):
    """A gazetteer row: a Mali place with coordinates and how they are known."""

    id: Slug
    name: NonEmpty
    kind: Literal["region_capital", "cercle_capital", "town", "neighbourhood", "village"]
    region: Region
    cercle: str | None = None
    latitude: float = Field(ge=10.0, le=25.5)
    longitude: float = Field(ge=-12.5, le=4.5)
    precision: Precision
    source: NonEmpty
    alternate_names: list[str] = []
