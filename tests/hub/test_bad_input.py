"""Bad input, on SQLite and PostgreSQL: every case is a 4xx (or a per-op rejection) with a Problem body, and the
hub's tables are exactly the same afterwards (compared row by row)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from field_app.sync.protocol import MAX_BODY_BYTES, MAX_INFLATED_BYTES
from tests.hub.conftest import Device, HubProcess
from tests.hub.ops import event_op, new_id, push, referral, referral_op, returnee, returnee_op


@dataclass(frozen=True)
class Actors:
    agent: Device
    office: Device
    supervisor: Device
    applied_op: dict[str, Any]  # already on the hub
    referral_id: str


@pytest.fixture(scope="session")
def actors(hub: HubProcess) -> Actors:
    agent = hub.enrol("agent", "kayes")
    made = referral("kayes")
    op = referral_op(*made)
    assert push(hub.url, agent.headers, [op]).json()["results"][0]["result"] == "applied"
    return Actors(agent, hub.enrol("office", "kayes"), hub.token("supervisor"), op, made[0].id)


Call = Callable[[HubProcess, Actors], httpx.Response]


def raw_push(
    body: bytes | Callable[[], Iterator[bytes]], *, gzipped: bool = False, encoding: str | None = None
) -> Call:
    def call(hub: HubProcess, who: Actors) -> httpx.Response:
        headers = who.agent.headers | {"Content-Type": "application/json"}
        if gzipped or encoding:
            headers["Content-Encoding"] = encoding or "gzip"
        content = body if isinstance(body, bytes) else body()  # a fresh iterator each time: sent chunked
        return httpx.post(f"{hub.url}/api/v1/sync/push", content=content, headers=headers, timeout=60)

    return call


def ops_push(make: Callable[[Actors], list[dict[str, Any]]]) -> Call:
    return lambda hub, who: push(hub.url, who.agent.headers, make(who))


def with_token(method: str, path: str, token: Callable[[Actors], str | None], **kwargs: Any) -> Call:
    as_json = kwargs.pop("headers_json", False)

    def call(hub: HubProcess, who: Actors) -> httpx.Response:
        value = token(who)
        headers = {} if value is None else {"Authorization": value}
        if as_json:
            headers["Content-Type"] = "application/json"
        url = hub.url + path.format(referral=who.referral_id)
        return httpx.request(method, url, headers=headers, timeout=30, **kwargs)

    return call


def bearer(device: str) -> Callable[[Actors], str]:
    return lambda who: f"Bearer {getattr(who, device).token}"


def _good_ops(who: Actors) -> list[dict[str, Any]]:
    return [referral_op(*referral())]


def _with(original: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**original, **changes}


def _bad_referral(who: Actors) -> list[dict[str, Any]]:
    op = referral_op(*referral())
    del op["payload"]["referral"]["service_id"]
    return [op]


def _bad_region(who: Actors) -> list[dict[str, Any]]:
    op = referral_op(*referral())
    op["payload"]["referral"]["region"] = "paris"
    return [op]


def _replayed(who: Actors) -> list[dict[str, Any]]:
    changed = json.loads(json.dumps(who.applied_op))
    changed["payload"]["referral"]["note"] = "another payload"
    return [changed]


def _returnee_wrong_types(who: Actors) -> list[dict[str, Any]]:
    op = returnee_op(returnee())
    op["payload"]["age"] = "twenty"
    return [op]


def _nul_note(who: Actors) -> list[dict[str, Any]]:
    op = referral_op(*referral())
    op["payload"]["referral"]["note"] = "RDV\x00lundi"
    return [op]


GZIP_BOMB = gzip.compress(b"[" + b" " * (MAX_INFLATED_BYTES + 10) + b"]", compresslevel=9)
NO_TOKEN: Callable[[Actors], str | None] = lambda who: None  # noqa: E731

# (name, call, status, code, per-op rejection code or None)
CASES: list[tuple[str, Call, int, str, str | None]] = [
    ("malformed JSON", raw_push(b'{"ops": [}'), 400, "malformed_json", None),
    ("malformed JSON in gzip", raw_push(gzip.compress(b'{"ops": '), gzipped=True), 400, "malformed_json", None),
    ("not UTF-8", raw_push(b'{"ops": "\xff"}'), 400, "malformed_json", None),
    ("ops not a list", raw_push(b'{"ops": {"op_id": 1}}'), 422, "invalid_request", None),
    ("empty batch", raw_push(b'{"ops": []}'), 422, "invalid_request", None),
    ("unknown top-level field", raw_push(b'{"ops": [], "extra": 1}'), 422, "invalid_request", None),
    ("op id not a UUID", ops_push(lambda w: [_with(_good_ops(w)[0], op_id="op-1")]), 422, "invalid_request", None),
    ("unknown entity", ops_push(lambda w: [_with(_good_ops(w)[0], entity="payment")]), 422, "invalid_request", None),
    ("payload not an object", ops_push(lambda w: [_with(_good_ops(w)[0], payload=[1])]), 422, "invalid_request", None),
    ("a good op in a batch with a bad one", ops_push(lambda w: [*_good_ops(w), {"op_id": new_id()}]), 422,
     "invalid_request", None),
    ("over the body limit", raw_push(b" " * (MAX_BODY_BYTES + 1)), 413, "too_large", None),
    ("over the body limit, chunked", raw_push(lambda: iter([b" " * 500_000] * 5)), 413, "too_large", None),
    ("gzip inflating over the limit", raw_push(GZIP_BOMB, gzipped=True), 413, "too_large", None),
    ("not gzip", raw_push(b'{"ops": []}', gzipped=True), 400, "bad_gzip", None),
    ("truncated gzip", raw_push(gzip.compress(json.dumps({"ops": []}).encode())[:-6], gzipped=True), 400,
     "bad_gzip", None),
    ("unknown encoding", raw_push(b"{}", encoding="br"), 415, "unsupported_encoding", None),
    ("no token", with_token("GET", "/api/v1/sync/pull", NO_TOKEN), 401, "missing_token", None),
    ("unknown token", with_token("GET", "/api/v1/sync/pull", lambda w: "Bearer nope"), 401, "bad_token", None),
    ("not a bearer token", with_token("GET", "/api/v1/sync/pull", lambda w: "Basic dTpw"), 401, "bad_token", None),
    ("push without a token", with_token("POST", "/api/v1/sync/push", NO_TOKEN, json={"ops": []}), 401,
     "missing_token", None),
    ("agent on the read API", with_token("GET", "/api/v1/referrals", bearer("agent")), 403, "forbidden", None),
    ("agent moving a referral", with_token("POST", "/api/v1/referrals/{referral}/events", bearer("agent"),
     json={"kind": "accepted"}), 403, "forbidden", None),
    ("office editing the directory", with_token("DELETE", "/api/v1/directory/organizations/anpe-dr-kayes",
     bearer("office")), 403, "forbidden", None),
    ("unknown referral", with_token("GET", f"/api/v1/referrals/{new_id()}", bearer("supervisor")), 404,
     "not_found", None),
    ("event for an unknown referral", with_token("POST", f"/api/v1/referrals/{new_id()}/events", bearer("office"),
     json={"kind": "accepted"}), 404, "not_found", None),
    ("unknown organisation", with_token("DELETE", "/api/v1/directory/organizations/nobody", bearer("supervisor")),
     404, "not_found", None),
    ("event kind a device makes", with_token("POST", "/api/v1/referrals/{referral}/events", bearer("office"),
     json={"kind": "created"}), 403, "forbidden", None),  # the rules: no device sends `created` (push: forbidden)
    ("event with wrong types", with_token("POST", "/api/v1/referrals/{referral}/events", bearer("office"),
     json={"kind": "accepted", "at": "soon"}), 422, "invalid_request", None),
    ("event malformed JSON", with_token("POST", "/api/v1/referrals/{referral}/events", bearer("office"),
     content=b'{"kind": ', headers_json=True), 400, "malformed_json", None),
    ("read API bad filter", with_token("GET", "/api/v1/referrals?status=lost", bearer("supervisor")), 422,
     "invalid_request", None),
    ("read API bad cursor", with_token("GET", "/api/v1/referrals?cursor=not-ours", bearer("supervisor")), 422,
     "invalid_request", None),
    ("pull negative cursor", with_token("GET", "/api/v1/sync/pull?cursor=-1", bearer("agent")), 422,
     "invalid_request", None),
    ("pull limit not a number", with_token("GET", "/api/v1/sync/pull?limit=all", bearer("agent")), 422,
     "invalid_request", None),
    ("directory body not an object", with_token("PUT", "/api/v1/directory/organizations/x", bearer("supervisor"),
     json=["x"]), 422, "invalid_request", None),
    ("enrol malformed JSON", with_token("POST", "/api/v1/devices/enrol", NO_TOKEN, content=b"{",
     headers_json=True), 400, "malformed_json", None),
    ("enrol wrong types", with_token("POST", "/api/v1/devices/enrol", NO_TOKEN, json={"code": 123456}), 422,
     "invalid_request", None),
    ("enrol unknown code", with_token("POST", "/api/v1/devices/enrol", NO_TOKEN, json={"code": "AAAA-BBBB-CCCC"}),
     401, "bad_code", None),
    ("NUL in a device name", with_token("POST", "/api/v1/devices/enrol", NO_TOKEN,
     json={"code": "AAAA-BBBB-CCCC", "device_name": "tab\x00"}), 422, "invalid_request", None),
    ("referral id not a UUID", with_token("GET", "/api/v1/referrals/abc%00", bearer("supervisor")), 422,
     "invalid_request", None),
    ("device filter not a UUID", with_token("GET", "/api/v1/referrals?device=x%00", bearer("supervisor")), 422,
     "invalid_request", None),
    ("organisation id not a slug", with_token("DELETE", "/api/v1/directory/organizations/A%00",
     bearer("supervisor")), 422, "invalid_request", None),
    ("unknown path", with_token("GET", "/api/v1/nothing", NO_TOKEN), 404, "not_found", None),
    # per-op answers in a 200: the op is refused, the batch is answered, nothing is written
    ("replayed op id, other payload", ops_push(_replayed), 200, "", "op_id_reused"),
    ("referral missing a field", ops_push(_bad_referral), 200, "", "invalid_payload"),
    ("referral in an unknown region", ops_push(_bad_region), 200, "", "invalid_payload"),
    ("returnee with wrong types", ops_push(_returnee_wrong_types), 200, "", "invalid_payload"),
    ("event for a referral the hub lacks", ops_push(lambda w: [event_op(new_id())]), 200, "", "unknown_entity"),
    ("agent sending an office event", ops_push(lambda w: [event_op(w.referral_id, "accepted")]), 200, "",
     "forbidden"),
    ("NUL in an op", ops_push(lambda w: [_with(_good_ops(w)[0], entity_id="a\x00b")]), 200, "", "invalid_payload"),
    ("NUL in a payload", ops_push(_nul_note), 200, "", "invalid_payload"),
    ("op kind that does not fit", ops_push(lambda w: [_with(_good_ops(w)[0], op="append")]), 200, "",
     "invalid_payload"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "status", "code", "op_code"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_writes_nothing(
    hub: HubProcess, actors: Actors, name: str, call: Call, status: int, code: str, op_code: str | None
) -> None:
    before = hub.dump()
    response = call(hub, actors)
    assert response.status_code == status, response.text
    body = response.json()
    if op_code is None:
        assert body["code"] == code and body["detail"], body
        assert set(body) <= {"detail", "code", "field"}
    else:
        (answer,) = body["results"]
        assert (answer["result"], answer["code"]) == ("rejected", op_code) and answer["reason"]
    assert hub.dump() == before
