"""`HubClient`: the device's HTTP client for the hub (httpx, pure Python: runs on Android).

Speaks the wire models of `field_app.sync.protocol` and turns every failure into one of our errors at the
boundary (`raise … from exc`), so that callers never see httpx or pydantic:
- `HubUnreachable` (a `SyncError`): no connection, a timeout, a link that dropped mid-request — try again later;
- `HubError` (a `SyncError`): the hub answered 5xx or 429 (with its Retry-After, in seconds, when it gave one),
  or an answer that cannot be read;
- `HubRefused` (a `SyncError`): a 4xx for the request as a whole (e.g. 413, 422), with the hub's Problem code;
- `AuthError`: 401/403 — the token is unknown or revoked, or the role may not do this (enrol again).
Push bodies are gzip-compressed JSON (EDGE links are slow; JSON compresses about fourfold).

Timeouts: every call ends, one way or the other, within 15 s of the hub going silent, so that no screen waits
longer than that for an answer that will not come. httpx's read timeout is the longest wait between two pieces
of the answer (not for the whole answer), so 12 s is ample for a 64 kbit/s link with a 600 ms round trip; a
connection gets 10 s (a GPRS/EDGE attach is slow); a write waits up to 30 s for room in a full send buffer (a
slow link, not a dead one: a silent hub is caught by the read). Enrolment is a small call made by a person
waiting at the screen: 8 s each.

Messages are composed once, here: `str(exc)` is a whole sentence ("The hub cannot be reached: nothing answers at
this address (connection refused)."), `exc.reason` its short why (see `field_app.errors`). A library's class
name ("ConnectError") is never shown.
"""

from __future__ import annotations

import email.utils
import gzip
import ipaddress
import json
import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pydantic

from field_app.errors import AuthError, SyncError, reason_of
from field_app.i18n import _, ngettext
from field_app.sync.protocol import (
    API_PREFIX,
    MAX_PULL,
    DeviceReport,
    DirectoryDiffRequest,
    DirectoryDiffResponse,
    EnrolRequest,
    EnrolResponse,
    Info,
    Op,
    OpsDiffRequest,
    OpsDiffResponse,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
)

# connect: a GPRS/EDGE attach can take a while; read: the longest silence between two pieces of an answer.
EDGE_TIMEOUT = httpx.Timeout(connect=10.0, read=12.0, write=30.0, pool=10.0)
ENROL_TIMEOUT = httpx.Timeout(8.0)  # a person is waiting at the enrolment screen
USER_AGENT = "passerelle-device/1"

W = TypeVar("W", bound=pydantic.BaseModel)


class HubError(SyncError):
    """The hub could not do it now: try again later (after `retry_after` seconds when the hub said so)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
        reason: str | None = None,
    ):
        super().__init__(message, reason=reason)
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


def unreachable_reason(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    """Why no answer came, in a person's words: refused, unknown address, no route, silent, cut off."""
    if isinstance(exc, httpx.ConnectTimeout):
        return no_answer_within(timeout.connect)
    if isinstance(exc, httpx.TimeoutException):  # read, write or pool: connected, then silence
        n = _whole(timeout.read)
        return ngettext(
            "the hub did not answer within {n} second", "the hub did not answer within {n} seconds", n
        ).format(n=n)
    if isinstance(exc, httpx.ConnectError):
        cause = _root(exc)
        if isinstance(cause, ConnectionRefusedError):
            return _("nothing answers at this address (connection refused)")
        if isinstance(cause, socket.gaierror):
            return _("this address is unknown (check how it is written)")
        return _("no network path to this address (check this phone's data connection)")
    return _("the connection was cut off")


