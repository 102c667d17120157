"""The hub's HTTP API (FastAPI). Every answer that is not a success is a `Problem` body {detail, code, field}.

Endpoints (prefix /api/v1): GET info; POST devices/enrol; POST sync/push (gzip or plain JSON); GET sync/pull
(`cursor`, `limit`, `check`, `full`; answers the hub's `state` and `missing`); GET referrals (supervisors, and
offices for their region), GET referrals/{id}, POST referrals/{id}/events (who may send which kind: `hub/rules.py`,
the same rules as a pushed event); PUT/DELETE directory/organizations/{id} (supervisors); POST sync/ops/diff and
sync/directory/diff (hub/trust_api.py, hub/directory_sync.py). OpenAPI at /openapi.json and the interactive page at
/docs (it loads its script from a CDN, so it does not render offline; /openapi.json always works). Every route
documents the statuses it may answer (`_REFUSALS` for all, `_answers(...)` per route): tests/hub/test_schemathesis.py
holds the hub to it.

Bad input is a 4xx and writes nothing: 400 malformed JSON or gzip (nested too deep, an integer of thousands of
digits, not UTF-8), 401 missing/unknown/revoked token or enrolment code, 403 wrong role, 404 unknown referral or
organisation — and a referral the caller may not see, for reads and writes alike (never "it exists"), 409 an
event id reused with other content, 413 a body over MAX_BODY_BYTES on the wire or MAX_INFLATED_BYTES once
inflated, 415 an unknown content encoding, 422 wrong types or values (numbers for dates, integers out of range:
cursors stop at 2^63 - 1, NUL characters, lone surrogates). An unreachable database is 503 with Retry-After;
anything else unforeseen is a 500 with the same Problem body (`CatchAll`; its log line has no request data).
Within a push, each op has its own answer (see hub/push.py): a replayed op id with another payload is that op
`rejected` (`op_id_reused`) in a 200. Messages quote at most `errors.clip` of the input.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
import zlib
from collections.abc import Callable
from typing import Annotated, Any

import pydantic
from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from field_app.domain.directory import SLUG
from field_app.domain.moments import Moment
from field_app.domain.referrals import UUID, ReferralStatus
from field_app.errors import AuthError, ValidationError, clip
from field_app.hub import auth, directory, push, referrals, rules, service
from field_app.hub.auth import Caller
from field_app.hub.db import HubDB, HubUnavailable, stamp
from field_app.sync.protocol import (
    API_PREFIX,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    MAX_PULL,
    PROTOCOL_VERSION,
    AccessRecord,
    DeviceInfo,
    DeviceReport,
    DirectoryEdit,
    EnrolRequest,
    EnrolResponse,
    Info,
    OfficeEvent,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
    ReferralItem,
    ReferralPage,
)

RETRY_AFTER_SECONDS = 5
CAPABILITIES = [
    "gzip", "push", "pull", "referrals", "office-events", "directory", "device-report", "access-log", "directory-edits"
]  # fmt: skip
MAX_CURSOR = 2**63 - 1  # positions are 64-bit on both engines: a larger cursor is a 422, never an overflow
# Every route may answer these (the body limit, validation, an unexpected error, the database down)...
_REFUSALS = {
    400: "Malformed JSON or gzip, or a bad Content-Length",
    413: "Body over the limit",
    422: "Wrong types or values",
    500: "Unexpected error on the hub (nothing was written): the same Problem body",
    503: "Database unavailable: retry after Retry-After seconds",
}
# ... and each route lists which of these it may answer too (`_answers`), so that the OpenAPI says what is true.
_ROUTE_REFUSALS = {
    401: "Missing, unknown or revoked token (or, on enrolment, code)",
    403: "Not for this role",
    404: "No such record, or not one the caller may see",
    409: "The id is already used for other content",
    415: "Content encoding other than gzip",
}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_log = logging.getLogger("field_app.hub")


def _answers(*statuses: int, ok: dict[int | str, dict[str, Any]] | None = None) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: its other successes (`ok`) and the refusals it may answer besides _REFUSALS."""
    answers: dict[int | str, dict[str, Any]] = dict(ok or {})
    answers.update({status: {"model": Problem, "description": _ROUTE_REFUSALS[status]} for status in statuses})
    return answers


