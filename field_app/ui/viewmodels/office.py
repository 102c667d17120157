"""State of the office's screens: the inbox (filters, counts, pages), a referral's detail, the move dialog.

The inbox pages through `casework.office.inbox`: "More" appends the next page and the status line always says
"n of total" (never a silent cut). The detail shows the person only when the referral carries consent to share
(the use case records the read in the access log); the move form offers only the moves allowed now and puts
each problem on its field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from field_app.directory.places import places
from field_app.domain.referrals import NEEDS_OUTCOME, NEEDS_REASON, DeclineReason, EventKind, Outcome, ReferralStatus
from field_app.errors import FieldAppError, ValidationError
from field_app.i18n import _, format_date, ngettext
from field_app.labels import (
    DECLINE_REASONS,
    DOCUMENTS,
    EDUCATION,
    EVENT_ACTIONS,
    EVENT_KINDS,
    LANGUAGES,
    OUTCOMES,
    REFERRAL_STATUSES,
    SEX,
    label,
    region_name,
)
from field_app.ui.viewmodels.common import Clock, Option
from field_app.ui.viewmodels.sync import when_text

PAGE = 50


def _office() -> Any:
    """The office use cases (casework.office), imported when an office screen opens."""
    from field_app.casework import office

    return office


ANY = "-"
STATUS_ORDER = ("received", "sent", "accepted", "enrolled", "declined", "completed", "not_completed", "revoked")
OVERDUE_CHOICES = (7, 14, 21, 30, 60)

# The words for event kinds, office moves, reasons and outcomes live in field_app.labels (one home for them).
EVENT_WORDS: dict[str, str] = {str(k): v for k, v in EVENT_KINDS.items()}
MOVE_WORDS: dict[str, str] = {str(k): v for k, v in EVENT_ACTIONS.items()}
REASON_WORDS: dict[str, str] = {str(k): v for k, v in DECLINE_REASONS.items()}
OUTCOME_WORDS: dict[str, str] = {str(k): v for k, v in OUTCOMES.items()}


def status_words(code: str) -> str:
    return _(REFERRAL_STATUSES[ReferralStatus(code)]) if code in set(REFERRAL_STATUSES) else code


def parse_day(text: str, field_name: str) -> dt.date | None:
    """A YYYY-MM-DD date typed in a filter or the follow-up field (None when empty)."""
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError([_problem(field_name, _("Write the date as YYYY-MM-DD, e.g. 2025-06-30."))]) from None


def _problem(field_name: str, message: str) -> Any:
    from field_app.errors import Problem

    return Problem(field_name, message)


@dataclass(frozen=True)
class InboxRow:
    referral_id: str
    code: str
    title: str  # the person's name, or the slip code when there is no consent to share
    status: str
    partner: str  # organisation: service
    detail: str  # town · referred on … · last news …
    overdue: bool
    flagged: bool
    follow_up: str | None


def inbox_row(item: Any, now: dt.datetime) -> InboxRow:
    person = item.person
    title = f"{person.given_name} {person.family_name}" if person else _("Referral {code}").format(code=item.code)
    parts = [
        item.town or region_name(item.region) if item.region else item.town,
        _("referred {date}").format(date=format_date(item.created_at.date())),
        _("last news {when}").format(when=when_text(item.last_event_at, now)) if item.last_event_at else None,
    ]
    return InboxRow(
        referral_id=item.id,
        code=item.code,
        title=title,
        status=status_words(str(item.status)),
        partner=_("{organization}: {service}").format(organization=item.organization, service=item.service),
        detail=" · ".join(p for p in parts if p),
        overdue=bool(item.overdue),
        flagged=bool(item.flagged),
        follow_up=format_date(item.follow_up) if item.follow_up else None,
    )


@dataclass
class Filters:
    status: str | None = None
    organization_id: str | None = None
    locality: str | None = None
    device_id: str = ""
    since: str = ""
    until: str = ""
    text: str = ""
    overdue_only: bool = False


class InboxViewModel:
    """The referrals of the office's region (`region=None`: every region, for a supervisor), overdue first."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, *, region: str | None, page: int = PAGE):
        self._db = db
        self._clock = clock
        self.region = region
        self.page = page
        self.filters = Filters()
        self.errors: dict[str, str] = {}
        self.rows: list[InboxRow] = []
        self.total = 0
        self.counts: dict[str, int] = {}
        self.overdue = 0
        self.selected: str | None = None  # the referral shown beside the list (desktop)
        self.case: CaseViewModel | None = None
        self.refresh()

    # --- choices ------------------------------------------------------------------------------------------------

    def status_chips(self) -> list[Option]:
        """ "All (n)" then each status that has referrals, with its count."""
        total = sum(self.counts.values())
        chips = [Option(ANY, _("All ({n})").format(n=total))]
        shown = [c for c, n in self.counts.items() if n or c == self.filters.status]
        for code in sorted(shown, key=lambda c: STATUS_ORDER.index(c) if c in STATUS_ORDER else 99):
            chips.append(Option(code, f"{status_words(code)} ({self.counts[code]})"))
        return chips

    def partner_options(self) -> list[Option]:
        from field_app.casework import upkeep

        role = "office" if self.region else "supervisor"
        orgs = upkeep.editable_organizations(self._db, role=role, region=self.region)
        return [Option(ANY, _("All partners"))] + [Option(oid, name) for oid, name in orgs]

    def town_options(self) -> list[Option]:
        towns = places(self._db, region=self.region, kinds=("region_capital", "cercle_capital", "town"))
        return [Option(ANY, _("All towns"))] + [Option(pid, name) for pid, name in towns]

    def overdue_options(self) -> list[Option]:
        return [Option(str(n), ngettext("{n} day", "{n} days", n).format(n=n)) for n in OVERDUE_CHOICES]

    @property
    def overdue_days(self) -> int:
        return int(_office().overdue_days(self._db))

    def set_overdue_days(self, days: int) -> None:
        _office().set_overdue_days(self._db, days)
        self.refresh()

    # --- filters -------------------------------------------------------------------------------------------------

    def set_filter(self, **values: Any) -> None:
        """Change filters (status, organization_id, locality: ANY or None = all; texts as typed), back to page 1."""
        for name, value in values.items():
            if name in ("status", "organization_id", "locality"):
                value = None if value in (None, "", ANY) else value
            setattr(self.filters, name, value)
        self.refresh()

    def clear_filters(self) -> None:
        self.filters = Filters()
        self.refresh()

    def _use_case_filters(self) -> Any:
        f = self.filters
        self.errors = {}
        since = until = None
        try:
            since = parse_day(f.since, "since")
        except ValidationError as exc:
            self.errors["since"] = exc.problems[0].message
        try:
            until = parse_day(f.until, "until")
        except ValidationError as exc:
            self.errors["until"] = exc.problems[0].message
        return _office().InboxFilters(
            status=f.status,
            organization_id=f.organization_id,
            locality=f.locality,
            device_id=f.device_id.strip() or None,
            since=since,
            until=until,
            text=f.text.strip() or None,
            overdue_only=f.overdue_only,
        )

    # --- reading ---------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Page 1 again (as many rows as were shown, so "More" is not lost on return), with the counts."""
        self.refresh_list()
        if self.case is not None:
            self.case.refresh()

    def refresh_list(self) -> None:
        """The rows and counts again (after a move made in the detail beside the list)."""
        self._load(0, max(self.page, len(self.rows)), replace=True)

    def more(self) -> None:
        self._load(len(self.rows), self.page, replace=False)

    def _load(self, offset: int, limit: int, *, replace: bool) -> None:
        now = self._clock()
        found = _office().inbox(
            self._db, region=self.region, filters=self._use_case_filters(), now=now, offset=offset, limit=limit
        )
        rows = [inbox_row(i, now) for i in found.items]
        self.rows = rows if replace else self.rows + rows
        self.total, self.counts, self.overdue = found.total, dict(found.counts), found.overdue

    @property
    def has_more(self) -> bool:
        return len(self.rows) < self.total

    @property
    def status_text(self) -> str:
        if not self.total:
            return _("No referral matches these filters.") if self.filtered else _("No referral in this region yet.")
        shown = ngettext("{n} of {total} referral", "{n} of {total} referrals", self.total).format(
            n=len(self.rows), total=self.total
        )
        if self.overdue:
            days = self.overdue_days
            late = ngettext("{n} overdue (no news for {days} day)", "{n} overdue (no news for {days} days)", days)
            shown += " · " + late.format(n=self.overdue, days=days)
        return shown

    @property
    def more_text(self) -> str:
        """The "More" button: how many of the referrals are shown (the count agrees with the number shown)."""
        n = len(self.rows)
        return ngettext("More ({n} of {total} referrals shown)", "More ({n} of {total} referrals shown)", n).format(
            n=n, total=self.total
        )

    @property
    def region_name(self) -> str:
        return region_name(self.region) if self.region else ""

    @property
    def filtered(self) -> bool:
        f = self.filters
        return bool(
            f.status or f.organization_id or f.locality or f.device_id or f.since or f.until or f.text or f.overdue_only
        )

    def select(self, referral_id: str | None) -> None:
        """Show a referral beside the list (desktop); None closes it."""
        self.selected = referral_id
        self.case = CaseViewModel(self._db, self._clock, referral_id) if referral_id else None


