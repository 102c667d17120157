"""`field-app office inbox` and `field-app office update` as scripts use them: real processes on a real data
directory of an office device (enrolment state and pulled referrals written as sync would write them)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from field_app.directory.store import open_directory
from field_app.domain.referrals import EventKind, ReferralEvent
from field_app.storage import sync_state
from field_app.storage.referrals import put_pulled_referral
from field_app.sync.protocol import ReferralChange, SharedPerson

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "FIELD_APP_LANG": "en"}
NOW = dt.datetime.now(dt.UTC)


def field_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "field_app", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120
    )


def seed(data_dir: Path, *, shared: bool, age_days: int, name: str) -> str:
    db = open_directory(data_dir)
    ref, returnee = str(uuid.uuid4()), str(uuid.uuid4())
    at = NOW - dt.timedelta(days=age_days)
    service, org = db.execute("SELECT id, organization_id FROM services ORDER BY id LIMIT 1").fetchone()
    events = [
        ReferralEvent(id=str(uuid.uuid4()), referral_id=ref, kind=k, at=at) for k in (EventKind.CREATED, EventKind.SENT)
    ]
    person = SharedPerson(
        returnee_id=returnee,
        given_name=name,
        family_name="Traoré",
        sex="F",
        age=30,
        age_recorded_on=at.date(),
        phone="+22376000002",
        region="kayes",
    )
    change = ReferralChange(
        referral={
            "id": ref,
            "returnee_id": returnee,
            "service_id": service,
            "organization_id": org,
            "region": "kayes",
            "consent_share_at": at.isoformat(),
            "created_at": at.isoformat(),
        },
        device_id="agent",
        status="sent",
        flagged=[],
        events=[e.model_dump(mode="json") for e in events],
        person=person if shared else None,
    )
    with db.atomic():
        put_pulled_referral(db, change, now=at)
    db.close()
    return ref


@pytest.fixture(scope="module")
def office_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("office")
    db = open_directory(path)
    sync_state.save_enrolment(
        db,
        hub_url="http://127.0.0.1:9",
        hub_id="h",
        device_id=str(uuid.uuid4()),
        token="t",
        role="office",
        region="kayes",
        now=NOW,
    )
    db.close()
    return path


def inbox(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    done = field_app("office", "inbox", "--json", *args, "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def counts(data_dir: Path) -> tuple[int, int]:
    db = open_directory(data_dir)
    try:
        return (
            int(db.execute("SELECT count(*) FROM referral_events").fetchone()[0]),
            int(db.execute("SELECT count(*) FROM outbox").fetchone()[0]),
        )
    finally:
        db.close()


def test_inbox_json_lists_every_referral_with_people_only_under_consent(office_dir: Path) -> None:
    late = seed(office_dir, shared=True, age_days=30, name="Awa")
    hidden = seed(office_dir, shared=False, age_days=1, name="Kadi")
    items = inbox(office_dir)
    assert [i["id"] for i in items][:2] == [late, hidden]  # overdue first
    first = items[0]
    for key in ("id", "status", "service_id", "organization", "created_at", "last_event_at", "overdue", "returnee"):
        assert key in first
    assert first["overdue"] is True and first["returnee"] == {
        "given_name": "Awa",
        "family_name": "Traoré",
        "phone": "+22376000002",
    }
    assert items[1]["returnee"] is None and items[1]["overdue"] is False
    assert [i["id"] for i in inbox(office_dir, "--overdue")] == [late]
    assert inbox(office_dir, "--status", "accepted") == []
    text = field_app("office", "inbox", "--data-dir", str(office_dir))
    assert text.returncode == 0 and "Awa Traoré" in text.stdout and "Kadi" not in text.stdout
    bad = field_app("office", "inbox", "--status", "nope", "--data-dir", str(office_dir))
    assert bad.returncode == 1 and bad.stderr.startswith("status: ")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--status", "enrolled"], "kind"),
        (["--status", "declined"], "reason"),
        (["--status", "declined", "--reason", "too_far"], "reason"),
        (["--status", "declined", "--reason", "other"], "note"),
        (["--status", "finished"], "kind"),
        (["--status", "accepted", "--follow-up", "soon"], "follow_up"),
        (["--status", "accepted", "--outcome", "trained"], "outcome"),
    ],
)
def test_a_refused_update_exits_1_naming_the_field_and_writes_nothing(
    office_dir: Path, args: list[str], field: str
) -> None:
    ref = seed(office_dir, shared=True, age_days=2, name="Bintou")
    before = counts(office_dir)
    done = field_app("office", "update", ref, *args, "--data-dir", str(office_dir))
    assert done.returncode == 1 and done.stdout == ""
    assert any(line.startswith(f"{field}: ") for line in done.stderr.splitlines()), done.stderr
    assert counts(office_dir) == before


def test_updates_move_a_referral_to_completed(office_dir: Path) -> None:
    ref = seed(office_dir, shared=True, age_days=2, name="Oumou")
    steps = [
        ["--status", "accepted", "--note", "place confirmed", "--follow-up", "2030-01-15"],
        ["--status", "enrolled"],
        ["--status", "completed", "--outcome", "job_placement"],
    ]
    for step in steps:
        done = field_app("office", "update", ref, *step, "--data-dir", str(office_dir))
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{ref} completed"
    [item] = [i for i in inbox(office_dir) if i["id"] == ref]
    assert (item["status"], item["outcome"], item["follow_up"]) == ("completed", "job_placement", "2030-01-15")
    missing = field_app("office", "update", str(uuid.uuid4()), "--status", "accepted", "--data-dir", str(office_dir))
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
