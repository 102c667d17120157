"""The device's side of the directory version (issue 10, item 9): is my directory the hub's, and if not, what
must change.

The app ships `db/` and builds its directory from it; the hub seeds its own from the `db/` it was installed with
and then logs every correction as a change that devices pull. A device built from an older (or newer) `db/` than
the hub's never learns of the difference from the change log alone, so both sides compute a **directory
version**: a digest (`version_of`) over sorted lines `o:<organisation id>:<hash>` and `l:<locality id>:<hash>`,
where each hash is `field_app.directory.build.content_hash` of the item's JSON document, as the hub stores it
(`field_app.hub.trust.directory_version`, the same function over the hub's rows). On the device:
- an organisation's hash is the sha256 of its stored `document` column, which the build writes as exactly the
  canonical JSON `content_hash` hashes (sorted keys, no spaces), so no document is parsed to compute it (the
  store's own `organizations.content_hash` also covers the places of its offices: it is not the hub's);
- a locality's hash is the stored `localities.content_hash`, which is already `content_hash` of its document.

At enrolment and at each sync the device compares its `local_version(db)` with the hub's (`HubState` /
`EnrolResponse.directory_version`): equal → nothing more (no extra request); different → `catch_up(db, client)`
sends its {id: hash} lists (`POST /api/v1/sync/directory/diff`) and applies the answer — places first, then
organisations, then deletions — with the directory build's per-item code (full-text and nearby rows included),
in one transaction. A change the device cannot use (a document that fails validation) is skipped and logged by
id, as a pulled change would be, so one bad row does not stop the rest; the versions then stay different and the
next sync asks again.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

import sqlite_utils

if TYPE_CHECKING:
    from field_app.sync.client import HubClient
    from field_app.sync.protocol import Change, DirectoryDiffRequest, DirectoryDiffResponse

log = logging.getLogger(__name__)


def version_of(lines: list[str]) -> str:
    """The digest of `o:`/`l:` lines (in any order): the hub's `trust.version_of` is the same function."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:32]


def local_hashes(db: sqlite_utils.Database) -> tuple[dict[str, str], dict[str, str]]:
    """This device's directory as ({organisation id: hash}, {locality id: hash}), hashed as the hub hashes."""
    organizations = {
        str(org_id): hashlib.sha256(str(document).encode()).hexdigest()
        for org_id, document in db.execute("SELECT id, document FROM organizations")
    }
    localities = {str(loc_id): str(digest) for loc_id, digest in db.execute("SELECT id, content_hash FROM localities")}
    return organizations, localities


def lines_of(organizations: dict[str, str], localities: dict[str, str]) -> list[str]:
    return [f"o:{k}:{v}" for k, v in organizations.items()] + [f"l:{k}:{v}" for k, v in localities.items()]


def local_version(db: sqlite_utils.Database) -> str:
    """The digest of this device's directory, to compare with the hub's `directory_version`."""
    return version_of(lines_of(*local_hashes(db)))


def diff_request(db: sqlite_utils.Database) -> DirectoryDiffRequest:
    from field_app.sync.protocol import DirectoryDiffRequest

    organizations, localities = local_hashes(db)
    return DirectoryDiffRequest(organizations=organizations, localities=localities)


def catch_up(db: sqlite_utils.Database, client: HubClient) -> int:
    """Ask the hub for what differs and apply it (one transaction); returns the number of items changed.
    Raises the client's errors (SyncError, AuthError) when the call fails: nothing is changed then."""
    answer = client.directory_diff(diff_request(db))
    return apply_diff(db, answer)


def catch_up_if_behind(db: sqlite_utils.Database, client: HubClient, hub_version: str | None) -> int:
    """`catch_up` only when the hub gave a version and it is not this device's (0, and no request, otherwise)."""
    if hub_version is None or hub_version == local_version(db):
        return 0
    return catch_up(db, client)


def apply_diff(db: sqlite_utils.Database, answer: DirectoryDiffResponse) -> int:
    """Apply a directory diff answer in one transaction: locality upserts, organisation upserts, organisation
    deletes, locality deletes (a place is removed once no office sits on it). Returns the items changed."""
    rank = {("locality", "upsert"): 0, ("organization", "upsert"): 1, ("organization", "delete"): 2}
    ordered = sorted(answer.changes, key=lambda c: rank.get((c.entity, c.op), 3))
    changed = 0
    with db.atomic():
        for change in ordered:
            changed += _apply(db, change)
    if changed and local_version(db) != answer.version:
        log.info("directory still differs from the hub's after the diff (changed on the hub meanwhile?)")
    return changed


def _apply(db: sqlite_utils.Database, change: Change) -> int:
    import pydantic

    from field_app.directory.build import put_locality, put_organization, remove_locality, remove_organization
    from field_app.domain.directory import Locality, Organization
    from field_app.errors import ValidationError

    try:
        with db.atomic():  # a savepoint: an item that fails half-way leaves nothing behind
            match change.entity, change.op:
                case "organization", "upsert":
                    return int(put_organization(db, Organization.model_validate(change.data or {})))
                case "organization", "delete":
                    return int(remove_organization(db, change.id))
                case "locality", "upsert":
                    before = db.execute("SELECT content_hash FROM localities WHERE id = ?", [change.id]).fetchone()
                    put_locality(db, Locality.model_validate(change.data or {}))
                    after = db.execute("SELECT content_hash FROM localities WHERE id = ?", [change.id]).fetchone()
                    return int(before != after)
                case "locality", "delete":
                    return int(remove_locality(db, change.id))
    except (pydantic.ValidationError, ValidationError, ValueError):
        # the error's text may quote the document: only say which item was skipped
        log.warning("skipped directory item %s %s %s: invalid", change.entity, change.op, change.id)
    return 0
