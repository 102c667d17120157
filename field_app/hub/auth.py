"""Who may talk to the hub: one-time enrolment codes, device tokens and API tokens, all stored as sha256 hashes.

A code is made on the hub host (`field-app hub enrol-code`), typed once on a phone, and exchanged for a device id
and a bearer token (`POST /api/v1/devices/enrol`). API tokens (`field-app hub token`) are the same kind of
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


def enrol(tx: Tx, *, code: str, device_name: str | None, now: dt.datetime) -> tuple[Caller, str]:
    """Spend a code: a new device and its token. The code is marked used in the same statement that checks it, so
    two hub processes cannot both accept it."""
    row = tx.one(
        "UPDATE enrol_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? "
        "RETURNING role, region",
        [stamp(now), _hash(normalise_code(code)), stamp(now)],
    )
    if row is None:
        raise AuthError("unknown, used or expired enrolment code")
    device_id, token = _new_device(tx, kind="device", role=row["role"], region=row["region"], name=device_name, now=now)
    tx.execute("UPDATE enrol_codes SET device_id = ? WHERE code_hash = ?", [device_id, _hash(normalise_code(code))])
    return Caller(device_id, "device", row["role"], row["region"]), token


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
