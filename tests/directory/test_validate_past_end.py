"""`field-app directory validate --as-of DATE` lists, without failing, the services still recorded open whose
stated end date has passed on that day (a real process, the bundled dataset and a copy edited to have none)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from field_app.directory.dataset import Dataset, services_past_their_end
from field_app.domain.vocabulary import ServiceStatus
from tests.test_cli import run

LINE = re.compile(r"^  ([a-z0-9-]+/[a-z0-9-]+) — .+: ended on (.+)$", re.MULTILINE)


def test_lists_the_open_services_past_their_end_and_exits_0(dataset: Dataset) -> None:
    result = run("directory", "validate", "--as-of", "2026-12-01")
    assert result.returncode == 0, result.stderr
    listed = LINE.findall(result.stdout)
    expected = services_past_their_end(dataset, dt.date(2026, 12, 1))
    assert [sid for sid, _ in listed] == [f"{o.id}/{s.id}" for o, s in expected]
    assert len(listed) >= 40 and f"{len(listed)} services recorded open have passed" in result.stdout
    assert ("danida/facej", "December 31, 2024") in listed  # FACEJ ran 2019-2024


def test_the_list_follows_the_date_given(dataset: Dataset) -> None:
    early = services_past_their_end(dataset, dt.date(2024, 1, 1))
    late = services_past_their_end(dataset, dt.date(2026, 12, 1))
    assert {(o.id, s.id) for o, s in early} < {(o.id, s.id) for o, s in late} and early
    for _org, svc in late:
        assert svc.status in (ServiceStatus.ACTIVE, ServiceStatus.FULL)
        assert svc.end_date is not None and svc.end_date < dt.date(2026, 12, 1)
    result = run("directory", "validate", "--as-of", "2022-12-31")
    assert result.returncode == 0
    assert LINE.findall(result.stdout) == [] and "No service recorded open has passed" in result.stdout


def test_a_file_whose_ended_service_is_marked_ended_is_no_longer_listed(dataset_copy: Path) -> None:
    path = dataset_copy / "organizations" / "danida.yaml"
    text = path.read_text(encoding="utf-8")
    facej = "    category: programme\n    programme: facej\n"
    text = text.replace(facej, facej.replace("programme: facej", "status: inactive\n    programme: facej"), 1)
    path.write_text(text, encoding="utf-8")
    result = run("directory", "validate", "--db-dir", str(dataset_copy), "--as-of", "2026-12-01")
    assert result.returncode == 0, result.stderr
    ids = [sid for sid, _ in LINE.findall(result.stdout)]
    assert "danida/facej" not in ids and "danida/epec" in ids


def test_a_bad_date_is_refused() -> None:
    result = run("directory", "validate", "--as-of", "2026-13-01")
    assert result.returncode == 2 and "--as-of" in result.stderr and "YYYY-MM-DD" in result.stderr
