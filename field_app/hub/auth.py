"""Who may talk to the hub: one-time enrolment codes, device tokens and API tokens, all stored as sha256 hashes.

A code is made on the hub host (`field-app hub enrol-code`), typed once on a phone, and exchanged for a device id
and a bearer token (`POST /api/v1/devices/enrol`); a retry with the same request id after a lost answer gets the
same device and a fresh token (`enrol_device`). API tokens (`field-app hub token`) are the same kind of
credential without a phone behind them; both are rows of `devices` and both are revoked with `field-app hub
revoke ID`. The secrets themselves are shown once and never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

from field_app.domain.vocabulary import Region
from field_app.errors import AuthError, NotFound, Problem, ValidationError
from field_app.hub.db import Tx, stamp

ROLES = ("agent", "office", "supervisor")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: codes are read aloud and typed on phones
CODE_LENGTH = 12
CODE_VALID_FOR = dt.timedelta(days=7)
RETRY_WINDOW = dt.timedelta(days=1)  # a spent code still answers its own request id this long (lost answers)


class Revoked(AuthError):
    """The token was valid once, and has been revoked (`field-app hub revoke`)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated device or API client."""

    id: str
    kind: str  # device | api
    role: str
    region: str | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def check_role(role: str, region: str | None) -> str | None:
    """Validate a role and region pair; an office belongs to one region. Returns the region."""
    problems = []
    if role not in ROLES:
        problems.append(Problem("role", f"must be one of {', '.join(ROLES)}"))
    if region is not None and region not in {r.value for r in Region}:
        problems.append(Problem("region", f"unknown region {region!r} (one of {', '.join(r.value for r in Region)})"))
    if role == "office" and region is None:
        problems.append(Problem("region", "an office belongs to one region: give --region"))
    if problems:
        raise ValidationError(problems)
    return region


def make_enrol_code(tx: Tx, *, role: str, region: str | None, now: dt.datetime) -> str:
    """A new one-time code (shown once, formatted XXXX-XXXX-XXXX); valid for CODE_VALID_FOR."""
    check_role(role, region)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    tx.execute(
        "INSERT INTO enrol_codes (code_hash, role, region, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        [_hash(raw), role, region, stamp(now), stamp(now + CODE_VALID_FOR)],
    )
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _new_device(
    tx: Tx, *, kind: str, role: str, region: str | None, name: str | None, now: dt.datetime
) -> tuple[str, str]:
    device_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO devices (id, kind, role, region, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [device_id, kind, role, region, name, _hash(token), stamp(now)],
    )
    return device_id, token


@dataclass(frozen=True)
class Enrolled:
    """What an enrolment gave: the device, its (new) token, and whether it was a retry of an enrolment already
    made (`repeated`: the same device as before, with a fresh token)."""

    caller: Caller
    token: str
    repeated: bool = False


def enrol_device(
    tx: Tx, *, code: str, device_name: str | None, now: dt.datetime, request_id: str | None = None
) -> Enrolled:
    """Spend a code: a new device and its token. The code is marked used in the same statement that checks it, so
    two hub processes cannot both accept it; the request id the device sent is kept with it.

    A used code whose stored request id is `request_id` is the same device asking again (its answer was lost on
    the link): the same device id with a fresh token — its token hash is replaced, as the old token never reached
    the device — and never a second device row. That holds while the code is valid, or for RETRY_WINDOW after it
    was spent, whichever is later; a revoked device stays revoked. Another request id (or none) for a used code
    is refused, as an unknown or expired code is (AuthError). Two copies of one attempt in flight at once (a
    duplicated delivery) both succeed, the later one's token being the valid one: a device that kept the earlier
    answer is refused at its first sync and needs a new code — rare, and never a second device row."""
    code_hash = _hash(normalise_code(code))
    row = tx.one(
        "UPDATE enrol_codes SET used_at = ?, request_id = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? "
        "RETURNING role, region",
        [stamp(now), request_id, code_hash, stamp(now)],
    )
    if row is not None:
        device_id, token = _new_device(
            tx, kind="device", role=row["role"], region=row["region"], name=device_name, now=now
        )
        tx.execute("UPDATE enrol_codes SET device_id = ? WHERE code_hash = ?", [device_id, code_hash])
        return Enrolled(Caller(device_id, "device", row["role"], row["region"]), token)
    if request_id is not None:
        again = _repeat(tx, code_hash=code_hash, request_id=request_id, now=now)
        if again is not None:
            return again
    raise AuthError("unknown, used or expired enrolment code")


def _repeat(tx: Tx, *, code_hash: str, request_id: str, now: dt.datetime) -> Enrolled | None:
    """The device this code enrolled for `request_id`, with a fresh token; None when there is none to give."""
    row = tx.one(
        "SELECT d.id, d.role, d.region FROM enrol_codes c JOIN devices d ON d.id = c.device_id "
        "WHERE c.code_hash = ? AND c.request_id = ? AND c.used_at IS NOT NULL AND d.revoked_at IS NULL "
        "AND (c.expires_at > ? OR c.used_at > ?)",
        [code_hash, request_id, stamp(now), stamp(now - RETRY_WINDOW)],
    )
    if row is None:
        return None
    token = secrets.token_urlsafe(32)
    tx.execute("UPDATE devices SET token_hash = ? WHERE id = ?", [_hash(token), row["id"]])
    return Enrolled(Caller(row["id"], "device", row["role"], row["region"]), token, repeated=True)


def enrol(
    tx: Tx, *, code: str, device_name: str | None, now: dt.datetime, request_id: str | None = None
) -> tuple[Caller, str]:
    """`enrol_device` as (caller, token)."""
    done = enrol_device(tx, code=code, device_name=device_name, now=now, request_id=request_id)
    return done.caller, done.token


def make_api_token(tx: Tx, *, role: str, region: str | None, now: dt.datetime) -> tuple[str, str]:
    """A bearer token for the read API (supervisor) or an office's command-line client: (id, token)."""
    check_role(role, region)
    return _new_device(tx, kind="api", role=role, region=region, name=None, now=now)


def authenticate(tx: Tx, token: str) -> Caller:
    row = tx.one("SELECT id, kind, role, region, revoked_at FROM devices WHERE token_hash = ?", [_hash(token)])
    if row is None:
        raise AuthError("unknown token")
    if row["revoked_at"] is not None:
        raise Revoked("this device or token has been revoked: enrol it again")
    return Caller(row["id"], row["kind"], row["role"], row["region"])


def revoke(tx: Tx, device_id: str, *, now: dt.datetime) -> bool:
    """Revoke a device or API token; False when it was already revoked."""
    row = tx.one("SELECT revoked_at FROM devices WHERE id = ?", [device_id])
    if row is None:
        raise NotFound(f"no device or token with id {device_id}")
    if row["revoked_at"] is not None:
        return False
    tx.execute("UPDATE devices SET revoked_at = ? WHERE id = ?", [stamp(now), device_id])
    return True