@dataclass(frozen=True)
class HistoryLine:
    event_id: str
    what: str
    when: str
    who: str
    details: list[str]  # note, reason, outcome, follow-up, each in words
    flagged: bool  # a conflict: the status did not allow it when it arrived


@dataclass
class MoveForm:
    """The move dialog's values and the problems found, by field (kind, reason, outcome, note, follow_up)."""

    kind: str | None = None
    reason: str | None = None
    outcome: str | None = None
    note: str = ""
    follow_up: str = ""
    errors: dict[str, str] = field(default_factory=dict)


class CaseViewModel:
    """One referral: who (only with consent), which partner and service (with contacts), the whole history."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, referral_id: str):
        self._db = db
        self._clock = clock
        self.referral_id = referral_id
        self.form = MoveForm()
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        self.detail = _office().detail(self._db, self.referral_id, now=self._clock())

    # --- what the screen shows ---------------------------------------------------------------------------------------

    @property
    def item(self) -> Any:
        return self.detail.item

    @property
    def title(self) -> str:
        return _("Referral {code}").format(code=self.item.code)

    @property
    def status(self) -> str:
        return status_words(str(self.item.status))

    @property
    def badges(self) -> list[str]:
        out = []
        if self.item.overdue:
            out.append(_("Overdue"))
        if self.item.flagged or self.detail.flagged:
            out.append(_("Conflict: see the history"))
        if self.item.follow_up:
            out.append(_("Follow up on {date}").format(date=format_date(self.item.follow_up)))
        return out

    @property
    def follow_up_text(self) -> str | None:
        return _("Follow up on {date}").format(date=format_date(self.item.follow_up)) if self.item.follow_up else None

    @property
    def person_name(self) -> str | None:
        p = self.detail.person
        return f"{p.given_name} {p.family_name}" if p else None

    @property
    def phone(self) -> str | None:
        p = self.detail.person
        return p.phone if p else None

    @property
    def person_lines(self) -> list[tuple[str, str]]:
        """(label, value) about the person, or nothing when the referral carries no consent to share."""
        p = self.detail.person
        if p is None:
            return []
        today = self._clock().date()
        lines = [(_("Sex"), label(SEX, p.sex))]
        age = self._age(p, today)
        if age is not None:
            lines.append((_("Age"), ngettext("{n} year", "{n} years", age).format(n=age)))
        lines.append((_("Phone"), p.phone or _("not recorded")))
        if p.languages:
            lines.append((_("Languages"), ", ".join(label(LANGUAGES, c) for c in p.languages)))
        lines.append(
            (_("Documents held"), ", ".join(label(DOCUMENTS, c) for c in p.documents) if p.documents else _("none"))
        )
        if p.education:
            lines.append((_("Education"), label(EDUCATION, p.education)))
        place = self._place_name(p.locality) if p.locality else None
        region = region_name(p.region)
        lines.append((_("Place of return"), " · ".join(x for x in dict.fromkeys((place, region)) if x)))
        return lines

    @staticmethod
    def _age(p: Any, today: dt.date) -> int | None:
        if p.birth_date:
            b = p.birth_date
            return int(today.year - b.year - ((today.month, today.day) < (b.month, b.day)))
        if p.age is not None:
            on = p.age_recorded_on or today
            return int(p.age) + max(0, (today - on).days // 365)
        return None

    def _place_name(self, locality: str) -> str | None:
        names = dict(places(self._db))
        return names.get(locality, locality)

    @property
    def no_consent_text(self) -> str:
        return _("This referral carries no consent to share: the person's details stay with the field agent.")

    @property
    def tel(self) -> str | None:
        return f"tel:{self.phone}" if self.phone else None

    @property
    def sms(self) -> str | None:
        return f"sms:{self.phone}" if self.phone else None

    @property
    def partner(self) -> str:
        return str(self.item.organization)

    @property
    def service(self) -> str:
        return str(self.item.service)

    def contacts(self) -> list[Any]:
        service = self.detail.service
        return list(service.contacts) if service is not None else []

    @property
    def history(self) -> list[HistoryLine]:
        now = self._clock()
        me = self._me()
        lines = []
        for e in self.detail.events:
            details = []
            if e.reason:
                details.append(_("Reason: {reason}").format(reason=_(REASON_WORDS.get(str(e.reason), str(e.reason)))))
            if e.outcome:
                details.append(
                    _("Outcome: {outcome}").format(outcome=_(OUTCOME_WORDS.get(str(e.outcome), str(e.outcome))))
                )
            if e.follow_up:
                details.append(_("Follow up on {date}").format(date=format_date(e.follow_up)))
            if e.note:
                details.append(_("Note: {note}").format(note=e.note))
            flagged = e.id in self.detail.flagged
            if flagged:
                details.append(_("Conflict: the referral's status did not allow this step when it arrived."))
            who = (
                _("this device")
                if e.actor and e.actor == me
                else _("device {id}").format(id=e.actor[:8])
                if e.actor
                else _("the field agent")
                if str(e.kind) in ("created", "sent", "revoked")
                else _("unknown")
            )
            lines.append(
                HistoryLine(
                    event_id=e.id,
                    what=_(EVENT_WORDS.get(str(e.kind), str(e.kind))),
                    when=when_text(e.at, now),
                    who=who,
                    details=details,
                    flagged=flagged,
                )
            )
        return lines

    def _me(self) -> str | None:
        from field_app.casework.roles import current

        device: str | None = current(self._db).device_id
        return device

    # --- the move dialog -------------------------------------------------------------------------------------------

    def move_options(self) -> list[Option]:
        return [Option(str(k), _(MOVE_WORDS.get(str(k), str(k)))) for k in self.detail.moves]

    def reason_options(self) -> list[Option]:
        return [Option(r.value, _(REASON_WORDS[r.value])) for r in DeclineReason]

    def outcome_options(self) -> list[Option]:
        return [Option(o.value, _(OUTCOME_WORDS[o.value])) for o in Outcome]

    def start_move(self, kind: str | None = None) -> None:
        self.form = MoveForm(kind=kind)

    @property
    def needs_reason(self) -> bool:
        return self.form.kind is not None and EventKind(self.form.kind) in NEEDS_REASON

    @property
    def needs_outcome(self) -> bool:
        return self.form.kind is not None and EventKind(self.form.kind) in NEEDS_OUTCOME

    def set_move(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self.form, name, value or (None if name in ("kind", "reason", "outcome") else ""))
            self.form.errors.pop(name, None)

    def submit_move(self) -> bool:
        """Write the move (with its outbox entry); problems go on their fields and nothing is written."""
        f = self.form
        f.errors = {}
        if not f.kind:
            f.errors["kind"] = _("Choose what happened.")
            return False
        try:
            follow_up = parse_day(f.follow_up, "follow_up")
            _office().move(
                self._db,
                self.referral_id,
                EventKind(f.kind),
                reason=DeclineReason(f.reason) if f.reason and self.needs_reason else None,
                outcome=Outcome(f.outcome) if f.outcome and self.needs_outcome else None,
                note=f.note.strip() or None,
                follow_up=follow_up,
                now=self._clock(),
            )
        except ValidationError as exc:
            for p in exc.problems:
                f.errors.setdefault(
                    p.field
                    if p.field in ("kind", "reason", "outcome", "note")
                    else "follow_up"
                    if p.field == "follow_up"
                    else "kind",
                    p.message,
                )
            return False
        except FieldAppError as exc:
            f.errors["kind"] = str(exc)
            return False
        self.message = _("Saved: {what}. It will be sent at the next sync.").format(
            what=_(MOVE_WORDS.get(f.kind, f.kind))
        )
        self.form = MoveForm()
        self.refresh()
        return True
