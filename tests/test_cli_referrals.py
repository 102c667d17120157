"""`field-app referral` for issue 9, as scripts use it (real processes, real files): a second open referral of the
same person to the same service is refused with exit 1 and a localised message unless `--force`; `referral list`
pages through every referral; `referral slip --sms` prints the one-SMS slip in the person's language."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from subprocess import CompletedProcess

from field_app.referrals.service import refer
from field_app.storage.database import open_db
from tests.test_cli_casework import MOUSSA, add_returnee, built, cli, count, data_dir  # noqa: F401 (fixtures)
from tests.test_cli_casework import rows as query

SERVICE = "ifpi-kayes/mecanique-auto"


def create(where: Path, returnee: str, *extra: str, env: dict[str, str] | None = None) -> CompletedProcess[str]:
    return cli(where, "referral", "create", "--returnee", returnee, "--service", SERVICE, "--consent", *extra, env=env)


def test_a_second_open_referral_is_refused_unless_forced(data_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    returnee = add_returnee(data_dir, tmp_path)
    first = create(data_dir, returnee)
    assert first.returncode == 0, first.stderr
    outbox = count(data_dir, "outbox")

    again = create(data_dir, returnee)
    assert again.returncode == 1 and again.stdout == ""
    assert "Moussa Diarra was already referred to this service on " in again.stderr
    assert "(Waiting to be sent)" in again.stderr and "--force" in again.stderr
    assert count(data_dir, "referrals") == 1 and count(data_dir, "outbox") == outbox

    french = create(data_dir, returnee, env={"FIELD_APP_LANG": "fr"})
    assert french.returncode == 1
    assert (
        french.stderr.startswith("erreur") and "Moussa Diarra a déjà été orienté vers ce service le " in french.stderr
    )
    assert "(En attente d" in french.stderr

    forced = create(data_dir, returnee, "--force")
    assert forced.returncode == 0, forced.stderr
    assert count(data_dir, "referrals") == 2

    for referral in (first.stdout.strip(), forced.stdout.strip()):
        assert cli(data_dir, "referral", "cancel", referral).returncode == 0
    after_cancel = create(data_dir, returnee)  # nothing open any more: no confirmation needed
    assert after_cancel.returncode == 0, after_cancel.stderr


def test_list_pages_through_every_referral(data_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    returnee = add_returnee(data_dir, tmp_path)
    services = [r[0] for r in query(data_dir, "SELECT id FROM services ORDER BY id LIMIT 55")]
    db = open_db(data_dir / "field_app.db")  # 55 referrals (more than a page of 50), made in-process: quicker
    start = dt.datetime(2026, 12, 2, 8, tzinfo=dt.UTC)
    made = [
        refer(db, returnee_id=returnee, service_id=s, consent_share=True, now=start + dt.timedelta(minutes=n // 2)).id
        for n, s in enumerate(services)
    ]
    db.close()
    listed = json.loads(cli(data_dir, "referral", "list", "--json").stdout)
    assert sorted(x["id"] for x in listed) == sorted(made)
    assert [x["created_at"] for x in listed] == sorted((x["created_at"] for x in listed), reverse=True)
    assert {x["returnee"] for x in listed} == {"Moussa Diarra"} and all(
        x["code"] == x["id"][:8].upper() for x in listed
    )
    readable = cli(data_dir, "referral", "list", "--returnee", returnee).stdout.splitlines()
    assert len(readable) == len(made)


def test_slip_as_one_sms_in_the_persons_language(data_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    english = add_returnee(data_dir, tmp_path, {**MOUSSA, "languages": ["en"]})
    referral = create(data_dir, english).stdout.strip()
    sms = cli(data_dir, "referral", "slip", referral, "--sms", env={"FIELD_APP_LANG": "fr"})
    assert sms.returncode == 0, sms.stderr
    text = sms.stdout.rstrip("\n")
    assert referral[:8].upper() in text and "Where: Kayes" in text  # in English, the person's language
    assert "+223" in text and "/" not in text  # a number to dial, not the fiche's "+223/…"
    assert len(text) <= 160 and sms.stderr.strip() == f"1 SMS · {len(text)} caractères"  # the cost, in French
    full = cli(data_dir, "referral", "slip", referral)
    assert full.returncode == 0 and "Moussa Diarra" in full.stdout and len(full.stdout) > len(text)
