"""The hub's HTTP API (FastAPI). Every answer that is not a success is a `Problem` body {detail, code, field}.

Endpoints (prefix /api/v1): GET info; POST devices/enrol; POST sync/push (gzip or plain JSON); GET sync/pull;
GET referrals (supervisors, and offices for their region), GET referrals/{id}, POST referrals/{id}/events (an
office of the referral's region or a supervisor); PUT/DELETE directory/organizations/{id} (supervisors).
OpenAPI at /openapi.json and the interactive page at /docs (it loads its script from a CDN, so it does not render
offline; /openapi.json always works).

Bad input is a 4xx and writes nothing: 400 malformed JSON or gzip, 401 missing/unknown/revoked token or enrolment
code, 403 wrong role or region, 404 unknown referral or organisation, 409 an event id reused with other content,
413 a body over MAX_BODY_BYTES on the wire or MAX_INFLATED_BYTES once inflated, 415 an unknown content encoding,
422 wrong types or values. An unreachable database is 503 with Retry-After. Within a push, each op has its own
answer (see hub/push.py): a replayed op id with another payload is that op `rejected` (`op_id_reused`) in a 200.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
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
from field_app.domain.referrals import UUID, EventKind, ReferralEvent, ReferralStatus
from field_app.domain.vocabulary import Region
from field_app.errors import AuthError, ValidationError
from field_app.hub import auth, changes, directory, push, referrals
from field_app.hub.auth import Caller
from field_app.hub.db import HubDB, HubUnavailable
from field_app.sync.protocol import (
    API_PREFIX,
    MAX_BATCH,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    MAX_PULL,
    PROTOCOL_VERSION,
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
CAPABILITIES = ["gzip", "push", "pull", "referrals", "office-events", "directory"]
_REFUSALS = {
    400: "Malformed JSON or gzip",
    401: "Missing, unknown or revoked token",
    403: "Not for this role or region",
    413: "Body over the limit",
    422: "Wrong types or values",
    503: "Database unavailable: retry after Retry-After seconds",
}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


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
OrgId = Annotated[str, Path(pattern=SLUG, max_length=80)]


def _refuse_nul(value: Any) -> None:
    where = push.nul_at(value)
    if where is not None:
        raise ApiError(422, "invalid_request", f"{where}: NUL characters are not allowed", where)


def _field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _validation_problem(errors: list[Any]) -> JSONResponse:
    first = errors[0]
    if first.get("type") == "json_invalid":
        return _problem(400, "malformed JSON", "malformed_json")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = _field(first.get("loc", ()))
    return _problem(422, f"{field or 'body'}: {first.get('msg', 'invalid')}{more}", "invalid_request", field)


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

    @app.post(f"{API_PREFIX}/devices/enrol", response_model=EnrolResponse)
    def enrol(request: EnrolRequest) -> EnrolResponse:
        """Spend a one-time enrolment code: a device id and its bearer token (shown once)."""
        _refuse_nul(request.device_name)
        try:
            with db.transaction() as tx:
                caller, token = auth.enrol(tx, code=request.code, device_name=request.device_name, now=_utcnow())
        except AuthError as exc:
            raise ApiError(401, "bad_code", str(exc), "code") from exc
        return EnrolResponse(device_id=caller.id, token=token, role=caller.role, region=caller.region, hub_id=hub_id)

    @app.post(f"{API_PREFIX}/sync/push", response_model=PushResponse)
    async def sync_push(
        request: Request, caller: CallerDep, content_encoding: Annotated[str | None, Header()] = None
    ) -> PushResponse:
        """A batch of outbox entries: a PushRequest `{"ops": [Op, …]}` (1 to MAX_BATCH ops), plain JSON or with
        `Content-Encoding: gzip`. The answer lists every op in order: applied, duplicate, or rejected with a code."""
        raw = inflate(await request.body(), content_encoding)
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "malformed_json", f"malformed JSON: {exc}") from exc
        try:
            batch = PushRequest.model_validate(data)
        except pydantic.ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc

        def work() -> PushResponse:
            with db.transaction() as tx:
                return push.push(tx, caller, batch.ops, now=_utcnow())

        return await run_in_threadpool(work)

    @app.get(f"{API_PREFIX}/sync/pull", response_model=PullResponse)
    def sync_pull(
        caller: CallerDep,
        cursor: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PULL)] = MAX_PULL,
    ) -> PullResponse:
        """Changes after `cursor` in the caller's scope, in sequence order."""
        with db.transaction(readonly=True) as tx:
            return changes.pull(tx, caller, cursor=cursor, limit=limit)

    @app.get(f"{API_PREFIX}/referrals", response_model=ReferralPage)
    def list_referrals(
        request: Request,
        caller: ReaderDep,
        status: ReferralStatus | None = None,
        region: Region | None = None,
        device: Annotated[str | None, Query(pattern=UUID)] = None,
        since: dt.datetime | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=referrals.MAX_PAGE)] = 50,
    ) -> ReferralPage:
        """Referrals in arrival order, filtered; follow `next` until it is null. Offices see their region only."""
        try:
            after = referrals.decode_cursor(cursor) if cursor else 0
        except ValueError as exc:
            raise ApiError(422, "invalid_request", str(exc), "cursor") from exc
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        filters = referrals.Filters(
            status=status.value if status else None,
            region=region.value if region else None,
            device=device,
            since=since,
        )
        with db.transaction(readonly=True) as tx:
            items, last = referrals.page(tx, caller, filters, after=after, limit=limit)
        following = (
            None if last is None else str(request.url.include_query_params(cursor=referrals.encode_cursor(last)))
        )
        return ReferralPage(items=items, next=following)

    @app.get(f"{API_PREFIX}/referrals/{{referral_id}}", response_model=ReferralItem)
    def get_referral(referral_id: ReferralId, caller: ReaderDep) -> ReferralItem:
        with db.transaction(readonly=True) as tx:
            row = referrals.get_row(tx, referral_id)
            if row is None or not referrals.visible_to(caller, row):
                raise ApiError(404, "not_found", f"no referral {referral_id}")
            return referrals.item(tx, row)

    @app.post(f"{API_PREFIX}/referrals/{{referral_id}}/events", response_model=ReferralItem, status_code=201)
    def office_event(
        referral_id: ReferralId, event: OfficeEvent, caller: ReaderDep, response: Response
    ) -> ReferralItem:
        """An office (of the referral's region) or a supervisor moves a referral along. Give `id` to retry safely:
        the same id and content again answers 200 with nothing added; the same id with other content is 409."""
        kinds = sorted(k.value for k in referrals.OFFICE_KINDS)
        if event.kind not in kinds:
            raise ApiError(422, "invalid_request", f"kind must be one of {', '.join(kinds)}", "kind")
        now = _utcnow()
        at = event.at or now
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
        try:
            stored_event = ReferralEvent(
                id=event.id or str(uuid.uuid4()),
                referral_id=referral_id,
                kind=EventKind(event.kind),
                at=at,
                note=event.note,
            )
        except pydantic.ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        with db.transaction() as tx:
            row = referrals.get_row(tx, referral_id)
            if row is None:
                raise ApiError(404, "not_found", f"no referral {referral_id}")
            if not referrals.visible_to(caller, row):
                raise ApiError(403, "forbidden", "this referral belongs to another region's office")
            earlier = referrals.get_event(tx, stored_event.id)
            if earlier is not None and event.at is None:  # a retry that left the time to the hub: keep the first
                stored_event = stored_event.model_copy(update={"at": earlier.at})
            try:
                stored, _state = referrals.add_events(tx, row, [stored_event], source=caller.id, now=now)
            except referrals.EventClash as exc:
                raise ApiError(409, "conflict", f"event {exc} already exists with other content", "id") from exc
            if not stored:
                response.status_code = 200
            fresh = referrals.get_row(tx, referral_id)
            assert fresh is not None
            return referrals.item(tx, fresh)

    @app.put(f"{API_PREFIX}/directory/organizations/{{org_id}}")
    def put_organization(
        org_id: OrgId,
        document: Annotated[dict[str, Any], Body()],
        caller: SupervisorDep,
        response: Response,
    ) -> dict[str, str]:
        """Create or replace one organisation (an Organization JSON, checked like `db/`); devices get it by pull."""
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

    @app.delete(f"{API_PREFIX}/directory/organizations/{{org_id}}")
    def delete_organization(org_id: OrgId, caller: SupervisorDep) -> dict[str, str]:
        with db.transaction() as tx:
            applied = directory.delete_organization(tx, org_id, now=_utcnow())
        if applied is None:
            raise ApiError(404, "not_found", f"no organisation {org_id}")
        return {"id": applied.id, "result": applied.result}

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

    app.add_exception_handler(HTTPException, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HubUnavailable, unavailable)
