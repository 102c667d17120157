"""A referral's way to its region's office, with the person's details only where consent allows, and the log of
every time the hub hands those details out.

A `referral` change (data: protocol.ReferralChange) is appended when the hub first stores a referral, right after
the insert and before its events' `referral_event` changes, and again whenever the person's record changes on
the hub or arrives after the referral — so an office device always holds the latest shared details. `person` is
the few fields an office needs to follow up (protocol.SharedPerson), and only when the referral carries the
returnee's consent to share. Every time such details leave the hub (a pull page, an API read), one access row per
person is written in the same transaction, with an `access` change that supervisors pull.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from field_app.domain.referrals import Referral, ReferralEvent, in_order
from field_app.domain.returnees import Returnee
from field_app.hub import changes
from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import AccessRecord, AccessVia, ReferralChange, SharedPerson

READERS = ("office", "supervisor")  # the roles that may see a person's details (offices: their region only)


def person_for(tx: Tx, row: dict[str, Any]) -> SharedPerson | None:
    """The shared details of a referral's person, or None without consent or while the record is not here."""
    referral = Referral.model_validate_json(row["document"])
    if referral.consent_share_at is None:
        return None
    found = tx.one("SELECT document FROM returnees WHERE id = ?", [row["returnee_id"]])
    return None if found is None else SharedPerson.of(Returnee.model_validate_json(found["document"]))


def referral_data(
    row: dict[str, Any], events: list[dict[str, Any]], person: SharedPerson | None, *, status: str, flagged: list[str]
) -> dict[str, Any]:
    """A `referral` change's data (protocol.ReferralChange) from what the caller already holds (push builds it
    from its batch's memory, without a query)."""
    return {  # the fields of ReferralChange, built straight (its model_dump(mode="json"), without a validation)
        "referral": json.loads(row["document"]),
        "device_id": row["device_id"],
        "status": status,
        "flagged": flagged,
        "events": events,
        "person": None if person is None else person.model_dump(mode="json"),
    }


def referral_change_row(row: dict[str, Any], data: dict[str, Any], *, origin: str | None) -> changes.Row:
    return changes.Row("referral", row["id"], "upsert", data, region=row["region"], device_id=row["device_id"],
                       origin=origin)  # fmt: skip


def referral_change(tx: Tx, row: dict[str, Any]) -> ReferralChange:
    from field_app.hub.referrals import event_dict, in_hub_order, ranked_events

    ranked = in_hub_order(ranked_events(tx, [row["id"]])[row["id"]])
    return ReferralChange(
        referral=json.loads(row["document"]),
        device_id=row["device_id"],
        status=row["status"],
        flagged=json.loads(row["flagged"]),
        events=[event_dict(r.event, r.received) for r in ranked],
        person=person_for(tx, row),
    )


def append_referral_change(tx: Tx, row: dict[str, Any], *, now: dt.datetime, origin: str | None = None) -> None:
    data = referral_change(tx, row).model_dump(mode="json")
    changes.append_many(tx, [referral_change_row(row, data, origin=origin)], now=now)


def person_changed(tx: Tx, returnee_id: str, *, now: dt.datetime, origin: str | None = None) -> None:
    """The person's record arrived or changed: send their referrals again with the new details."""
    for row in tx.all("SELECT * FROM referrals WHERE returnee_id = ? ORDER BY n", [returnee_id]):
        append_referral_change(tx, row, now=now, origin=origin)


def backfill_referral_changes(tx: Tx) -> None:
    """Hub migration 2: one `referral` change per referral stored before offices received them. Runs on the
    schema as migration 2 left it (no receipt ranks, no positions, no origin yet: hub migrations 3 and 4 add them,
    and give these rows their positions)."""
    now = stamp(dt.datetime.now(dt.UTC))
    for row in tx.all("SELECT * FROM referrals ORDER BY n"):
        events = [
            ReferralEvent.model_validate_json(r["document"])
            for r in tx.all("SELECT document FROM referral_events WHERE referral_id = ?", [row["id"]])
        ]
        data = ReferralChange(
            referral=json.loads(row["document"]),
            device_id=row["device_id"],
            status=row["status"],
            flagged=json.loads(row["flagged"]),
            events=[e.model_dump(mode="json") for e in in_order(events)],
            person=person_for(tx, row),
        ).model_dump(mode="json")
        tx.execute(
            "INSERT INTO changes (entity, entity_id, op, data, region, device_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ["referral", row["id"], "upsert", changes.dumps(data), row["region"], row["device_id"], now],
        )


def record_access(
    tx: Tx,
    *,
    device_id: str,
    returnee_id: str,
    referral_id: str | None,
    via: AccessVia,
    at: dt.datetime,
    now: dt.datetime,
    access_id: str | None = None,
) -> bool:
    """One access row and its `access` change (supervisors); False when this access id is already recorded."""
    record = AccessRecord(
        id=access_id or str(uuid.uuid4()),
        returnee_id=returnee_id,
        referral_id=referral_id,
        via=via,
        at=at,
        device_id=device_id,
    )
    if tx.one("SELECT 1 AS found FROM access_log WHERE id = ?", [record.id]) is not None:
        return False
    tx.execute(
        "INSERT INTO access_log (id, device_id, returnee_id, referral_id, via, at) VALUES (?, ?, ?, ?, ?, ?)",
        [record.id, device_id, returnee_id, referral_id, via, stamp(at)],
    )
    changes.append(tx, entity="access", entity_id=record.id, op="upsert", data=record.model_dump(mode="json"), now=now)
    return True


def access_page(
    tx: Tx, *, returnee_id: str | None, device_id: str | None, offset: int, limit: int
) -> list[AccessRecord]:
    where, params = ["1 = 1"], []
    for column, value in (("returnee_id", returnee_id), ("device_id", device_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    rows = tx.all(
        f"SELECT * FROM access_log WHERE {' AND '.join(where)} ORDER BY at DESC, id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [
        AccessRecord(
            id=r["id"],
            returnee_id=r["returnee_id"],
            referral_id=r["referral_id"],
            via=r["via"],
            at=dt.datetime.strptime(r["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC),
            device_id=r["device_id"],
        )
        for r in rows
    ]


def caller_reads_people(caller: Caller) -> bool:
    return caller.role in READERS
