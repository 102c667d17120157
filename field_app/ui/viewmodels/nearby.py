"""State of the returnee page: who they are, and the partners near a place with this person's verdict.

The "near" point is a gazetteer place (default: their place of return, else their region's capital) or the
phone's position when the agent asks for it and the phone gives it. Filters narrow the list; each row is
already in words (verdict, first reasons, distance or coverage, fee).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import sqlite_utils

from field_app.directory.nearby import Filters, NearbyHit, nearby
from field_app.directory.places import region_capital
from field_app.directory.search import resolve_place
from field_app.domain.eligibility import Status
from field_app.domain.ranking import Interests
from field_app.errors import NotFound
from field_app.i18n import _, format_fcfa, format_km
from field_app.labels import PATHWAYS, VERDICTS, reason_message
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock, Option, person_line, place_options

HERE = "@here"  # the place key of "my position"
ANY = "-"  # the pathway key of "all pathways"


class LocationProblem(Enum):
    """Why the phone's position could not be used."""

    DENIED = "denied"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class NearbyRow:
    service_id: str
    title: str  # the service
    organization: str
    verdict: Status
    verdict_text: str
    reasons: list[str]  # the first reasons, as sentences
    where: str  # "12 km · Kayes", "national", or region names
    fee: str


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


def row_of(hit: NearbyHit, max_reasons: int = 2) -> NearbyRow:
    return NearbyRow(
        service_id=hit.service_id,
        title=hit.service,
        organization=hit.organization,
        verdict=hit.verdict.status,
        verdict_text=_(VERDICTS[hit.verdict.status]),
        reasons=[reason_message(r) for r in hit.verdict.reasons[:max_reasons]],
        where=_where(hit),
        fee=_fee(hit),
    )


class NearbyViewModel:
    """One returnee and the services near the chosen point, best verdict first."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str, limit: int = 50):
        self._db = db
        self._clock = clock
        self._limit = limit
        self.returnee = get_returnee(db, returnee_id)
        self.place_id: str = self.returnee.locality or self._capital()
        self.position: tuple[float, float] | None = None
        self.location_message = ""
        self.pathway: str | None = None
        self.text = ""
        self.free_only = False
        self.eligible_only = False
        self.rows: list[NearbyRow] = []
        self.status = ""
        self.refresh()

    def _capital(self) -> str:
        return region_capital(self._db, self.returnee.region.value) or self.returnee.region.value

    @property
    def name(self) -> str:
        return self.returnee.full_name

    @property
    def summary(self) -> str:
        return person_line(self.returnee, self._clock().date())

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

    def refresh(self) -> None:
        self.returnee = get_returnee(self._db, self.returnee.id)
        filters = Filters(
            pathway=self.pathway, text=self.text or None, free_only=self.free_only, eligible_only=self.eligible_only
        )
        profile = self.returnee.profile(self._clock().date())
        interests = Interests(frozenset(self.returnee.sectors), self.returnee.trade_before)
        hits = nearby(
            self._db, profile, self._near(), filters, today=self._clock().date(), interests=interests, limit=self._limit
        )
        self.rows = [row_of(h) for h in hits]
        eligible = sum(1 for r in self.rows if r.verdict is not Status.NOT_ELIGIBLE)
        if not self.rows:
            self.status = _("No partner found: widen the filters.")
        elif len(self.rows) >= self._limit:
            self.status = _("The first {n} services, best first: use the filters to narrow them down.").format(
                n=len(self.rows)
            )
        else:
            self.status = _("{n} services, {eligible} eligible or eligible if…").format(
                n=len(self.rows), eligible=eligible
            )
