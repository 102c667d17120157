"""State and logic of the directory screen: a search box, a "near" place, and the matching services.

With a clock, statuses are those of its day (a service past its stated end has ended); the search itself reads
only the services it shows (field_app.directory.search), so it runs on every key typed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.directory.places import places
from field_app.directory.search import resolve_place, search
from field_app.errors import NotFound
from field_app.i18n import _, format_km, format_number, ngettext
from field_app.labels import PATHWAYS, label
from field_app.ui.viewmodels.common import Clock


@dataclass(frozen=True)
class ServiceRow:
    """One line of the result list, already in words."""

    service_id: str
    title: str
    subtitle: str
    distance: str | None


@dataclass(frozen=True)
class PlaceOption:
    id: str
    name: str


class DirectoryViewModel:
    """Search the local directory as the user types; everything works offline."""

    def __init__(self, db: sqlite_utils.Database, limit: int = 60, *, clock: Clock | None = None):
        self._db = db
        self._limit = limit
        self._clock = clock
        self.query = ""
        self.place_id: str | None = None
        self.rows: list[ServiceRow] = []
        self.status = ""
        self.refresh()

    def places(self) -> list[PlaceOption]:
        """Region and cercle capitals, for the "near" picker."""
        capitals = places(self._db, kinds=("region_capital", "cercle_capital"), by_kind=False)
        return [PlaceOption(pid, name) for pid, name in capitals]

    def set_query(self, text: str) -> None:
        self.query = text.strip()
        self.refresh()

    def set_place(self, place_id: str | None) -> None:
        self.place_id = place_id or None
        self.refresh()

    def refresh(self) -> None:
        near = None
        if self.place_id:
            try:
                place = resolve_place(self._db, self.place_id)
            except NotFound:
                self.place_id = None
            else:
                near = (place.latitude, place.longitude)
        today = self._clock().date() if self._clock is not None else None
        hits = search(self._db, self.query, near=near, limit=self._limit, today=today)
        self.rows = [
            ServiceRow(
                service_id=h.service_id,
                title=h.service,
                subtitle=" · ".join(
                    filter(
                        None,
                        [
                            h.organization,
                            label(PATHWAYS, h.pathway),
                            h.town,
                            _("national") if h.region == "national" else h.region if h.region != h.town else None,
                        ],
                    )
                ),
                distance=format_km(h.distance_km) if h.distance_km is not None else None,
            )
            for h in hits
        ]
        self.status = (
            _("No service found.")
            if not self.rows
            else ngettext("{n} service", "{n} services", len(self.rows)).format(n=format_number(len(self.rows)))
            if len(self.rows) < self._limit
            else ngettext(
                "First {n} service: refine the search", "First {n} services: refine the search", len(self.rows)
            ).format(n=len(self.rows))
        )
