"""The command line given hostile input (issue 10, item 8), as a script would give it: real processes over a real
data directory. Every case exits 1 with `field: message` lines on stderr — no traceback, nothing stored, nothing
long quoted back — and what is allowed still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import REPO, run

PERSON = {"given_name": "Awa", "family_name": "Diarra", "sex": "F", "age": 30, "region": "kayes", "consent": True}
SURROGATE = (
    '{"given_name": "A\\ud800b", "family_name": "Diarra", "sex": "F", "age": 30, "region": "kayes", "consent": true}'
)
CASES = {
    "deep": ("[" * 100_000 + "]" * 100_000, "--json: ", "is too large (at most 64 kB)."),
    "deep_small": ('{"age": 30, "x": ' + "[" * 40 + "]" * 40 + "}", "x/0/0/0/0/0/0/0: ", "Nested too deeply"),
    "big_int": ('{"age": ' + "9" * 5000 + "}", "age: ", "too many digits (at most 15)."),
    "surrogate": (SURROGATE, "given_name: ", "(U+D800, not Unicode text)"),
    "nul": (json.dumps({**PERSON, "given_name": "A\x00b"}), "given_name: ", "NUL character (U+0000)"),
    "escape": (json.dumps({**PERSON, "family_name": "D\x1b[2Jiarra"}), "family_name: ", "control character (U+001B)"),
    "big_key": ('{"' + "k" * 10_000_000 + '": 1}', "--json: ", "is too large"),
    "long_key": (json.dumps({**PERSON, "k" * 5000: 1}), "k" * 39 + "…: ", "Too long (at most 100 characters)."),
    "twice": ('{"given_name": "A", "given_name": "B"}', "given_name: ", "Given twice."),
    "nan": (json.dumps({**PERSON, "age": float("nan")}), "age: ", "NaN and Infinity are not allowed."),
    "not_json": ('{"age": 30,', "--json: ", "is not valid JSON (line 1, column 12)."),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    done = run("directory", "build", "--data-dir", str(path))
    assert done.returncode == 0, done.stderr
    return path


def stored(data_dir: Path) -> list[str]:
    done = run("returnee", "list", "--json", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    return [r["id"] for r in json.loads(done.stdout)]


def refused(done: subprocess.CompletedProcess[str], longest: int = 400) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr[-500:])
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr[-500:]
    assert len(done.stderr) < longest, done.stderr[:longest]
    return done.stderr


@pytest.mark.parametrize("case", list(CASES))
def test_returnee_add_refuses_hostile_json(case: str, data_dir: Path, tmp_path: Path) -> None:
    text, where, words = CASES[case]
    file = tmp_path / "record.json"
    file.write_text(text, encoding="utf-8")
    before = stored(data_dir)
    stderr = refused(run("returnee", "add", "--json", str(file), "--force", "--data-dir", str(data_dir)))
    assert stderr.startswith(where) and words in stderr, stderr
    assert stored(data_dir) == before


def test_the_same_from_standard_input_and_for_a_profile(data_dir: Path) -> None:
    env = {**os.environ, "FIELD_APP_LANG": "en"}
    before = stored(data_dir)
    for args in (["returnee", "add", "--json", "-"], ["eligible", "--profile", "-"]):
        done = subprocess.run(
            [sys.executable, "-m", "field_app", *args, "--data-dir", str(data_dir)],
            input=b'{"age": ' + b"9" * 5000 + b', "sex": "F\\u0000"}',
            capture_output=True, cwd=REPO, env=env, timeout=120, check=False,
        )  # fmt: skip
        stderr = refused(subprocess.CompletedProcess(done.args, done.returncode, "", done.stderr.decode()))
        assert stderr == "age: A number with too many digits (at most 15).\n"
        not_utf8 = subprocess.run(
            [sys.executable, "-m", "field_app", *args, "--data-dir", str(data_dir)],
            input=b'{"given_name": "\xff"}', capture_output=True, cwd=REPO, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert not_utf8.returncode == 1, not_utf8.stderr
        assert not_utf8.stderr.decode() == f"{args[-2]}: standard input is not UTF-8 text.\n"
    assert stored(data_dir) == before


def test_unknown_fields_are_short_and_counted(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "record.json"
    file.write_text(json.dumps({**PERSON, **{f"{n:03}{'z' * 90}": n for n in range(150)}}), encoding="utf-8")
    stderr = refused(run("returnee", "add", "--json", str(file), "--data-dir", str(data_dir)), longest=700)
    lines = stderr.splitlines()
    assert len(lines) == 11 and lines[-1] == "…: and 140 more unknown fields.", lines
    assert lines[:10] == [f"{n:03}{'z' * 36}…: unknown field." for n in range(10)]


def test_command_line_text_is_held_to_the_same_rules(data_dir: Path) -> None:
    # argv cannot carry a NUL; it can carry a terminal escape, and bytes that are not UTF-8 (lone surrogates)
    done = refused(run("returnee", "list", "--search", "Awa\x1b[31m", "--data-dir", str(data_dir)))
    assert done == "search: Contains an invisible control character (U+001B): remove it.\n"
    raw = subprocess.run(
        [sys.executable.encode(), b"-m", b"field_app", b"referral", b"create", b"--returnee", b"r", b"--service",
         b"s", b"--note", b"caf\xe9", b"--data-dir", str(data_dir).encode()],
        capture_output=True, cwd=REPO, env={**os.environ, "FIELD_APP_LANG": "en"}, timeout=120, check=False,
    )  # fmt: skip
    assert raw.returncode == 1 and raw.stderr.decode() == (
        "note: Contains an invalid character (U+DCE9, not Unicode text): type it again.\n"
    ), raw.stderr


def test_what_is_allowed_still_goes_in(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "record.json"
    person = {**PERSON, "given_name": "Awa\tN'Ko ߊ", "trade_before": "couture\nbroderie"}
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps(person, ensure_ascii=False).encode())
    done = run("returnee", "add", "--json", str(file), "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    shown = run("returnee", "show", done.stdout.strip(), "--json", "--data-dir", str(data_dir))
    record = json.loads(shown.stdout)
    assert (record["given_name"], record["trade_before"]) == ("Awa N'Ko ߊ", "couture broderie")


def test_returnee_edit_goes_through_the_same_door(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "record.json"
    file.write_text(json.dumps({**PERSON, "given_name": "Mariam", "family_name": "Sangaré"}), encoding="utf-8")
    added = run("returnee", "add", "--json", str(file), "--data-dir", str(data_dir))
    assert added.returncode == 0, added.stderr
    rid = added.stdout.strip()

    def record() -> dict[str, object]:
        done = run("returnee", "show", rid, "--json", "--data-dir", str(data_dir))
        assert done.returncode == 0, done.stderr
        loaded: dict[str, object] = json.loads(done.stdout)
        return loaded

    before = record()
    for text, line in (
        ('{"trade_before": "menui\\u0000sier"}', "trade_before: Contains a NUL character (U+0000)"),
        ('{"age": ' + "1" * 400 + "}", "age: A number with too many digits (at most 15)."),
        ('{"' + "q" * 300 + '": 1}', "q" * 39 + "…: Too long (at most 100 characters)."),
    ):
        file.write_text(text, encoding="utf-8")
        stderr = refused(run("returnee", "edit", rid, "--json", str(file), "--data-dir", str(data_dir)))
        assert stderr.startswith(line), stderr
    assert record() == before
    file.write_text('{"trade_before": "menuisier", "phone": null}', encoding="utf-8")
    done = run("returnee", "edit", rid, "--json", str(file), "--data-dir", str(data_dir))
    assert done.returncode == 0 and done.stdout.strip() == rid, done.stderr
    after = record()
    assert (after["trade_before"], after["version"], after["given_name"]) == ("menuisier", 2, "Mariam")
