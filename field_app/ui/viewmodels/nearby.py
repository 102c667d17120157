"""State of the returnee page: who they are, and the partners near a place — one card per partner with its
services and this person's verdict on each, ranked, a page at a time.

The "near" point is a gazetteer place (default: their place of return, else their region's capital) or the
phone's position when the agent asks for it and the phone gives it. Filters narrow the list. The ranking
(`field_app.domain.ranking`) uses the person's sectors of interest and trade before leaving from their record;
each card says why it stands where it does, and the count line says how many partners and services matched in
all, so that "more" is never a surprise. Everything here is already in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import sqlite_utils

from field_app.directory.nearby import PAGE_PARTNERS, Filters, NearbyHit, Partner, nearby_partners
from field_app.directory.places import region_capital
from field_app.directory.search import resolve_place
from field_app.domain.eligibility import Status
from field_app.domain.ranking import Interests, MatchKind
from field_app.errors import NotFound
from field_app.i18n import _, format_fcfa, format_km, format_number, labelled, ngettext
from field_app.labels import PATHWAYS, SECTORS, VERDICTS, label, match_message, partners_and_services, reason_message
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock, Option, person_line, place_options

HERE = "@here"  # the place key of "my position"
ANY = "-"  # the pathway key of "all pathways"
FIRST_SERVICES = 3  # services shown on a card before "show all"


class LocationProblem(Enum):
    """Why the phone's position could not be used."""

    DENIED = "denied"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ServiceLine:
    """One service on a partner's card, in words."""

    service_id: str
    title: str  # the service
    organization: str
    verdict: Status
    verdict_text: str
    reasons: list[str]  # the first reasons, as sentences
    matched: str | None  # the sector it shares with the person's interests ("Mechanics"), if any
    where: str  # "12 km · Kayes", "national", or region names
    fee: str


@dataclass(frozen=True)
class PartnerCard:
    """One partner: where, why it ranks here, and its services that matched, best first."""

    organization_id: str
    rank: int  # 1 for the first card
    name: str
    where: str  # its nearest office ("0 km · Kayes") or what it covers
    why: str  # "Why here: Eligible · Mechanics, a sector of interest (Mécanique auto, eligible if…)"
    count: str  # "16 services"
    services: list[ServiceLine] = field(default_factory=list)


def _where(hit: NearbyHit) -> str:
    if hit.distance_km is not None:
        return " · ".join(filter(None, [format_km(hit.distance_km), hit.town]))
    if hit.coverage == "national":
        return _("national")
    return hit.coverage or hit.town or ""


def _fee(hit: NearbyHit) -> str:
    if hit.free:
        return _("Free")
    if hit.fee_min is None:
        return _("Cost not stated")
    return _("From {amount}").format(amount=format_fcfa(hit.fee_min))


def line_of(hit: NearbyHit, max_reasons: int = 2) -> ServiceLine:
    return ServiceLine(
        service_id=hit.service_id,
        title=hit.service,
        organization=hit.organization,
        verdict=hit.verdict.status,
        verdict_text=_(VERDICTS[hit.verdict.status]),
        reasons=[reason_message(r) for r in hit.verdict.reasons[:max_reasons]],
        matched=label(SECTORS, hit.match.sector.value) if hit.match.sector else None,
        where=_where(hit),
        fee=_fee(hit),
    )


def why(partner: Partner, interests: Interests, shown: str = "") -> str:
    """Why a partner ranks where it does: its best verdict, then (when the person gave interests) how what they
    can join matches them, then the distance of that service (left out when it is the card's own, `shown`)."""
    best, reason = partner.reasons
    parts = [_(VERDICTS[best.verdict.status])]
    if interests.any:
        if reason.match.kind is MatchKind.NONE:
            parts.append(match_message(reason.match))
        elif reason is best:
            parts.append(match_message(reason.match, with_term=False))
        else:  # the match comes from another service than the verdict: name it
            parts.append(
                _("{match} ({service}, {verdict})").format(
                    match=match_message(reason.match, with_term=False),
                    service=reason.service,
                    verdict=_(VERDICTS[reason.verdict.status]).lower(),
                )
            )
    if _where(reason) != shown:
        parts.append(_where(reason))
    return labelled(_("Why here"), " · ".join(p for p in parts if p))


def card_of(partner: Partner, rank: int, interests: Interests) -> PartnerCard:
    n = len(partner.services)
    where = _where(partner.nearest)
    return PartnerCard(
        organization_id=partner.organization_id,
        rank=rank,
        name=partner.organization,
        where=where,
        why=why(partner, interests, where),
        count=ngettext("{n} service", "{n} services", n).format(n=format_number(n)),
        services=[line_of(h) for h in partner.services],
    )


