"""`POST /api/v1/sync/ops/diff`: which of a device's op ids the hub holds (issue 10, in the spirit of CouchDB's
`_revs_diff`).

A device that notices a restored or replaced hub database (another epoch in `HubState`, a `head` below its cursor,
or its latest done op named in a pull's `missing`) sends the op ids of every outbox entry it holds as done, in
chunks of at most `MAX_DIFF`; the hub answers those it lacks (`missing`, in the order asked) and its state. The
device puts the missing ones back in its queue (in outbox order), resets its cursor and pulls from 0.

Any enrolled device may ask (op ids are random UUIDs: asking about another device's reveals nothing of use); the
answer is read in one read-only transaction and writes nothing.
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import FastAPI

from field_app.hub import trust
from field_app.hub.auth import Caller
from field_app.hub.db import HubDB
from field_app.sync.protocol import API_PREFIX, OpsDiffRequest, OpsDiffResponse, Problem

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, unknown or revoked token"},
    422: {"model": Problem, "description": "Wrong types or values (1 to MAX_DIFF op ids, each a UUID)"},
    503: {"model": Problem, "description": "Database unavailable: retry after Retry-After seconds"},
}


def register(app: FastAPI, db: HubDB, caller_dep: Any) -> None:
    """Add the ops diff route to `app` (`caller_dep`: the app's `Annotated[Caller, Depends(...)]` for an
    authenticated caller)."""
    depends = get_args(caller_dep)[1]

    @app.post(f"{API_PREFIX}/sync/ops/diff", response_model=OpsDiffResponse, responses=_RESPONSES)
    def ops_diff(request: OpsDiffRequest, caller: Caller = depends) -> OpsDiffResponse:
        """Of the op ids a device holds as sent, those this hub's database lacks (after a restore or a new
        database), with the hub's state (epoch, head, directory version)."""
        with db.transaction(readonly=True) as tx:
            return OpsDiffResponse(missing=trust.ops_missing(tx, request.op_ids), state=trust.hub_state(tx))
