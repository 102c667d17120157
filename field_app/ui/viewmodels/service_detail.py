"""State of a partner's service page: the offer, the conditions for this returnee, costs, offices, contacts."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.directory.detail import ContactLine, service_detail
from field_app.domain.directory import CostOption
from field_app.domain.eligibility import Status, assess
from field_app.domain.returnees import Returnee
from field_app.i18n import N_, _, format_date, format_fcfa
from field_app.labels import DOCUMENTS, PATHWAYS, VERDICTS, label, reason_message, region_name
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock

UNITS = {
    "month": N_("per month"),
    "year": N_("per year"),
    "training": N_("for the whole training"),
    "day": N_("per day"),
}


def cost_line(cost: CostOption) -> str:
    """One fee in words: "Registration: 10 000 F CFA", "… 5 000 – 15 000 F CFA per month", "Free"."""
    line = _("{label}: {amount}")
    if cost.amount is None:
        return line.format(label=cost.label, amount=cost.text)
    if cost.amount == 0 and not cost.amount_max:
        return line.format(label=cost.label, amount=_("Free"))
    amount = format_fcfa(cost.amount)
    if cost.amount_max and cost.amount_max != cost.amount:
        amount = _("{low} to {high}").format(low=amount, high=format_fcfa(cost.amount_max))
    unit = _(UNITS[cost.unit.value]) if cost.unit.value in UNITS else ""
    return line.format(label=cost.label, amount=" ".join(filter(None, [amount, unit])))


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
        return f"{org.name} ({org.short_name})" if org.short_name and org.short_name != org.name else org.name

    @property
    def pathway(self) -> str:
        return label(PATHWAYS, self.detail.service.pathway.value)

    @property
    def description(self) -> str | None:
        return self.detail.service.description or self.detail.organization.description

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
            self.returnee.profile(self._clock().date()),
            self.detail.eligibility,
            svc.status,
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
        return _("{n} people a year").format(n=cap.per_year) if cap.per_year else cap.text

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
