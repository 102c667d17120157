"""`field-app device enrol`, `field-app sync [--once]`, `sync status [--json]`, `sync retry` as scripts use them:
real processes, a real hub on 127.0.0.1, real data directories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.storage.paths import database_path
from tests.sync.hubproc import HubProcess

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "FIELD_APP_LANG": "en", "PYTHONUNBUFFERED": "1"}
PERSON = {"given_name": "Awa", "family_name": "Diarra", "sex": "F", "age": 24, "region": "kayes", "consent": True}


def field_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "field_app", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    tmp = tmp_path_factory.mktemp("hub")
    process = HubProcess(str(tmp / "hub.db"), tmp).start()
    yield process
    process.stop()


@pytest.fixture
def data_dir(hub: HubProcess, tmp_path: Path) -> Path:
    """An enrolled device with one person and one referral queued."""
    person_file = tmp_path / "person.json"
    person_file.write_text(json.dumps(PERSON))
    enrolled = field_app("device", "enrol", "--hub", hub.url, "--code", hub.enrol_code(), "--data-dir", str(tmp_path))
    assert enrolled.returncode == 0, enrolled.stderr
    assert len(enrolled.stdout.strip()) == 36  # the device id, alone
    added = field_app("returnee", "add", "--json", str(person_file), "--data-dir", str(tmp_path))
    assert added.returncode == 0, added.stderr
    return tmp_path


def status(data_dir: Path) -> dict[str, Any]:
    done = field_app("sync", "status", "--json", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_enrol_then_sync_once_then_status(data_dir: Path) -> None:
    before = status(data_dir)
    assert before["enrolled"] and before["pending"] == 1 and before["last_result"] is None
    assert "token" not in json.dumps(before)
    once = field_app("sync", "--once", "--data-dir", str(data_dir))
    assert once.returncode == 0, once.stderr
    assert once.stdout.startswith("sent 1 (1 new, 0 already there, 0 refused)")
    after = status(data_dir)
    assert after["pending"] == 0 and after["quarantined"] == []
    assert after["last_result"] == "ok" and after["failures"] == 0 and after["last_report"]["applied"] == 1
    text = field_app("sync", "status", "--data-dir", str(data_dir))
    assert "Waiting to be sent: 0" in text.stdout and "up to date" in text.stdout
    assert f"Cursor: {after['cursor']}" in text.stdout


def test_bad_code_and_unreachable_hub_exit_1(hub: HubProcess, tmp_path: Path) -> None:
    refused = field_app("device", "enrol", "--hub", hub.url, "--code", "NOPE-NOPE-NOPE", "--data-dir", str(tmp_path))
    assert refused.returncode == 1 and refused.stderr.startswith("error: ")
    not_enrolled = field_app("sync", "--once", "--data-dir", str(tmp_path))
    assert not_enrolled.returncode == 1 and "not enrolled" in not_enrolled.stderr


def test_a_refused_entry_is_listed_then_retried(data_dir: Path) -> None:
    db = open_db(database_path(data_dir))
    [entry] = outbox.entries(db)
    broken = {k: v for k, v in entry.payload.items() if k != "sex"}
    db.execute("UPDATE outbox SET payload = ? WHERE seq = ?", [json.dumps(broken), entry.seq])
    db.close()
    assert field_app("sync", "--once", "--data-dir", str(data_dir)).returncode == 0
    [item] = status(data_dir)["quarantined"]
    assert (item["seq"], item["code"], item["entity"]) == (entry.seq, "invalid_payload", "returnee")
    assert item["message"].startswith("The hub found this record invalid")
    text = field_app("sync", "status", "--data-dir", str(data_dir)).stdout
    assert f"#{entry.seq} Returnee record" in text and "Refused by the hub: 1" in text
    assert field_app("sync", "retry", "999", "--data-dir", str(data_dir)).returncode == 1
    retried = field_app("sync", "retry", str(entry.seq), "--data-dir", str(data_dir))
    assert retried.returncode == 0 and retried.stdout.startswith("1 ")
    assert field_app("sync", "--once", "--data-dir", str(data_dir)).returncode == 0  # the record as stored now
    assert status(data_dir)["quarantined"] == [] and status(data_dir)["pending"] == 0


def test_sync_keeps_going_until_ctrl_c(data_dir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "field_app", "sync", "--interval", "0.5", "--data-dir", str(data_dir)],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]  # two syncs, one line each
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert all(" ok: sent " in line for line in lines), lines
    assert "sent 1 (1 new" in lines[0] and "sent 0 " in lines[1]
    assert out.strip().endswith("stopped")


def test_a_failing_hub_is_reported_with_the_next_attempt(tmp_path: Path, hub: HubProcess) -> None:
    assert (
        field_app(
            "device", "enrol", "--hub", hub.url, "--code", hub.enrol_code(), "--data-dir", str(tmp_path)
        ).returncode
        == 0
    )
    db = open_db(database_path(tmp_path))
    db.execute("UPDATE sync_state SET hub_url = 'http://127.0.0.1:9'")  # the hub moved away: nothing answers
    db.close()
    started = time.monotonic()
    once = field_app("sync", "--once", "--data-dir", str(tmp_path))
    assert once.returncode == 1 and "cannot be reached" in once.stderr
    assert time.monotonic() - started < 30
    state = status(tmp_path)
    assert state["last_result"] == "offline" and state["failures"] == 1 and state["next_attempt_at"]
