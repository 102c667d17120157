"""HubClient at its boundary, with no hub involved (httpx's MockTransport answers): what goes on the wire (gzip,
bearer token) and how each kind of answer becomes one of our errors. The real-hub behaviour is in test_engine.py."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable

import httpx
import pytest

from field_app.errors import AuthError, SyncError
from field_app.sync.client import HubClient, HubError, HubRefused, HubUnreachable, retry_after_seconds
from field_app.sync.protocol import Op

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, token: str | None = "tok") -> HubClient:
    return HubClient("http://hub.test/", token=token, transport=httpx.MockTransport(handler))


def op() -> Op:
    return Op(op_id=str(uuid.uuid4()), entity="returnee", entity_id="r1", op="upsert", payload={"name": "é" * 50})


def test_push_sends_gzip_json_with_the_bearer_token() -> None:
    seen: list[httpx.Request] = []
    ops = [op(), op()]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.loads(gzip.decompress(request.content))
        return httpx.Response(200, json={"results": [{"op_id": o["op_id"], "result": "applied"} for o in body["ops"]]})

    answer = client(handler).push(ops)
    [request] = seen
    assert request.url.path == "/api/v1/sync/push" and request.method == "POST"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["authorization"] == "Bearer tok"
    sent = json.loads(gzip.decompress(request.content))
    assert [o["op_id"] for o in sent["ops"]] == [o.op_id for o in ops]
    assert len(request.content) < len(json.dumps(sent).encode())  # it is compressed
    assert [r.result for r in answer.results] == ["applied", "applied"]


def test_pull_passes_the_cursor() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["cursor"] == "17" and request.url.params["limit"] == "50"
        return httpx.Response(200, json={"changes": [], "next_cursor": 17, "has_more": False})

    assert client(handler).pull(17, 50).next_cursor == 17


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (503, {"Retry-After": "7"}, HubError, 7.0),
        (500, {}, HubError, None),
        (429, {"Retry-After": "120"}, HubError, 120.0),
        (413, {}, HubRefused, None),
        (422, {}, HubRefused, None),
        (404, {}, HubRefused, None),
    ],
)
def test_error_answers_become_sync_errors(
    status: int, headers: dict[str, str], error: type[HubError], retry_after: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"detail": "no", "code": "some_code"})

    with pytest.raises(error) as caught:
        client(handler).pull(0)
    assert isinstance(caught.value, SyncError)
    assert caught.value.status == status and caught.value.retry_after == retry_after
    assert caught.value.code == "some_code"
    assert caught.value.__cause__ is None  # an answer, not an exception: nothing chained


@pytest.mark.parametrize("status", [401, 403])
def test_refused_tokens_become_auth_errors(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "token revoked", "code": "revoked"})

    with pytest.raises(AuthError, match="token revoked"):
        client(handler).pull(0)


def test_a_refused_enrolment_code_is_an_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"code": "ABCDEFGH", "device_name": None}
        return httpx.Response(404, json={"detail": "unknown code", "code": "bad_code"})

    with pytest.raises(AuthError, match="unknown code"):
        client(handler, token=None).enrol(" ABCDEFGH ")
    with pytest.raises(AuthError):
        client(handler, token=None).enrol("abc")  # too short to be a code: not even sent


def test_an_unreadable_answer_is_a_hub_error_chained_to_its_cause() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>captive portal</html>")

    with pytest.raises(HubError) as caught:
        client(handler).pull(0)
    assert caught.value.__cause__ is not None


def test_a_dropped_connection_is_unreachable_chained_to_httpx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    with pytest.raises(HubUnreachable) as caught:
        client(handler).pull(0)
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)


def test_retry_after_as_an_http_date_reads_against_the_answer_date() -> None:
    response = httpx.Response(
        503, headers={"Retry-After": "Sun, 01 Jun 2025 10:01:30 GMT", "Date": "Sun, 01 Jun 2025 10:00:00 GMT"}
    )
    assert retry_after_seconds(response) == 90.0
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(503)) is None
