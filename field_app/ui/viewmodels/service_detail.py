"""State of a partner's service page: the offer, the conditions for this returnee, costs, offices, contacts.

Everything dated is said against the clock's day: a service past its stated end is ended ("ended on …"), facts
older than twelve months are "information from … — call to confirm" (domain.freshness), and "From X F" is the
lowest registration fee asked of this returnee (domain.fees), never a stamp or the other sex's fee.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from field_app.directory.detail import ContactLine, service_detail
from field_app.domain.directory import CostOption
from field_app.domain.eligibility import Reason, Status, assess
from field_app.domain.fees import lowest_registration_fee
from field_app.domain.freshness import is_stale
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import ServiceStatus
from field_app.i18n import N_, _, format_date, format_fcfa, ngettext
from field_app.labels import (
    DOCUMENTS,
    PATHWAYS,
    SERVES_RETURNEES,
    TARGET_GROUPS,
    VERDICTS,
    label,
    reason_message,
    region_name,
)
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock

UNITS = {
    "month": N_("per month"),
    "year": N_("per year"),
    "training": N_("for the whole training"),
    "day": N_("per day"),
}


FOR_SEX = {"M": N_("men and boys only"), "F": N_("women and girls only")}


def cost_line(cost: CostOption) -> str:
    """One fee in words: "Registration: 10 000 F CFA", "… 5 000 – 15 000 F CFA per month", "Free", and whom
    it is asked of when the source prices boys and girls differently."""
    line = _("{label}: {amount}")
    if cost.amount is None:
        text = line.format(label=cost.label, amount=cost.text)
    elif cost.amount == 0 and not cost.amount_max:
        text = line.format(label=cost.label, amount=_("Free"))
    else:
        amount = format_fcfa(cost.amount)
        if cost.amount_max and cost.amount_max != cost.amount:
            amount = _("{low} to {high}").format(low=amount, high=format_fcfa(cost.amount_max))
        unit = _(UNITS[cost.unit.value]) if cost.unit.value in UNITS else ""
        text = line.format(label=cost.label, amount=" ".join(filter(None, [amount, unit])))
    if cost.sex is not None:
        text = _("{fee} ({whom})").format(fee=text, whom=_(FOR_SEX[cost.sex.value]))
    return text


@dataclass(frozen=True)
class OfficeRow:
    title: str  # the town (and the office's name)
    detail: str  # region, address


class ServiceDetailViewModel:
    """Everything the agent needs to decide and to call; `returnee_id` adds the verdict and the Refer button."""

    def __init__(
        self, db: sqlite_utils.Database, clock: Clock, service_id: str, returnee_id: str | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self.service_id = service_id
        self.detail = service_detail(db, service_id)
        self.returnee: Returnee | None = get_returnee(db, returnee_id) if returnee_id else None

    @property
    def title(self) -> str:
        return self.detail.service.name

    @property
    def organization(self) -> str:
        org = self.detail.organization
        if org.short_name and org.short_name not in org.name:
            return f"{org.name} ({org.short_name})"
        return org.name

    @property
    def pathway(self) -> str:
        return label(PATHWAYS, self.detail.service.pathway.value)

    @property
    def description(self) -> str | None:
        return self.detail.service.description or self.detail.organization.description

    @property
    def today(self) -> dt.date:
        return self._clock().date()

    @property
    def status(self) -> ServiceStatus:
        """The service's status today: its stated end having passed makes it ended."""
        return self.detail.service.status_on(self.today)

    @property
    def status_banner(self) -> str | None:
        """What stops a referral today, at the top of the page: "This service ended on 31 December 2024." …"""
        svc = self.detail.service
        status = self.status
        if status is ServiceStatus.ENDED and svc.end_date is not None and svc.end_date < self.today:
            return _("This service ended on {date}.").format(date=format_date(svc.end_date))
        codes = {
            ServiceStatus.ENDED: "service_inactive",
            ServiceStatus.PLANNED: "service_planned",
            ServiceStatus.SUSPENDED: "service_suspended",
            ServiceStatus.FULL: "service_full",
        }
        return reason_message(Reason(codes[status], Status.NOT_ELIGIBLE)) if status in codes else None

    @property
    def period(self) -> str | None:
        """The period the source states, in its words."""
        text = self.detail.service.period_text
        return _("Period stated by the source: “{text}”").format(text=text) if text else None

    @property
    def freshness(self) -> str | None:
        """ "Information from 31 December 2022 — call to confirm." once the facts are over twelve months old."""
        collected = self.detail.assured_date
        if not is_stale(collected, self.today):
            return None
        return _("Information from {date} — call to confirm.").format(date=format_date(collected))

    @property
    def inferred(self) -> str | None:
        """Said first of an entry the source does not describe itself (an ANPE regional directorate)."""
        src = self.detail.organization.source
        if not src.inferred_from:
            return None
        return _(
            "Inferred from fiche {fiche}, which does not describe this office itself. Until the office gives its "
            "own, the contacts are the ones the fiche gives."
        ).format(fiche=src.fiche)

    @property
    def inferred_from(self) -> str | None:
        """The fiche's sentence the entry was inferred from."""
        text = self.detail.organization.source.inferred_from
        return _("The source says: “{text}”").format(text=text) if text else None

    @property
    def serves_returnees(self) -> tuple[str, str | None]:
        """Whether the partner has worked with returning migrants, and the source's sentence."""
        org = self.detail.organization
        return label(SERVES_RETURNEES, org.serves_returnees.value), org.serves_returnees_quote

    @property
    def target_groups(self) -> str | None:
        groups = self.detail.eligibility.target_groups
        if not groups:
            return None
        return _("For: {groups}").format(groups=", ".join(label(TARGET_GROUPS, g.value) for g in groups))

    @property
    def caveats(self) -> list[str]:
        """What to know before referring, in the source's words: the service's own, then the partner's."""
        return [*self.detail.service.caveats, *self.detail.organization.caveats]

    @property
    def fee_summary(self) -> str | None:
        """ "Free", or "Registration from 2 500 F CFA" — the lowest registration fee asked of this returnee."""
        fees = lowest_registration_fee(
            self.detail.costs,
            service_id=self.detail.service.id,
            sex=self.returnee.sex if self.returnee else None,
        )
        if fees.free:
            return _("Free")
        if fees.lowest is None:
            return None
        return _("Registration from {amount}").format(amount=format_fcfa(fees.lowest))

    @property
    def duration(self) -> str | None:
        d = self.detail.service.duration
        return _("Duration: {text}").format(text=d.text) if d else None

    def verdict(self) -> tuple[Status, str, list[str]] | None:
        """This returnee's verdict, its words, and every reason as a sentence (None without a returnee)."""
        if self.returnee is None:
            return None
        org, svc = self.detail.organization, self.detail.service
        v = assess(
            self.returnee.profile(self.today),
            self.detail.eligibility,
            svc.status_on(self.today),
            org.service_area_of(svc),
        )
        return v.status, _(VERDICTS[v.status]), [reason_message(r) for r in v.reasons]

    @property
    def conditions_text(self) -> str | None:
        """The source's own words on who may apply."""
        return self.detail.eligibility.text

    @property
    def documents(self) -> list[str]:
        """The documents required, and those asked for only when the person has them."""
        e = self.detail.eligibility
        needed = [label(DOCUMENTS, d.value) for d in e.documents]
        extra = [label(DOCUMENTS, d.value) for d in e.documents_if_available if d not in e.documents]
        lines = [_("Documents required: {documents}").format(documents=", ".join(needed))] if needed else []
        if extra:
            lines.append(_("Also, if they have them: {documents}").format(documents=", ".join(extra)))
        return lines

    @property
    def costs(self) -> list[str]:
        return [cost_line(c) for c in self.detail.costs] or [_("No cost stated by the source.")]

    @property
    def capacity(self) -> str | None:
        cap = self.detail.organization.capacity
        if cap is None:
            return None
        if not cap.per_year:
            return cap.text
        return ngettext("{n} person a year", "{n} people a year", cap.per_year).format(n=cap.per_year)

    @property
    def offices(self) -> list[OfficeRow]:
        """Offices in the returnee's region first; the region is named when it is not the town's own name."""
        home = self.returnee.region.value if self.returnee else None
        return [
            OfficeRow(
                " — ".join(filter(None, [o.town, o.name if o.name and o.name != o.town else None])),
                " · ".join(
                    filter(
                        None,
                        [
                            _("Region: {region}").format(region=region_name(o.region))
                            if region_name(o.region) != o.town
                            else None,
                            o.address,
                        ],
                    )
                ),
            )
            for o in sorted(self.detail.offices, key=lambda o: o.region != home)
        ]

    @property
    def contacts(self) -> list[ContactLine]:
        return self.detail.contacts

    @property
    def verified(self) -> str:
        return _("Last verified: {date}").format(date=format_date(self.detail.assured_date))

    @property
    def source(self) -> str:
        src = self.detail.organization.source
        return _("Source: fiche {fiche}").format(fiche=src.fiche)

    @property
    def can_refer(self) -> bool:
        return self.returnee is not None
