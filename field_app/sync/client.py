"""`HubClient`: the device's HTTP client for the hub (httpx, pure Python: runs on Android).

Speaks the wire models of `field_app.sync.protocol` and turns every failure into one of our errors at the
boundary (`raise … from exc`), so that callers never see httpx or pydantic:
- `HubUnreachable` (a `SyncError`): no connection, a timeout, a link that dropped mid-request — try again later;
- `HubError` (a `SyncError`): the hub answered 5xx or 429 (with its Retry-After, in seconds, when it gave one),
  or an answer that cannot be read;
- `HubRefused` (a `SyncError`): a 4xx for the request as a whole (e.g. 413, 422), with the hub's Problem code;
- `AuthError`: 401/403 — the token is unknown or revoked, or the role may not do this (enrol again).
Push bodies are gzip-compressed JSON (EDGE links are slow; JSON compresses about fourfold). Timeouts are long
enough for a 64 kbit/s link with a 600 ms round trip, short enough that a dead link is noticed within a minute.
"""

from __future__ import annotations

import email.utils
import gzip
import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pydantic

from field_app.errors import AuthError, SyncError
from field_app.i18n import _
from field_app.sync.protocol import (
    API_PREFIX,
    MAX_PULL,
    DeviceReport,
    EnrolRequest,
    EnrolResponse,
    Info,
    Op,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
)

# connect: a GPRS/EDGE attach can take a while; read/write: a 200-op batch at 64 kbit/s is a few seconds.
EDGE_TIMEOUT = httpx.Timeout(connect=20.0, read=60.0, write=60.0, pool=20.0)
USER_AGENT = "passerelle-device/1"

W = TypeVar("W", bound=pydantic.BaseModel)


class HubError(SyncError):
    """The hub could not do it now: try again later (after `retry_after` seconds when the hub said so)."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.code = code


class HubUnreachable(HubError):
    """No answer at all: no data link, the hub is down, or the connection dropped mid-way (the device is offline)."""


class HubRefused(HubError):
    """A 4xx for the whole request (not 401/403): sending the same thing again would get the same answer."""


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds: a number, or an HTTP date read against the response's own Date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        sent = email.utils.parsedate_to_datetime(response.headers["date"]) if "date" in response.headers else None
    except (TypeError, ValueError, IndexError):
        return None
    if sent is None or when.tzinfo is None or sent.tzinfo is None:
        return None
    return max(0.0, (when - sent).total_seconds())


def _problem(response: httpx.Response) -> Problem | None:
    try:
        return Problem.model_validate(response.json())
    except (ValueError, pydantic.ValidationError):
        return None


def gzip_json(value: Any) -> bytes:
    """A JSON body, compressed (what push sends with `Content-Encoding: gzip`)."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


class HubClient:
    """A connection to one hub. `token` is the device's bearer token (None before enrolment).

    `transport` is for tests that need no hub at all (an `httpx.MockTransport`); everything else talks to a
    real hub. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = EDGE_TIMEOUT,
    ):
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> HubClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the protocol -------------------------------------------------------------------------------------

    def info(self) -> Info:
        return self._call("GET", "/info", Info)

    def enrol(self, code: str, device_name: str | None = None) -> EnrolResponse:
        """Trade a one-time enrolment code for a device id and token. A refused code → AuthError."""
        try:
            body = EnrolRequest(code=code.strip(), device_name=device_name).model_dump(mode="json")
        except pydantic.ValidationError as exc:
            raise AuthError(_("this enrolment code is not valid")) from exc
        try:
            return self._call("POST", "/devices/enrol", EnrolResponse, json=body)
        except HubRefused as exc:  # 404 / 410 / 422 for a code: to the agent, all "refused"
            raise AuthError(_("the hub refused the enrolment code: {reason}").format(reason=exc)) from exc

    def push(self, ops: Sequence[Op]) -> PushResponse:
        """Send one batch (gzip); the hub answers each op: applied, duplicate or rejected (+ code, reason)."""
        body = gzip_json(PushRequest(ops=list(ops)).model_dump(mode="json"))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._call("POST", "/sync/push", PushResponse, content=body, headers=headers)

    def pull(self, cursor: int, limit: int = MAX_PULL) -> PullResponse:
        """Changes after `cursor` in this device's scope, oldest first, at most `limit`."""
        return self._call("GET", "/sync/pull", PullResponse, params={"cursor": cursor, "limit": limit})

    def report(self, report: DeviceReport) -> None:
        """`POST /devices/report`: this device's counts at the end of a sync. A hub without the endpoint answers
        404 (HubRefused): callers decide whether that matters."""
        self._send("POST", "/devices/report", json=report.model_dump(mode="json"))

    # --- one request, errors converted ----------------------------------------------------------------------

    def _call(self, method: str, path: str, model: type[W], **kwargs: Any) -> W:
        response = self._send(method, path, **kwargs)
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise HubError(_("the hub's answer could not be read"), status=response.status_code) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{API_PREFIX}{path}"
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # connect, timeout, dropped link, bad framing
            raise HubUnreachable(_("the hub cannot be reached ({reason})").format(reason=type(exc).__name__)) from exc
        except httpx.HTTPError as exc:
            raise HubError(_("talking to the hub failed: {reason}").format(reason=exc)) from exc
        status = response.status_code
        if status in (401, 403):
            problem = _problem(response)
            detail = problem.detail if problem else response.reason_phrase
            raise AuthError(_("the hub refused this device ({status}): {reason}").format(status=status, reason=detail))
        if status == 429 or status >= 500:
            problem = _problem(response)
            raise HubError(
                _("the hub is not available now ({status})").format(status=status),
                status=status,
                retry_after=retry_after_seconds(response),
                code=problem.code if problem else None,
            )
        if status >= 400:
            problem = _problem(response)
            raise HubRefused(
                _("the hub refused the request ({status}): {reason}").format(
                    status=status, reason=problem.detail if problem else response.reason_phrase
                ),
                status=status,
                code=problem.code if problem else f"http_{status}",
            )
        return response