def _root(exc: BaseException) -> BaseException:
    """The innermost cause (httpx wraps httpcore, which wraps the socket's OSError)."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def no_answer_within(seconds: float | None) -> str:
    n = _whole(seconds)
    return ngettext("nothing answered within {n} second", "nothing answered within {n} seconds", n).format(n=n)


def _whole(seconds: float | None) -> int:
    return round(seconds) if seconds is not None else 0


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
        self._timeout = timeout
        self._name_checked = transport is not None  # a test transport needs no name lookup
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

    def enrol(self, code: str, device_name: str | None = None, *, request_id: str | None = None) -> EnrolResponse:
        """Trade a one-time enrolment code for a device id and token. A refused code → AuthError. `request_id`:
        the same for every attempt with this code (field_app.sync.enrolment), so that the hub recognises a retry
        after a lost answer and gives the same device a fresh token."""
        try:
            request = EnrolRequest(code=code.strip(), device_name=device_name, request_id=request_id)
            body = request.model_dump(mode="json", exclude={"request_id"} if request_id is None else None)
        except pydantic.ValidationError as exc:
            raise AuthError(_("this enrolment code is not valid")) from exc
        try:
            return self._call("POST", "/devices/enrol", EnrolResponse, json=body, timeout=ENROL_TIMEOUT)
        except HubRefused as exc:  # 404 / 410 / 422 for a code: to the agent, all "refused"
            raise AuthError(
                _("The hub refused the enrolment code: {reason}.").format(reason=exc.reason), reason=exc.reason
            ) from exc

    def push(self, ops: Sequence[Op]) -> PushResponse:
        """Send one batch (gzip); the hub answers each op: applied, duplicate or rejected (+ code, reason)."""
        body = gzip_json(PushRequest(ops=list(ops)).model_dump(mode="json"))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return self._call("POST", "/sync/push", PushResponse, content=body, headers=headers)

    def pull(self, cursor: int, limit: int = MAX_PULL, *, check: str | None = None, full: bool = False) -> PullResponse:
        """Changes after `cursor` in this device's scope, oldest first, at most `limit`. `check`: an op id this
        device holds as done (the answer's `missing` names it when the hub lacks it: a restored hub); `full`:
        also the referral changes this device's own push answers carried (after a reconcile)."""
        params: dict[str, str | int] = {"cursor": cursor, "limit": limit}
        if check is not None:
            params["check"] = check
        if full:
            params["full"] = "true"
        return self._call("GET", "/sync/pull", PullResponse, params=params)

    def ops_diff(self, op_ids: Sequence[str]) -> OpsDiffResponse:
        """`POST /sync/ops/diff`: of these op ids (at most MAX_DIFF), those the hub lacks, and the hub's state."""
        body = OpsDiffRequest(op_ids=list(op_ids)).model_dump(mode="json")
        return self._call("POST", "/sync/ops/diff", OpsDiffResponse, json=body)

    def directory_diff(self, request: DirectoryDiffRequest) -> DirectoryDiffResponse:
        """`POST /sync/directory/diff`: what to change for this device's directory to be the hub's (plain JSON;
        made only when the directory versions differ)."""
        body = request.model_dump(mode="json")
        return self._call("POST", "/sync/directory/diff", DirectoryDiffResponse, json=body)

    def report(self, report: DeviceReport) -> None:
        """`POST /devices/report`: this device's counts at the end of a sync. A hub without the endpoint answers
        404 (HubRefused): callers decide whether that matters."""
        self._send("POST", "/devices/report", json=report.model_dump(mode="json"))

    # --- one request, errors converted ----------------------------------------------------------------------

    def _look_up_name(self, timeout: httpx.Timeout) -> None:
        """Look the hub's name up once, within the connect timeout: httpx's timeouts do not cover the name
        lookup, which can hang for half a minute on a phone with no data link."""
        host = urlsplit(self.base_url).hostname or ""
        try:
            ipaddress.ip_address(host)
            self._name_checked = True
            return
        except ValueError:
            pass
        outcome: list[BaseException | None] = []

        def look_up() -> None:
            try:
                socket.getaddrinfo(host, None)
                outcome.append(None)
            except OSError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=look_up, name="hub-name-lookup", daemon=True)
        worker.start()
        worker.join(timeout.connect)
        if not outcome:
            why = no_answer_within(timeout.connect)
            raise HubUnreachable(_("The hub cannot be reached: {reason}.").format(reason=why), reason=why)
        if isinstance(outcome[0], socket.gaierror):
            why = _("this address is unknown (check how it is written)")
            raise HubUnreachable(_("The hub cannot be reached: {reason}.").format(reason=why), reason=why)
        self._name_checked = True  # any other failure: let the connection say what is wrong

    def _call(self, method: str, path: str, model: type[W], **kwargs: Any) -> W:
        response = self._send(method, path, **kwargs)
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            why = _("its answer could not be read")
            raise HubError(
                _("Talking to the hub failed: {reason}.").format(reason=why), status=response.status_code, reason=why
            ) from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{API_PREFIX}{path}"
        timeout = kwargs.get("timeout", self._timeout)
        if not self._name_checked:
            self._look_up_name(timeout if isinstance(timeout, httpx.Timeout) else self._timeout)
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # connect, timeout, dropped link, bad framing
            why = unreachable_reason(exc, timeout if isinstance(timeout, httpx.Timeout) else self._timeout)
            raise HubUnreachable(_("The hub cannot be reached: {reason}.").format(reason=why), reason=why) from exc
        except httpx.HTTPError as exc:
            why = reason_of(exc)
            raise HubError(_("Talking to the hub failed: {reason}.").format(reason=why), reason=why) from exc
        status = response.status_code
        if status in (401, 403):
            problem = _problem(response)
            why = problem.detail if problem else response.reason_phrase
            raise AuthError(
                _("The hub refused this device ({status}): {reason}.").format(status=status, reason=why), reason=why
            )
        if status == 429 or status >= 500:
            problem = _problem(response)
            why = _("it is busy or down ({status})").format(status=status)
            raise HubError(
                _("The hub is not available now: {reason}.").format(reason=why),
                status=status,
                retry_after=retry_after_seconds(response),
                code=problem.code if problem else None,
                reason=why,
            )
        if status >= 400:
            problem = _problem(response)
            why = problem.detail if problem else response.reason_phrase
            raise HubRefused(
                _("The hub refused the request ({status}): {reason}.").format(status=status, reason=why),
                status=status,
                code=problem.code if problem else f"http_{status}",
                reason=why,
            )
        return response
