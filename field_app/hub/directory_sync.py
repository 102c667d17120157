"""`POST /api/v1/sync/directory/diff`: what a device must change for its directory to be the hub's (issue 10,
item 9).

A device built from an older `db/` than the hub's holds organisations and places that the change log never
mentions (the seed writes no change rows: it is the baseline the app ships). Both sides compute a directory
version (`trust.directory_version` here, `field_app.directory.manifest.local_version` on the device, the same
digest of `o:<id>:<hash>` / `l:<id>:<hash>` lines); a device whose version is not the hub's sends its
{id: content hash} lists, and the hub answers, as `Change` rows with seq 0 (not change-log rows):
- an `upsert` with the document for every locality and organisation the device lacks or holds with another hash,
  places first (an organisation's offices must find their places);
- a `delete` for every organisation, then every locality, the device holds and the hub does not;
- the hub's directory version, so the device can tell whether it has caught up.

Any enrolled device may ask: the directory is the same for every role and region. The answer is read in one
read-only transaction and writes nothing.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from fastapi import FastAPI

from field_app.hub import trust
from field_app.hub.auth import Caller
from field_app.hub.db import HubDB, Tx
from field_app.sync.protocol import API_PREFIX, Change, DirectoryDiffRequest, DirectoryDiffResponse, Problem

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, unknown or revoked token"},
    413: {"model": Problem, "description": "Body too large"},
    422: {"model": Problem, "description": "Wrong types or values (ids and hashes of at most 80 characters)"},
    503: {"model": Problem, "description": "Database unavailable: retry after Retry-After seconds"},
}


def diff(tx: Tx, request: DirectoryDiffRequest) -> DirectoryDiffResponse:
    """The changes that turn the device's directory (`request`) into the hub's, and the hub's version."""
    hub_localities = _hashes(tx, "localities")
    hub_organizations = _hashes(tx, "organizations")
    wanted = sorted(item for item, digest in hub_localities.items() if request.localities.get(item) != digest)
    out = [
        Change(seq=0, entity="locality", id=item, op="upsert", data=document)
        for item, document in _documents(tx, "localities", wanted)
    ]
    wanted = sorted(item for item, digest in hub_organizations.items() if request.organizations.get(item) != digest)
    out += [
        Change(seq=0, entity="organization", id=item, op="upsert", data=document)
        for item, document in _documents(tx, "organizations", wanted)
    ]
    out += [
        Change(seq=0, entity="organization", id=item, op="delete")
        for item in sorted(set(request.organizations) - set(hub_organizations))
    ]
    out += [
        Change(seq=0, entity="locality", id=item, op="delete")
        for item in sorted(set(request.localities) - set(hub_localities))
    ]
    return DirectoryDiffResponse(changes=out, version=trust.directory_version(tx))


def _hashes(tx: Tx, table: str) -> dict[str, str]:
    return {str(r["id"]): str(r["content_hash"]) for r in tx.all(f"SELECT id, content_hash FROM {table}")}


def _documents(tx: Tx, table: str, ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in tx.all(f"SELECT id, document FROM {table} WHERE id IN ({marks})", chunk):
            found[str(row["id"])] = dict(json.loads(row["document"]))
    return [(item, found[item]) for item in ids if item in found]


def register(app: FastAPI, db: HubDB, caller_dep: Any) -> None:
    """Add the directory diff route to `app` (`caller_dep`: the app's `Annotated[Caller, Depends(...)]` for an
    authenticated caller)."""
    depends = get_args(caller_dep)[1]

    @app.post(f"{API_PREFIX}/sync/directory/diff", response_model=DirectoryDiffResponse, responses=_RESPONSES)
    def directory_diff(request: DirectoryDiffRequest, caller: Caller = depends) -> DirectoryDiffResponse:
        """What a device must change for its directory (its {id: content hash} lists) to be this hub's: upserts
        with the document, deletes, and the hub's directory version."""
        with db.transaction(readonly=True) as tx:
            return diff(tx, request)