class AccessPage(pydantic.BaseModel):
    items: list[AccessRecord]


class ApiError(HTTPException):
    """A refusal with a stable code (and the field at fault when known)."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None):
        super().__init__(status_code=status, detail=detail)
        self.code = code
        self.field = field


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _problem(status: int, detail: str, code: str, field: str | None = None, **headers: str) -> JSONResponse:
    body = Problem(detail=detail, code=code, field=field).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers or None)


class CatchAll:
    """The outermost layer: an error no handler answered becomes a 500 with the Problem body (the transaction
    was rolled back). The log line names the route, the error's type and where it was raised — never its
    message, which may quote a request's data."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            _log.error(
                "unexpected %s at %s on %s %s", type(exc).__name__, where, scope.get("method"), scope.get("path")
            )
            if not started:
                detail = "unexpected error on the hub: nothing was written; try again later"
                await _problem(500, detail, "internal_error")(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over `limit` bytes (413), by Content-Length up front and by counting while reading."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _problem(400, "bad Content-Length", "bad_request")(scope, receive, send)
                return
            if int(declared) > self.limit:
                await self._too_large()(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise ApiError(413, "too_large", self._detail())
            return message

        await self.app(scope, counted, send)

    def _detail(self) -> str:
        return f"request body over {self.limit} bytes"

    def _too_large(self) -> JSONResponse:
        return _problem(413, self._detail(), "too_large")


def inflate(body: bytes, encoding: str | None) -> bytes:
    """The request body, gunzipped when sent with Content-Encoding: gzip (at most MAX_INFLATED_BYTES)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding != "gzip":
        raise ApiError(415, "unsupported_encoding", f"content encoding {encoding!r} is not supported (use gzip)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except zlib.error as exc:
        raise ApiError(400, "bad_gzip", f"the body is not valid gzip: {exc}") from exc
    if len(out) > MAX_INFLATED_BYTES:
        raise ApiError(413, "too_large", f"inflated body over {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ApiError(400, "bad_gzip", "the gzip body is truncated or followed by other data")
    return out


ReferralId = Annotated[str, Path(pattern=UUID)]
DeviceId = Annotated[str, Path(pattern=UUID)]
OrgId = Annotated[str, Path(pattern=SLUG, max_length=80)]


def _refuse_nul(value: Any) -> None:
    """NUL characters and lone surrogates are refused (422) before anything is written (`rules.bad_text_at`)."""
    found = rules.bad_text_at(value)
    if found is not None:
        where = found.rsplit(": ", 1)[0]
        raise ApiError(422, "invalid_request", found, None if where == "(body)" else where)


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """The field at fault, from pydantic's location (a key of the input: clipped, as anything quoted from it)."""
    parts = [clip(p, 40) for p in loc if p not in ("body", "query", "path", "header")]
    return clip(".".join(parts), 120) or None


def _validation_problem(errors: list[Any]) -> JSONResponse:
    first = errors[0]
    if first.get("type") == "json_invalid":
        return _problem(400, "malformed JSON", "malformed_json")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = _field(first.get("loc", ()))
    words = clip(first.get("msg", "invalid"), 200)
    return _problem(422, f"{field or 'body'}: {words}{more}", "invalid_request", field)


def _db(request: Request) -> HubDB:
    db: HubDB = request.app.state.db
    return db


def authenticated(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """The caller behind the bearer token (401 when missing, unknown or revoked)."""
    if not authorization:
        raise ApiError(401, "missing_token", "an Authorization: Bearer <token> header is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "bad_token", "use Authorization: Bearer <token>")
    try:
        with _db(request).transaction(readonly=True) as tx:
            return auth.authenticate(tx, token.strip())
    except auth.Revoked as exc:
        raise ApiError(401, "revoked_token", str(exc)) from exc
    except AuthError as exc:
        raise ApiError(401, "bad_token", str(exc)) from exc


def _role(*roles: str) -> Callable[[Caller], Caller]:
    def check(caller: Annotated[Caller, Depends(authenticated)]) -> Caller:
        if caller.role not in roles:
            raise ApiError(403, "forbidden", f"this needs a {' or '.join(roles)} token, not {caller.role}")
        return caller

    return check


CallerDep = Annotated[Caller, Depends(authenticated)]
ReaderDep = Annotated[Caller, Depends(_role("supervisor", "office"))]
SupervisorDep = Annotated[Caller, Depends(_role("supervisor"))]


def create_app(db: HubDB, *, hub_id: str) -> FastAPI:
    """The API over `db` (already migrated). `hub_id` names this hub's data (stored in the database)."""
    app = FastAPI(
        title="Passerelle sync hub",
        version=str(PROTOCOL_VERSION),
        description=__doc__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses={status: {"model": Problem, "description": words} for status, words in _REFUSALS.items()},
    )
    app.state.db = db
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # pulls carry directory documents: EDGE links are slow
    app.add_middleware(CatchAll)  # added last: the outermost of ours
    _handlers(app)
    _document_push_body(app)

    @app.get(f"{API_PREFIX}/info", response_model=Info)
    def info() -> Info:
        """What this hub speaks; needs no token."""
        return Info(
            protocol_version=PROTOCOL_VERSION,
            hub_id=hub_id,
            server_time=_utcnow(),
            capabilities=CAPABILITIES,
            max_body_bytes=MAX_BODY_BYTES,
            max_batch=MAX_BATCH,
        )

    @app.post(f"{API_PREFIX}/devices/enrol", response_model=EnrolResponse, responses=_answers(401, 409))
    def enrol(request: EnrolRequest) -> EnrolResponse:
        """Spend a one-time enrolment code: a device id and its bearer token (shown once)."""
        _refuse_nul(request.model_dump())
        with db.transaction() as tx:
            answer = service.enrol(
                tx,
                code=request.code,
                device_name=request.device_name,
                request_id=request.request_id,
                hub_id=hub_id,
                now=_utcnow(),
            )
        return answer

    @app.post(f"{API_PREFIX}/sync/push", response_model=PushResponse, responses=_answers(401, 415))
    async def sync_push(
        request: Request, caller: CallerDep, content_encoding: Annotated[str | None, Header()] = None
    ) -> PushResponse:
        """A batch of outbox entries: a PushRequest `{"ops": [Op, …]}` (1 to MAX_BATCH ops), plain JSON or with
        `Content-Encoding: gzip`. The answer lists every op in order: applied, duplicate, or rejected with a code."""
        raw = inflate(await request.body(), content_encoding)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "malformed_json", f"malformed JSON: {exc}") from exc
        except (ValueError, RecursionError) as exc:  # not UTF-8, an integer of over 4,300 digits, nested too deep
            raise ApiError(400, "malformed_json", f"malformed JSON: {clip(exc, 80)}") from exc
        try:
            batch = PushRequest.model_validate(data)
        except pydantic.ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc

        def work() -> PushResponse:
            with db.transaction() as tx:
                return push.push(tx, caller, batch.ops, now=_utcnow())

        return await run_in_threadpool(work)

    @app.get(f"{API_PREFIX}/sync/pull", response_model=PullResponse, responses=_answers(401))
    def sync_pull(
        caller: CallerDep,
        cursor: Annotated[int, Query(ge=0, le=MAX_CURSOR)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL)] = MAX_PULL,
        check: Annotated[str | None, Query(pattern=UUID, description="the device's latest done op id")] = None,
        full: Annotated[bool, Query(description="every row of the scope (after a reconcile)")] = False,
    ) -> PullResponse:
        """Changes after `cursor` in the caller's scope, in sequence order, with the hub's `state`; `missing`
        lists `check` when the hub does not hold that op (a restored hub). A person's details handed to an office
        or a supervisor are recorded in the access log."""
        with db.transaction() as tx:
            return service.pull(tx, caller, cursor=cursor, limit=limit, now=_utcnow(), check=check, full=full)

    @app.get(f"{API_PREFIX}/referrals", response_model=ReferralPage, responses=_answers(401, 403))
    def list_referrals(
        request: Request,
        caller: ReaderDep,
        status: ReferralStatus | None = None,
        region: Annotated[str | None, Query(max_length=40, description="a region, any case, accents optional")] = None,
        device: Annotated[str | None, Query(pattern=UUID)] = None,
        since: Moment | None = None,
        cursor: Annotated[str | None, Query(max_length=40, description="`next` of the previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=referrals.MAX_PAGE)] = 50,
    ) -> ReferralPage:
        """Referrals in arrival order, filtered; follow `next` until it is null. Offices see their region only."""
        try:
            after = referrals.decode_cursor(cursor) if cursor else 0
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc), "cursor") from exc
        if after > MAX_CURSOR:
            raise ApiError(422, "invalid_request", "not a page cursor", "cursor")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        try:
            _ = since is None or stamp(since)
        except (OverflowError, ValueError) as exc:  # 0001-01-01 with an offset east of UTC: before year 1 in UTC
            raise ApiError(422, "invalid_request", "since: out of range", "since") from exc
        wanted = service.region_named(region)
        filters = referrals.Filters(
            status=status.value if status else None,
            region=wanted.value if wanted else None,
            device=device,
            since=since,
        )
        with db.transaction(readonly=True) as tx:
            items, last = referrals.page(tx, caller, filters, after=after, limit=limit)
        following = (
            None if last is None else str(request.url.include_query_params(cursor=referrals.encode_cursor(last)))
        )
        return ReferralPage(items=items, next=following)

    @app.get(f"{API_PREFIX}/referrals/{{referral_id}}", response_model=ReferralItem, responses=_answers(401, 403, 404))
    def get_referral(referral_id: ReferralId, caller: ReaderDep) -> ReferralItem:
        """One referral with its history, and the person's details where the referral carries consent to share
        (each such read is recorded in the access log)."""
        with db.transaction() as tx:
            return service.read_referral(tx, caller, referral_id, now=_utcnow())

    @app.post(
        f"{API_PREFIX}/referrals/{{referral_id}}/events",
        response_model=ReferralItem,
        status_code=201,
        responses=_answers(
            401, 403, 404, 409, ok={200: {"model": ReferralItem, "description": "This event was stored before"}}
        ),
    )
    def office_event(
        referral_id: ReferralId, event: OfficeEvent, caller: CallerDep, response: Response
    ) -> ReferralItem:
        """An office (of the referral's region) or a supervisor moves a referral along; the device that created a
        referral may cancel it (`revoked`) — the same rules as a pushed event (`hub/rules.py`). Give `id` to retry
        safely: the same id and content again answers 200 with nothing added; the same id with other content is 409."""
        _refuse_nul(event.model_dump(mode="json"))
        with db.transaction() as tx:
            item, created = service.office_event(tx, caller, referral_id, event, now=_utcnow())
        if not created:
            response.status_code = 200
        return item

    @app.post(f"{API_PREFIX}/devices/report", response_model=DeviceInfo, responses=_answers(401, 403))
    def device_report(counts: DeviceReport, caller: CallerDep) -> DeviceInfo:
        """A device's own counts at the end of a sync (pending, quarantined, app version): what supervisors see."""
        _refuse_nul(counts.model_dump())
        with db.transaction() as tx:
            return service.report(tx, caller, counts, now=_utcnow())

    @app.get(f"{API_PREFIX}/devices", response_model=list[DeviceInfo], responses=_answers(401, 403))
    def list_devices(caller: SupervisorDep) -> list[DeviceInfo]:
        """Every enrolled device with its last report (supervisors)."""
        with db.transaction(readonly=True) as tx:
            return service.list_devices(tx)

    @app.post(f"{API_PREFIX}/devices/{{device_id}}/revoke", responses=_answers(401, 403, 404))
    def revoke_device(device_id: DeviceId, caller: SupervisorDep) -> dict[str, str]:
        """Revoke a device's token (supervisors): it can no longer push or pull until enrolled again."""
        with db.transaction() as tx:
            changed = service.revoke(tx, device_id, now=_utcnow())
        return {"id": device_id, "result": "revoked" if changed else "already_revoked"}

    @app.get(f"{API_PREFIX}/access-log", response_model=AccessPage, responses=_answers(401, 403))
    def access_log(
        caller: SupervisorDep,
        returnee: Annotated[str | None, Query(pattern=UUID)] = None,
        device: Annotated[str | None, Query(pattern=UUID)] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> AccessPage:
        """Who read whose details, when and how (pull, api, detail, export), newest first (supervisors)."""
        with db.transaction(readonly=True) as tx:
            items = service.access_log(tx, returnee_id=returnee, device_id=device, offset=offset, limit=limit)
        return AccessPage(items=items)

    @app.get(f"{API_PREFIX}/directory/audit", responses=_answers(401, 403))
    def directory_audit(
        caller: SupervisorDep,
        organization: Annotated[str | None, Query(pattern=SLUG, max_length=80)] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, list[dict[str, Any]]]:
        """Every field changed in the directory by an office or a supervisor: who, when, before, after."""
        with db.transaction(readonly=True) as tx:
            return {"items": service.audit_log(tx, organization_id=organization, offset=offset, limit=limit)}

    @app.post(
        f"{API_PREFIX}/directory/organizations/{{org_id}}/edits",
        status_code=201,
        responses=_answers(401, 403, 404, 409, ok={200: {"description": "This edit was applied before"}}),
    )
    def edit_organization(org_id: OrgId, edit: DirectoryEdit, caller: ReaderDep, response: Response) -> dict[str, str]:
        """An office's (its region's partners) or a supervisor's correction, as devices push it: applied with an
        audit row per field, and sent to every device."""
        if edit.organization_id != org_id:
            raise ApiError(422, "invalid_request", f"organization_id is not {org_id!r}", "organization_id")
        _refuse_nul(edit.model_dump(mode="json"))
        with db.transaction() as tx:
            applied = service.edit_directory(tx, caller, edit, now=_utcnow())
        if not applied:
            response.status_code = 200
        return {"id": edit.id, "result": "applied" if applied else "duplicate"}

    @app.put(
        f"{API_PREFIX}/directory/organizations/{{org_id}}",
        responses=_answers(401, 403, ok={201: {"description": "Created"}}),
    )
    def put_organization(
        org_id: OrgId,
        document: Annotated[dict[str, Any], Body()],
        caller: SupervisorDep,
        response: Response,
    ) -> dict[str, str]:
        """Create or replace one organisation (an Organization JSON, checked like `db/`); devices get it by pull."""
        _refuse_nul(document)
        now = _utcnow()
        with db.transaction() as tx:
            try:
                org = directory.validate_organization(document, directory.localities(tx))
            except ValidationError as exc:
                first = exc.problems[0]
                detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
                raise ApiError(422, "invalid_organization", detail, first.field) from exc
            if org.id != org_id:
                raise ApiError(422, "invalid_request", f"the body's id {org.id!r} is not {org_id!r}", "id")
            applied = directory.put_organization(tx, org, now=now)
        if applied.result == "created":
            response.status_code = 201
        return {"id": applied.id, "result": applied.result}

    @app.delete(f"{API_PREFIX}/directory/organizations/{{org_id}}", responses=_answers(401, 403, 404))
    def delete_organization(org_id: OrgId, caller: SupervisorDep) -> dict[str, str]:
        with db.transaction() as tx:
            applied = directory.delete_organization(tx, org_id, now=_utcnow())
        if applied is None:
            raise ApiError(404, "not_found", f"no organisation {org_id}")
        return {"id": applied.id, "result": applied.result}

    from field_app.hub import trust_api  # issue 10, helper E: POST /sync/ops/diff

    trust_api.register(app, db, CallerDep)
    from field_app.hub import directory_sync  # issue 10, helper D: POST /sync/directory/diff

    directory_sync.register(app, db, CallerDep)
    return app


def _document_push_body(app: FastAPI) -> None:
    """The push endpoint reads its (possibly gzip) body itself; give the OpenAPI description its PushRequest."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            body = PushRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["PushRequest"] = body
            schema["paths"][f"{API_PREFIX}/sync/push"]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}},
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
        return _problem(exc.status_code, str(exc.detail), code, getattr(exc, "field", None))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(list(exc.errors()))

    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        return _problem(
            503, f"the hub's database is unavailable: {exc}", "unavailable", **{"Retry-After": str(RETRY_AFTER_SECONDS)}
        )

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, service.HubRefusal)
        return _problem(exc.status, exc.detail, exc.code, exc.field)

    app.add_exception_handler(service.HubRefusal, refused)
    app.add_exception_handler(HTTPException, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HubUnavailable, unavailable)
