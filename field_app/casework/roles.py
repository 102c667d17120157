"""Which workspace this device opens: the role and region its enrolment gave it (an unenrolled device is a field
agent's phone). The home screen, the navigation and every query's scope follow `current(db)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlite_utils

from field_app.storage import sync_state

Role = Literal["agent", "office", "supervisor"]
ROLES: tuple[Role, ...] = ("agent", "office", "supervisor")


@dataclass(frozen=True)
class Workspace:
    role: Role
    region: str | None  # an office's region; None for agents' phones and supervisors (national)
    device_id: str | None  # None until enrolled

    @property
    def is_office(self) -> bool:
        return self.role == "office"

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def sees_people(self) -> bool:
        """May open the details of people referred from other devices (office and supervisor)."""
        return self.role in ("office", "supervisor")

    @property
    def scope(self) -> str | None:
        """The region whose referrals this workspace lists (None: every region — a supervisor's)."""
        return self.region if self.role == "office" else None


def current(db: sqlite_utils.Database) -> Workspace:
    """This device's workspace, from its enrolment (agent, no region, no id when not enrolled)."""
    state = sync_state.load(db)
    if state is None:
        return Workspace("agent", None, None)
    role: Role = state.role if state.role in ROLES else "agent"
    return Workspace(role, state.region if role == "office" else None, state.device_id)
