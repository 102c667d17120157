"""What joining a service costs a given person: the "From X F" figure and whether it is free. Pure.

A service's costs mix kinds — a registration fee, a year's tuition, a 200 F stamp, an infirmary fee, board —
so the lowest of all of them says nothing ("From 200 F" for a 10,000 F training). The figure compares
**registration fees only**, and only those asked of this person (CFP Kayes charges boys 2,500 F and girls
1,000 F: a man is told 2,500). A service is free when every fee it states for the person is 0 FCFA.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from field_app.domain.directory import CostOption
from field_app.domain.vocabulary import CostKind, Sex


@dataclass(frozen=True)
class FeeSummary:
    """`free`: every fee stated for the person is 0 (and at least one is stated); `lowest`: the lowest
    registration fee asked of them in FCFA, or None when the source states none."""

    free: bool
    lowest: int | None


def applicable_costs(costs: Sequence[CostOption], *, service_id: str, sex: Sex | None) -> list[CostOption]:
    """The costs asked of a person of `sex` for the service `service_id` (its own id or the global
    `organisation/service` id): a cost scoped to other services, or to the other sex, is left out."""
    local = service_id.rsplit("/", 1)[-1]
    return [c for c in costs if (not c.services or local in c.services) and c.applies_to(sex)]


def lowest_registration_fee(costs: Sequence[CostOption], *, service_id: str, sex: Sex | None) -> FeeSummary:
    """The "From X F" summary of `costs` for one service and one person (`sex` None: not known, every fee
    counts, so the figure is the lowest anyone pays)."""
    mine = applicable_costs(costs, service_id=service_id, sex=sex)
    stated = [c for c in mine if c.amount is not None]
    free = bool(stated) and all((c.amount_max or c.amount or 0) == 0 for c in stated)
    registration = [c.amount for c in stated if c.kind is CostKind.REGISTRATION and c.amount is not None]
    return FeeSummary(free=free, lowest=min(registration) if registration else (0 if free else None))
