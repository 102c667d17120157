"""Outbox entries as a device sends them (the shapes of field_app/storage/outbox.py), built from the domain models."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from typing import Any

import httpx

from field_app.domain.referrals import EventKind, Referral, ReferralEvent
from field_app.domain.returnees import Returnee

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SERVICES = {
    "kayes": ("anpe-dr-kayes", "anpe-dr-kayes/intermediation-placement"),
    "bamako": ("anpe-dr-bamako", "anpe-dr-bamako/intermediation-placement"),
    "gao": ("anpe-dr-gao", "anpe-dr-gao/intermediation-placement"),
}


def new_id() -> str:
    return str(uuid.uuid4())


def returnee(region: str = "kayes", version: int = 1, **changes: Any) -> Returnee:
    fields: dict[str, Any] = {
        "id": new_id(),
        "given_name": "Awa",
        "family_name": "Keita",
        "sex": "F",
        "age": 27,
        "age_recorded_on": NOW.date(),
        "region": region,
        "consent_keep_on": NOW.date(),
        "created_at": NOW,
        "updated_at": NOW,
        "version": version,
    }
    return Returnee.model_validate(fields | changes)


def returnee_op(person: Returnee, base_version: int | None = None) -> dict[str, Any]:
    return {
        "op_id": new_id(),
        "entity": "returnee",
        "entity_id": person.id,
        "op": "upsert",
        "payload": person.model_dump(mode="json"),
        "base_version": base_version,
    }


def referral(region: str = "kayes", at: dt.datetime = NOW) -> tuple[Referral, ReferralEvent]:
    org, service = SERVICES[region]
    made = Referral(
        id=new_id(),
        returnee_id=new_id(),
        service_id=service,
        organization_id=org,
        region=region,
        consent_share_at=at,
        created_at=at,
    )
    return made, ReferralEvent(id=new_id(), referral_id=made.id, kind=EventKind.CREATED, at=at)


def referral_op(made: Referral, created: ReferralEvent) -> dict[str, Any]:
    return {
        "op_id": new_id(),
        "entity": "referral",
        "entity_id": made.id,
        "op": "create",
        "payload": {"referral": made.model_dump(mode="json"), "events": [created.model_dump(mode="json")]},
    }


def event_op(referral_id: str, kind: str = "revoked", at: dt.datetime = NOW) -> dict[str, Any]:
    event = ReferralEvent(id=new_id(), referral_id=referral_id, kind=EventKind(kind), at=at)
    return {
        "op_id": new_id(),
        "entity": "referral_event",
        "entity_id": event.id,
        "op": "append",
        "payload": event.model_dump(mode="json"),
    }


def push(url: str, headers: dict[str, str], ops: list[dict[str, Any]], *, gzipped: bool = True) -> httpx.Response:
    body = json.dumps({"ops": ops}).encode()
    extra = {"Content-Type": "application/json"}
    if gzipped:
        body = gzip.compress(body)
        extra["Content-Encoding"] = "gzip"
    return httpx.post(f"{url}/api/v1/sync/push", content=body, headers=headers | extra, timeout=30)


def results(response: httpx.Response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(r["result"], r["code"]) for r in response.json()["results"]]


def pull_all(
    url: str, headers: dict[str, str], cursor: int = 0, limit: int = 500, *, full: bool = False
) -> list[dict[str, Any]]:
    """Every change after `cursor`, page by page; checks the cursor moves forward and seqs ascend. `full`: the
    device's own pushed referral rows included (as after a reconcile)."""
    out: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"cursor": cursor, "limit": limit} | ({"full": "true"} if full else {})
        response = httpx.get(f"{url}/api/v1/sync/pull", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seqs = [c["seq"] for c in page["changes"]]
        assert seqs == sorted(seqs) and all(s > cursor for s in seqs)
        out += page["changes"]
        if page["changes"]:
            assert page["next_cursor"] >= seqs[-1] if not page["has_more"] else page["next_cursor"] == seqs[-1]
        if not page["has_more"]:
            return out
        cursor = page["next_cursor"]
