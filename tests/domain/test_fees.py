"""The "From X F" figure: registration fees only, those asked of this person and this service."""

from __future__ import annotations

import pytest

from field_app.domain.directory import CostOption
from field_app.domain.fees import FeeSummary, applicable_costs, lowest_registration_fee
from field_app.domain.vocabulary import CostKind, CostUnit, Sex


def cost(kind: CostKind, amount: int | None, *, top: int | None = None, sex: Sex | None = None,
         services: list[str] | None = None) -> CostOption:  # fmt: skip
    return CostOption(label=f"{kind} {amount}", kind=kind, amount=amount, amount_max=top, sex=sex,
                      services=services or [], unit=CostUnit.ONCE, text="as the source says")  # fmt: skip


REG, TUITION, STAMP, INFIRMARY = CostKind.REGISTRATION, CostKind.TUITION, CostKind.STAMP, CostKind.INFIRMARY
BY_SEX = [cost(REG, 2500, sex=Sex.M), cost(REG, 1000, sex=Sex.F), cost(TUITION, 40000, top=135000)]

CASES = [
    # (name, costs, service, sex, expected)
    ("no cost stated", [], "x", None, FeeSummary(False, None)),
    ("a stamp is not a registration fee", [cost(STAMP, 200), cost(TUITION, 10000)], "x", None, FeeSummary(False, None)),
    ("registration beside tuition and infirmary", [cost(INFIRMARY, 1250), cost(REG, 25000), cost(TUITION, 55000)],
     "x", None, FeeSummary(False, 25000)),
    ("a man pays the boys' fee", BY_SEX, "x", Sex.M, FeeSummary(False, 2500)),
    ("a woman pays the girls' fee", BY_SEX, "x", Sex.F, FeeSummary(False, 1000)),
    ("sex unknown: the lowest anyone pays", BY_SEX, "x", None, FeeSummary(False, 1000)),
    ("free", [cost(TUITION, 0)], "x", None, FeeSummary(True, 0)),
    ("free registration, paid tuition", [cost(REG, 0), cost(TUITION, 5000)], "x", None, FeeSummary(False, 0)),
    ("a range up from 0 is not free", [cost(TUITION, 0, top=5000)], "x", None, FeeSummary(False, None)),
    ("an unknown amount does not count", [cost(REG, None), cost(TUITION, 0)], "x", None, FeeSummary(True, 0)),
    ("another service's fee is left out", [cost(REG, 10000, services=["literacy"]), cost(REG, 30000, services=["x"])],
     "x", None, FeeSummary(False, 30000)),
    ("the global id works too", [cost(REG, 10000, services=["literacy"])], "org/literacy", None,
     FeeSummary(False, 10000)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "costs", "service", "sex", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lowest_registration_fee(
    name: str, costs: list[CostOption], service: str, sex: Sex | None, expected: FeeSummary
) -> None:
    assert lowest_registration_fee(costs, service_id=service, sex=sex) == expected


def test_applicable_costs_keep_their_order() -> None:
    mine = applicable_costs(BY_SEX, service_id="cap", sex=Sex.F)
    assert [c.amount for c in mine] == [1000, 40000]
