"""State and logic of the returnee form: the fields, their choices, the checks, and search-before-create.

The form keeps raw values exactly as `field_app.returnees.form.parse_returnee` reads them (text, codes, lists,
True/False/None, or a day from the date picker), so the screen and the command line are checked by the same
code. Dates are shown and typed the way the agent's language writes them (25/03/1999 in French), or picked.
Submitting never stores half-valid input: problems come back one per field; a valid new person is first compared
with the people already registered here ("Is this the same person?", with why each one matched) and only stored
once the agent has answered. `REQUIRED` says which fields the screen marks as required.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import REGION_NAMES, RETURN_COUNTRIES
from field_app.errors import ValidationError
from field_app.i18n import N_, _, ngettext
from field_app.labels import (
    DOCUMENTS,
    EDUCATION,
    LANGUAGES,
    SECTORS,
    SEX,
    VULNERABILITIES,
    country_name,
    duplicate_reason_label,
)
from field_app.returnees.form import REQUIRED, date_hint, read_date, typed_date
from field_app.returnees.service import check_form, edit, find_duplicates, form_values, register
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock, Option, person_line, place_options

LABELS = {
    "given_name": N_("Given name"),
    "family_name": N_("Family name"),
    "sex": N_("Sex"),
    "birth_date": N_("Birth date"),
    "age": N_("Age"),
    "phone": N_("Phone"),
    "languages": N_("Languages"),
    "region": N_("Region of return"),
    "locality": N_("Place of return"),
    "returned_from": N_("Country returned from"),
    "return_date": N_("Return date"),
    "education": N_("Education"),
    "reads_french": N_("Reads French"),
    "trade_before": N_("Trade before leaving"),
    "sectors": N_("Sectors of interest"),
    "documents": N_("Documents held"),
    "vulnerabilities": N_("Vulnerabilities"),
    "consent": N_("Consent"),
}
CONSENT_READ_OUT = N_(
    "Read this out: “Your details are kept on this phone and on the programme’s server. "
    "They are shared with a partner only if you agree.”"
)
CONSENT_LABEL = N_("The person agrees")
NOT_ASKED = "-"  # the "not asked" choice of a yes/no/unknown question, and "none chosen" in dropdowns
MULTI = {"languages": LANGUAGES, "sectors": SECTORS, "documents": DOCUMENTS, "vulnerabilities": VULNERABILITIES}
DATES = ("birth_date", "return_date")
FOLDED = ("sectors", "documents", "vulnerabilities")  # long lists, often empty: shown folded, with what is chosen


class Outcome(Enum):
    INVALID = "invalid"  # problems are in `errors`
    DUPLICATES = "duplicates"  # possible matches are in `duplicates`: ask the agent
    SAVED = "saved"  # `saved_id` is the stored returnee


@dataclass(frozen=True)
class DuplicateRow:
    """A person already registered who may be the one being registered: who, and why the check offered them."""

    returnee_id: str
    name: str
    detail: str
    reasons: tuple[str, ...]  # in words, strongest first ("same phone number", "same name, same region")

    @property
    def why(self) -> str:
        return _("Why: {reasons}").format(reasons=", ".join(self.reasons))


def _options(table: dict[str, str]) -> list[Option]:
    return [Option(code, _(text)) for code, text in table.items()]


class ReturneeFormViewModel:
    """A new returnee (`returnee_id=None`) or an edit of a stored one, prefilled with its values."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str | None = None):
        self._db = db
        self._clock = clock
        self.existing: Returnee | None = get_returnee(db, returnee_id) if returnee_id else None
        self.values: dict[str, Any] = {name: [] if name in MULTI else None for name in LABELS}
        self.values["consent"] = False
        self.age_mode = "age"  # "age" or "birth_date": which of the two the agent fills in
        if self.existing is not None:
            self.values.update(form_values(self.existing))
            for name in DATES:  # stored as ISO: shown as the agent's language writes dates
                if isinstance(self.values.get(name), str):
                    self.values[name] = typed_date(read_date(self.values[name]))
            self.age_mode = "birth_date" if self.existing.birth_date else "age"
            if self.values.get("age") is not None:  # the age on the day it was recorded, as today's age
                self.values["age"] = str(self.existing.age_on(clock().date()))
        self.errors: dict[str, str] = {}
        self.summary = ""
        self.duplicates: list[DuplicateRow] = []
        self.saved_id: str | None = None

    @property
    def today(self) -> dt.date:
        """Today, from the injected clock (the date pickers end on it)."""
        return self._clock().date()

    @property
    def editing(self) -> bool:
        return self.existing is not None

    @property
    def title(self) -> str:
        return _("Edit {name}").format(name=self.existing.full_name) if self.existing else _("Register a returnee")

    # -- choices -------------------------------------------------------------------------------------------
    def sex_options(self) -> list[Option]:
        return _options(SEX)

    def region_options(self) -> list[Option]:
        return [Option(r.value, name) for r, name in REGION_NAMES.items()]

    def locality_options(self) -> list[Option]:
        region = self.values.get("region")
        return place_options(self._db, region) if region else []

    def country_options(self) -> list[Option]:
        return [Option(code, country_name(code)) for code in RETURN_COUNTRIES]

    def education_options(self) -> list[Option]:
        return _options(EDUCATION)

    def reads_french_options(self) -> list[Option]:
        return [Option("yes", _("Yes")), Option("no", _("No")), Option(NOT_ASKED, _("Not asked"))]

    def multi_options(self, name: str) -> list[Option]:
        return _options(MULTI[name])

    # -- what the screen says about a field ------------------------------------------------------------------
    @staticmethod
    def required(name: str) -> bool:
        """Marked as required on screen (age and birth date: one of the two, whichever is shown)."""
        return name in REQUIRED or name in ("age", "birth_date")

    def chosen_text(self, name: str) -> str:
        """What a folded list holds, e.g. "None chosen" or "2 chosen: Mechanics, Trade"."""
        chosen = list(self.values.get(name) or [])
        if not chosen:
            return _("None chosen")
        words = ", ".join(_(MULTI[name][code]) for code in chosen if code in MULTI[name])
        return ngettext("{n} chosen: {words}", "{n} chosen: {words}", len(chosen)).format(n=len(chosen), words=words)

    @staticmethod
    def date_hint() -> str:
        return date_hint()

    def date_text(self, name: str) -> str:
        """A date field's text: as typed, or the picked day written the way the agent's language writes it."""
        value = self.values.get(name)
        if isinstance(value, dt.date):
            return typed_date(value)
        return "" if value is None else str(value)

    def date_value(self, name: str) -> dt.date | None:
        """The day in a date field, for the date picker to open on (None when empty or not a date yet)."""
        value = self.values.get(name)
        if isinstance(value, dt.date):
            return value
        try:
            return read_date(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            return None

    def set_date(self, name: str, day: dt.date) -> None:
        """A day picked in the date picker (a datetime is read as its day)."""
        self.set(name, day.date() if isinstance(day, dt.datetime) else day)

    # -- input ---------------------------------------------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        """Set one field from the screen ('' and NOT_ASKED mean empty); a new region clears a foreign place."""
        if name not in LABELS:
            raise KeyError(name)
        if isinstance(value, str):
            value = None if value.strip() in ("", NOT_ASKED) else value
        if name == "reads_french" and isinstance(value, str):
            value = value == "yes"
        self.values[name] = value
        locality = self.values.get("locality")
        if name == "region" and locality and locality not in {o.key for o in self.locality_options()}:
            self.values["locality"] = None
        self.errors.pop(name, None)

    def toggle(self, name: str, code: str, selected: bool) -> None:
        chosen: list[str] = list(self.values.get(name) or [])
        if selected and code not in chosen:
            chosen.append(code)
        elif not selected and code in chosen:
            chosen.remove(code)
        self.values[name] = chosen

    def set_age_mode(self, mode: str) -> None:
        self.age_mode = "birth_date" if mode == "birth_date" else "age"

    def reads_french_key(self) -> str:
        value = self.values.get("reads_french")
        return NOT_ASKED if value is None else "yes" if value else "no"

    def data(self) -> dict[str, Any]:
        """What `check_form` reads: only the age or the birth date, as the switch says."""
        data = dict(self.values)
        data["age" if self.age_mode == "birth_date" else "birth_date"] = None
        return data

    # -- submit --------------------------------------------------------------------------------------------
    def submit(self) -> Outcome:
        """Check; store an edit; for a new person, look for duplicates before storing."""
        now = self._clock()
        self.errors, self.summary, self.duplicates = {}, "", []
        try:
            candidate = check_form(self._db, self.data(), now=now, existing=self.existing)
        except ValidationError as exc:
            for problem in exc.problems:
                self.errors.setdefault(self._shown_under(problem.field), problem.message)
            names = ", ".join(_(LABELS[name]) for name in LABELS if name in self.errors)
            self.summary = ngettext(
                "Please correct this field: {names}.", "Please correct these {n} fields: {names}.", len(self.errors)
            ).format(n=len(self.errors), names=names)
            return Outcome.INVALID
        if self.existing is not None:
            self.saved_id = edit(self._db, self.existing.id, self.data(), now=now).id
            return Outcome.SAVED
        today = now.date()
        self.duplicates = [
            DuplicateRow(
                d.returnee.id,
                d.returnee.full_name,
                person_line(d.returnee, today),
                tuple(duplicate_reason_label(r) for r in d.reasons),
            )
            for d in find_duplicates(self._db, candidate)
        ]
        if self.duplicates:
            return Outcome.DUPLICATES
        return self.register_as_new()

    def register_as_new(self) -> Outcome:
        """Store the person as someone new (no match, or the agent said the matches are other people)."""
        self.saved_id = register(self._db, self.data(), now=self._clock()).id
        self.duplicates = []
        return Outcome.SAVED

    def _shown_under(self, field: str) -> str:
        """Age/birth-date problems go under whichever of the two is on screen."""
        if field in ("age", "birth_date"):
            return self.age_mode
        return field if field in LABELS else "given_name"
