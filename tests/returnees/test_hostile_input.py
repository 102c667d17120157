"""Hostile input at the doors that read a record (issue 10, item 8): `safe_input.loads` holds JSON to its limits,
the form refuses NUL, control characters and lone surrogates with a named, localised problem, no message quotes
more than a short piece of the input, and the model never holds a refused character."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from field_app.domain.returnees import Returnee
from field_app.domain.safe_input import RECORD, InputFault, Limits, UnsafeInput, cleaned, loads, shown, text_fault
from field_app.errors import ValidationError
from field_app.i18n import set_language
from field_app.returnees.form import MAX_UNKNOWN_SHOWN, input_problem, parse_returnee

NOW = dt.datetime(2025, 3, 10, 9, 30, tzinfo=dt.UTC)
GOOD: dict[str, Any] = {
    "given_name": "Fatoumata",
    "family_name": "Traoré",
    "sex": "F",
    "age": 26,
    "region": "segou",
    "languages": ["bm", "fr"],
    "trade_before": "couturière",
    "consent": True,
}


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("fr")


def fault_of(raw: bytes | str, limits: Limits = RECORD) -> UnsafeInput:
    with pytest.raises(UnsafeInput) as caught:
        loads(raw, limits)
    return caught.value


def parse(data: dict[str, Any]) -> Returnee:
    return parse_returnee(data, today=NOW.date(), now=NOW, new_id=lambda: "0b6f3c1e-5d7a-4e8b-9c2d-1a2b3c4d5e6f",
                          localities={})  # fmt: skip


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse(data)
    return {p.field: p.message for p in caught.value.problems}


# --- the JSON loader ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "fault", "path"),
    [
        ("[" * 100_000 + "]" * 100_000, InputFault.TOO_LARGE, ""),
        ("[" * 30_000 + "]" * 30_000, InputFault.TOO_DEEP, ""),  # beyond Python's own stack
        ('{"x": ' + "[" * 9 + "]" * 9 + "}", InputFault.TOO_DEEP, "x/0/0/0/0/0/0/0"),
        ('{"age": ' + "9" * 5000 + "}", InputFault.BIG_NUMBER, "age"),  # Python refuses above 4,300 digits
        ('{"age": -' + "9" * 16 + "}", InputFault.BIG_NUMBER, "age"),
        ('{"age": NaN}', InputFault.NOT_FINITE, "age"),
        ('{"age": -Infinity}', InputFault.NOT_FINITE, "age"),
        ('{"age": 1e999}', InputFault.NOT_FINITE, "age"),
        ('{"given_name": "A\\ud800b"}', InputFault.SURROGATE, "given_name"),
        ('{"given_name": "A\\udfffb"}', InputFault.SURROGATE, "given_name"),
        ('{"given_name": "A\\u0000b"}', InputFault.NUL, "given_name"),
        ('{"languages": ["fr", "b\\u001bm"]}', InputFault.CONTROL, "languages/1"),
        ('{"note": "\\u0085"}', InputFault.CONTROL, "note"),  # C1 too
        ('{"a\\u0000": 1}', InputFault.NUL, "a\\u0000"),  # a key, quoted escaped
        ('{"given_name": "A", "given_name": "B"}', InputFault.DUPLICATE_KEY, "given_name"),
        ('{"k": [' + ",".join(["1"] * 201) + "]}", InputFault.TOO_MANY, "k"),
        ('{"k": "' + "x" * 4001 + '"}', InputFault.TOO_LONG, "k"),
        ('{"' + "k" * 101 + '": 1}', InputFault.TOO_LONG, "k" * 39 + "…"),
        ('{"a": 1', InputFault.NOT_JSON, ""),
        (b"\xff\xfe{}", InputFault.NOT_UTF8, ""),
        (b'{"a": "\xc3"}', InputFault.NOT_UTF8, ""),
    ],
    ids=lambda v: v.value if isinstance(v, InputFault) else None,
)
def test_the_loader_refuses_what_it_must(raw: str | bytes, fault: InputFault, path: str) -> None:
    caught = fault_of(raw)
    assert (caught.fault, caught.path) == (fault, path)
    assert len(str(caught)) < 120  # never the input itself


def test_a_10_mb_key_is_never_read_whole() -> None:
    caught = fault_of('{"' + "k" * 10_000_000 + '": 1}')
    assert caught.fault is InputFault.TOO_LARGE and caught.limit == RECORD.max_bytes


def test_what_is_allowed_comes_back_as_plain_json() -> None:
    text = json.dumps({**GOOD, "note": "line one\nline two\ttab", "n": 10**14, "x": 1.5, "none": None})
    assert loads(text) == json.loads(text)
    assert type(loads(text)) is dict
    assert loads(b"\xef\xbb\xbf" + text.encode()) == json.loads(text)  # a byte order mark is fine
    assert loads('{"deep": [[[[[[["ok"]]]]]]]}') == {"deep": [[[[[[["ok"]]]]]]]}  # depth 8: the limit itself


def test_text_checks_and_what_a_message_may_quote() -> None:
    assert text_fault("Fatoumata Traoré, N'Ko ߒߞߏ, عربي\n\t") is None
    assert text_fault("a\x00") == (InputFault.NUL, "U+0000")
    assert text_fault("a\x7f") == (InputFault.CONTROL, "U+007F")
    assert text_fault("\udcff") == (InputFault.SURROGATE, "U+DCFF")  # a byte that is not UTF-8, on the command line
    assert shown("k" * 10_000_000) == "k" * 59 + "…"
    assert shown("a\x00b\ud800") == "a\\u0000b\\ud800"
    assert cleaned("A\x00b\x1b[31m\ud800") == "Ab[31m\ufffd"
    assert cleaned(42) == 42


# --- the form ----------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("given_name", "Fatou\x00mata", "Contains a NUL character (U+0000), which cannot be stored: remove it."),
        ("family_name", "Tra\x1b[2Joré", "Contains an invisible control character (U+001B): remove it."),
        (
            "trade_before",
            "coutur\ud83dière",
            "Contains an invalid character (U+D83D, not Unicode text): type it again.",
        ),
        ("locality", "mar\x00kala", "Contains a NUL character (U+0000), which cannot be stored: remove it."),
        ("phone", "76\x0012 34 56", "Contains a NUL character (U+0000), which cannot be stored: remove it."),
    ],
)
def test_the_form_names_the_field_and_the_character(field: str, value: str, words: str) -> None:
    assert problems({**GOOD, field: value}) == {field: words}


@pytest.mark.usefixtures("english")
def test_no_message_quotes_more_than_a_short_piece_of_the_input() -> None:
    huge = "x" * 1_000_000
    found = problems({**GOOD, "sex": huge, "region": huge, "returned_from": [huge], "education": {huge: huge},
                      huge: 1, "languages": [huge]})  # fmt: skip
    assert len(found) == 6
    for field, message in found.items():
        assert len(field) <= 40 and len(message) < 300, (field[:80], message[:80])
    assert "x" * 41 not in "".join(found) and "x" * 61 not in "".join(found.values())


@pytest.mark.usefixtures("english")
def test_many_unknown_fields_are_counted_not_all_listed() -> None:
    found = problems({**GOOD, **{f"extra_{n:03}": n for n in range(150)}})
    assert len(found) == MAX_UNKNOWN_SHOWN + 1
    assert found["…"] == f"and {150 - MAX_UNKNOWN_SHOWN} more unknown fields."


def test_the_form_says_it_in_french() -> None:
    set_language("fr")
    message = problems({**GOOD, "given_name": "A\x00"})["given_name"]
    assert (
        "NUL" in message
        and "U+0000" in message
        and message != ("Contains a NUL character (U+0000), which cannot be stored: remove it.")
    )
    caught = fault_of('{"a": ' + "[" * 9 + "]" * 9 + "}")
    problem = input_problem(caught, where="--json", source="entrée standard")
    assert problem.field == "a/0/0/0/0/0/0/0" and "8" in problem.message and "Nested" not in problem.message


def test_the_model_never_holds_a_refused_character() -> None:
    made = parse(GOOD)
    assert made.given_name == "Fatoumata"
    stored = made.model_dump_json().replace("Fatoumata", "Fatou\\u0000mata").replace("couturi", "cou\\u001bturi")
    read_back = Returnee.model_validate_json(stored)  # a record written by an older version, NUL and all
    assert (read_back.given_name, read_back.trade_before) == ("Fatoumata", "couturière")
    direct = made.model_copy(update={})
    assert Returnee.model_validate({**direct.model_dump(), "family_name": "Tra\x00oré"}).family_name == "Traoré"


# --- the screen's form, and a record from an older version ---------------------------------------------------


@pytest.mark.usefixtures("english")
def test_the_screen_form_shows_the_problem_under_the_field(fresh_db: Any) -> None:
    from field_app.storage.outbox import entries
    from field_app.storage.returnees import list_returnees
    from field_app.ui.viewmodels.returnee_form import Outcome, ReturneeFormViewModel

    vm = ReturneeFormViewModel(fresh_db, lambda: NOW)
    for name, value in {"given_name": "Awa\x00", "family_name": "Dia\u202erra\x07", "sex": "F", "region": "kayes",
                        "consent": True, "age": "9" * 5000, "trade_before": "x" * 100_000}.items():  # fmt: skip
        vm.set(name, value)
    assert vm.submit() is Outcome.INVALID
    assert vm.errors["given_name"] == "Contains a NUL character (U+0000), which cannot be stored: remove it."
    assert vm.errors["family_name"] == "Contains an invisible control character (U+0007): remove it."
    assert vm.errors["age"] == "Age must be a whole number of years."
    assert vm.errors["trade_before"].startswith("Trade before leaving is too long")
    assert list_returnees(fresh_db) == [] and entries(fresh_db) == []


@pytest.mark.usefixtures("english")
def test_a_record_stored_with_a_nul_by_an_older_version_opens_and_saves_clean(fresh_db: Any) -> None:
    from field_app.returnees.service import register
    from field_app.storage.outbox import entries
    from field_app.storage.returnees import get_returnee
    from field_app.ui.viewmodels.returnee_form import Outcome, ReturneeFormViewModel

    made = register(fresh_db, {**GOOD, "region": "kayes"}, now=NOW)
    with fresh_db.atomic():  # what an older version let through
        fresh_db.execute("UPDATE returnees SET document = replace(document, 'Fatoumata', 'Fatou\\u0000mata')")
    assert "\\u0000" in fresh_db.execute("SELECT document FROM returnees").fetchone()[0]
    assert get_returnee(fresh_db, made.id).given_name == "Fatoumata"  # readable, never holding the NUL
    vm = ReturneeFormViewModel(fresh_db, lambda: NOW, made.id)
    vm.set("trade_before", "teinturière")
    assert vm.submit() is Outcome.SAVED
    last = entries(fresh_db)[-1]
    assert "\x00" not in json.dumps(last.payload) and "\\u0000" not in json.dumps(last.payload)
    assert last.payload["given_name"] == "Fatoumata"