class NearbyViewModel:
    """One returnee and the partners near the chosen point, best first, `page` partners at a time."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str, page: int = PAGE_PARTNERS):
        self._db = db
        self._clock = clock
        self._page = page
        self.returnee = get_returnee(db, returnee_id)
        self.place_id: str = self.returnee.locality or self._capital()
        self.position: tuple[float, float] | None = None
        self.location_message = ""
        self.pathway: str | None = None
        self.text = ""
        self.free_only = False
        self.eligible_only = False
        self.cards: list[PartnerCard] = []
        self.total_partners = 0
        self.total_services = 0
        self.more = False
        self.status = ""
        self.expanded: set[str] = set()  # cards showing all their services
        self.refresh()

    def _capital(self) -> str:
        return region_capital(self._db, self.returnee.region.value) or self.returnee.region.value

    @property
    def name(self) -> str:
        return self.returnee.full_name

    @property
    def summary(self) -> str:
        return person_line(self.returnee, self._clock().date())

    @property
    def interests(self) -> Interests:
        return Interests(frozenset(self.returnee.sectors), self.returnee.trade_before)

    @property
    def interests_summary(self) -> str:
        """What the ranking uses of the person's wishes, in a few words (empty when they gave none)."""
        parts = [label(SECTORS, s.value) for s in self.returnee.sectors]
        if self.returnee.trade_before:
            parts.append(_("trade “{trade}”").format(trade=self.returnee.trade_before))
        return labelled(_("Interests"), ", ".join(parts)) if parts else ""

    def places(self) -> list[Option]:
        mine = [Option(HERE, _("My position"))] if self.position else []
        return mine + place_options(self._db)

    def pathways(self) -> list[Option]:
        return [Option(ANY, _("All pathways"))] + [Option(k, _(v)) for k, v in PATHWAYS.items()]

    def set_place(self, place_id: str | None) -> None:
        if place_id and place_id != HERE:
            self.place_id = place_id
            self.position = None
        self.location_message = ""
        self.refresh()

    def use_position(self, latitude: float, longitude: float) -> None:
        self.position = (latitude, longitude)
        self.location_message = _("Showing partners near your position.")
        self.refresh()

    def position_failed(self, problem: LocationProblem) -> None:
        """Say why, and keep the place chosen."""
        self.location_message = (
            _("Location permission was refused: partners are shown near the place chosen.")
            if problem is LocationProblem.DENIED
            else _("Your position is not available: partners are shown near the place chosen.")
        )

    def set_filters(
        self,
        *,
        pathway: str | None = None,
        text: str | None = None,
        free_only: bool | None = None,
        eligible_only: bool | None = None,
    ) -> None:
        if pathway is not None:
            self.pathway = None if pathway == ANY else pathway
        if text is not None:
            self.text = text.strip()
        if free_only is not None:
            self.free_only = free_only
        if eligible_only is not None:
            self.eligible_only = eligible_only
        self.refresh()

    @property
    def filters_active(self) -> bool:
        return bool(self.pathway or self.text or self.free_only or self.eligible_only)

    @property
    def filters_summary(self) -> str:
        """The filters in force, in a few words ("None" when the list is unfiltered)."""
        parts = [
            _(PATHWAYS[self.pathway]) if self.pathway in PATHWAYS else None,
            f"“{self.text}”" if self.text else None,
            _("free only") if self.free_only else None,
            _("eligible only") if self.eligible_only else None,
        ]
        return " · ".join(p for p in parts if p) or _("None")

    @property
    def place_key(self) -> str:
        return HERE if self.position else self.place_id

    def _near(self) -> tuple[float, float] | None:
        if self.position:
            return self.position
        try:
            place = resolve_place(self._db, self.place_id)
        except NotFound:
            return None
        return (place.latitude, place.longitude)

    def _filters(self) -> Filters:
        return Filters(
            pathway=self.pathway, text=self.text or None, free_only=self.free_only, eligible_only=self.eligible_only
        )

    def _load(self, offset: int) -> None:
        page = nearby_partners(
            self._db,
            self.returnee.profile(self._clock().date()),
            self._near(),
            self._filters(),
            today=self._clock().date(),
            interests=self.interests,
            offset=offset,
            limit=self._page,
        )
        interests = self.interests
        self.cards = self.cards[:offset] + [card_of(p, offset + i + 1, interests) for i, p in enumerate(page.partners)]
        self.total_partners, self.total_services, self.more = page.total_partners, page.total_services, page.more
        if not self.cards:
            self.status = _("No partner found: widen the filters.")
        else:
            self.status = partners_and_services(self.total_partners, self.total_services)

    def refresh(self) -> None:
        """The first page again (after a change of place, filters or record)."""
        self.returnee = get_returnee(self._db, self.returnee.id)
        self.expanded = set()
        self.cards = []
        self._load(0)

    def load_more(self) -> None:
        """The next page of partners, after those shown."""
        if self.more:
            self._load(len(self.cards))

    @property
    def shown(self) -> str:
        """How many partners are on screen out of all, for the "more" button."""
        return ngettext(
            "Show more partners ({shown} of {total} shown)", "Show more partners ({shown} of {total} shown)",
            len(self.cards),
        ).format(shown=format_number(len(self.cards)), total=format_number(self.total_partners))  # fmt: skip

    def toggle(self, organization_id: str) -> None:
        """Show all of a card's services, or only its first ones again."""
        self.expanded ^= {organization_id}

    def visible_services(self, card: PartnerCard) -> list[ServiceLine]:
        if card.organization_id in self.expanded:
            return card.services
        return card.services[:FIRST_SERVICES]

    def toggle_text(self, card: PartnerCard) -> str | None:
        """The card's "show all" button text, or None when every service is already on it."""
        hidden = len(card.services) - FIRST_SERVICES
        if hidden <= 0:
            return None
        if card.organization_id in self.expanded:
            return _("Show fewer services")
        return ngettext("Show {n} more service", "Show {n} more services", hidden).format(n=format_number(hidden))
