"""No 5xx on any input, and every answer as the OpenAPI says (issue 10, item 5): schemathesis generates requests
from the hub's own /openapi.json — valid ones (positive) and ones that break the schema (negative) — for every
operation, and sends them to a real hub process, on SQLite and on PostgreSQL.

Every case is authenticated with the token of a device of one of the roles (an agent, a Kayes office, a
supervisor), so the checks go past the 401; path parameters naming a referral are, in part of the valid cases,
referrals the hub holds, and some enrolment bodies carry a real code, so that the success answers are checked too.
A case fails on a 5xx, a status the route does not document, a body or a content type or a header that is not the
documented one. Each backend runs at least MIN_CASES cases (derandomized: the same cases on every run); every
failure is reported with the request to reproduce it, then the test fails.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hub.conftest import HubProcess
from tests.hub.ops import push, referral, referral_op, results

EXAMPLES = 45  # per operation and mode: ~20 operations × 2 modes × 45 ≈ 1,700 cases a backend
MIN_CASES = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def known(hub: HubProcess) -> dict[str, Any]:
    """Tokens of every role and referrals the hub holds (made by the agent)."""
    agent, office, boss = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes"), hub.enrol("supervisor", None)
    made = [referral("kayes") for _ in range(4)]
    assert results(push(hub.url, agent.headers, [referral_op(*m) for m in made])) == [("applied", None)] * 4
    return {"tokens": [agent.token, office.token, boss.token], "referrals": [m.id for m, _created in made]}


def operations(hub: HubProcess) -> Iterator[Any]:
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json")
    for result in schema.get_all_operations():
        yield result.ok()


@dataclass
class Tally:
    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    failures: dict[tuple[str, str], list[str]] = field(default_factory=lambda: collections.defaultdict(list))


def fuzz(hub: HubProcess, known: dict[str, Any], operation: Any, mode: GenerationMode, tally: Tally) -> None:
    """EXAMPLES generated requests to one operation, each checked; failures go to the tally, not up."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        token=st.sampled_from(known["tokens"]),
        held=st.sampled_from([None, *known["referrals"]]),
        code=st.booleans(),
    )
    def run(case: Any, token: str, held: str | None, code: bool) -> None:
        if mode is GenerationMode.POSITIVE and held and "referral_id" in (case.path_parameters or {}):
            case.path_parameters["referral_id"] = held
        enrolling = case.path.endswith("/devices/enrol") and isinstance(case.body, dict)
        if mode is GenerationMode.POSITIVE and code and enrolling:
            case.body = {**case.body, "code": hub.code("agent", "kayes")}
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**headers, "Authorization": f"Bearer {token}"}
        response = case.call(base_url=hub.url, timeout=60)
        tally.cases[operation.label] += 1
        tally.statuses[(operation.label, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # schemathesis' FailureGroup: keep going, report them all at the end
            key = (operation.label, f"{type(exc).__name__}: {str(exc)[:400]}")
            if len(tally.failures[key]) < 3:
                tally.failures[key].append(
                    f"{mode.value}: {case.method} {case.formatted_path} query={case.query!r} "
                    f"body={str(case.body)[:300]} → {response.status_code} {response.text[:300]}"
                )

    try:
        run()
    except Unsatisfiable:  # an operation without parameters has no invalid request to make
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_input_gets_a_5xx_or_an_undocumented_answer(hub: HubProcess, known: dict[str, Any]) -> None:
    tally = Tally()
    for operation in operations(hub):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(hub, known, operation, mode, tally)
    total = sum(tally.cases.values())
    print(f"schemathesis on {hub.backend}: {total} cases over {len(tally.cases)} operations")
    for (label, status), n in sorted(tally.statuses.items()):
        print(f"  {label} → {status}: {n}")
    report = "\n".join(f"{label}: {what}\n    " + "\n    ".join(seen) for (label, what), seen in tally.failures.items())
    assert not tally.failures, f"{len(tally.failures)} distinct failures on {hub.backend}:\n{report}"
    assert total >= MIN_CASES, f"only {total} cases on {hub.backend}"
    assert not [s for (_label, s) in tally.statuses if s >= 500]
