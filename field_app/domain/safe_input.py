"""Text and JSON from outside the app, held to limits before anything reads them (issue 10, item 8).

Pure: no I/O, no words for people. A fault is a code (`InputFault`) with where it is (`path`, e.g. `given_name`
or `languages/3`) and the limit it broke; `field_app.returnees.form.input_problem` says it in the person's
language as a `field: message` line. Every door that reads a record (the returnee form, `returnee add --json`,
`eligible --profile`, any command-line text) goes through here, so that no input gives a traceback, stores a
character the hub refuses for ever, or makes an error message echo megabytes back.

What is refused, and why:
- in text: NUL (PostgreSQL text cannot hold it: the hub would refuse the record for ever), the other C0 and C1
  control characters except tab, line feed and carriage return (invisible, they make two names that look the
  same differ), and lone UTF-16 surrogates (not Unicode text: the database and the wire cannot encode them);
- in JSON (`loads`): more than `max_bytes`, anything but UTF-8 (a byte order mark is allowed), nesting deeper than
  `max_depth`, more than `max_items` in one list or object, a text longer than `max_text`, a key longer than
  `max_key`, the same key twice, an integer of more than `max_digits` digits (Python refuses above 4,300 with a
  ValueError; nothing we read needs more than a few), NaN, Infinity and floats that overflow to it.
`shown(text)` is what an error message may quote of the input: at most 60 characters (`errors.clip`), with the
refused characters written as `\\uXXXX`, so that a message never carries them either.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from field_app.errors import clip


class InputFault(StrEnum):
    TOO_LARGE = "too_large"  # the whole input: more than max_bytes
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deep"
    TOO_MANY = "too_many"  # items in one list or object
    TOO_LONG = "too_long"  # one text, or one key
    BIG_NUMBER = "big_number"
    NOT_FINITE = "not_finite"  # NaN, Infinity, 1e999
    DUPLICATE_KEY = "duplicate_key"
    NUL = "nul"
    CONTROL = "control"
    SURROGATE = "surrogate"


@dataclass(frozen=True)
class Limits:
    """Bounds for one JSON document. The defaults fit a record typed by a person (a returnee is about 1 kB)."""

    max_bytes: int = 64 * 1024
    max_depth: int = 8  # the document itself is depth 1: {"languages": ["fr"]} is depth 2
    max_items: int = 200
    max_text: int = 4000
    max_key: int = 100
    max_digits: int = 15


RECORD = Limits()


class UnsafeInput(ValueError):
    """Input refused before it is read. `path`: where ("" for the whole input; keys are `shown`); `limit`: the
    bound broken, when there is one; `char`: the refused character as U+XXXX; `line`/`column` for NOT_JSON."""

    def __init__(
        self,
        fault: InputFault,
        *,
        path: str = "",
        limit: int | None = None,
        char: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.fault = fault
        self.path = path
        self.limit = limit
        self.char = char
        self.line = line
        self.column = column
        super().__init__(f"{path or '(input)'}: {fault.value}" + (f" ({char})" if char else ""))


# Controls except \t \n \r, DEL and C1, and every surrogate code point (a str holds them only unpaired).
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _fault_of(ch: str) -> InputFault:
    if ch == "\x00":
        return InputFault.NUL
    if "\ud800" <= ch <= "\udfff":
        return InputFault.SURROGATE
    return InputFault.CONTROL


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def text_fault(text: str) -> tuple[InputFault, str] | None:
    """The first refused character of `text` as (fault, "U+XXXX"), or None when the text is clean."""
    found = _REFUSED.search(text)
    if found is None:
        return None
    return _fault_of(found.group()), code_point(found.group())


def check_text(text: str, *, path: str = "", max_length: int | None = None) -> str:
    """`text` itself when it may be kept; UnsafeInput otherwise (a refused character, or longer than
    `max_length`)."""
    if max_length is not None and len(text) > max_length:
        raise UnsafeInput(InputFault.TOO_LONG, path=path, limit=max_length)
    fault = text_fault(text)
    if fault is not None:
        raise UnsafeInput(fault[0], path=path, char=fault[1])
    return text


def cleaned(value: object) -> object:
    """For models: a text without the refused characters (controls dropped, lone surrogates as U+FFFD); anything
    else unchanged. The doors refuse such text with a message first; this keeps a record read back from an older
    database (which may hold a NUL) loadable, and a model built any other way clean."""
    if not isinstance(value, str) or _REFUSED.search(value) is None:
        return value
    return _REFUSED.sub(lambda m: "\ufffd" if _fault_of(m.group()) is InputFault.SURROGATE else "", value)


def shown(text: object, limit: int = 60) -> str:
    """What an error message may quote of `text`: at most `limit` characters, refused characters as \\uXXXX."""
    words = text if isinstance(text, str) else str(text)
    head = words[: limit + 1]
    safe = _REFUSED.sub(lambda m: f"\\u{ord(m.group()):04x}", head)
    return clip(safe + ("…" if len(words) > len(head) else ""), limit)


# --- JSON --------------------------------------------------------------------------------------------------------


class _Oversized:
    """An integer literal with too many digits, kept unread (Python would refuse it above 4,300 digits)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


class _NotFinite:
    """NaN, Infinity, -Infinity, or a float literal that overflows to infinity."""


class _Object(dict[str, Any]):
    """A JSON object that remembers its first repeated key (json keeps the last value without a word)."""

    repeated: str | None = None


def _int(text: str, limits: Limits) -> int | _Oversized:
    digits = len(text.lstrip("-"))
    return _Oversized(digits) if digits > limits.max_digits else int(text)


def _float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if math.isfinite(value) else _NotFinite()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    made = _Object()
    for key, value in pairs:
        if key in made and made.repeated is None:
            made.repeated = key
        made[key] = value
    return made


def loads(raw: bytes | str, limits: Limits = RECORD) -> Any:
    """The JSON value in `raw`, plain dicts, lists, texts, numbers, booleans and None, every limit checked;
    UnsafeInput at the first fault (in document order)."""
    if isinstance(raw, bytes):
        if len(raw) > limits.max_bytes:
            raise UnsafeInput(InputFault.TOO_LARGE, limit=limits.max_bytes)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UnsafeInput(InputFault.NOT_UTF8) from None
    else:
        if len(raw) > limits.max_bytes or len(raw.encode("utf-8", "surrogatepass")) > limits.max_bytes:
            raise UnsafeInput(InputFault.TOO_LARGE, limit=limits.max_bytes)
        text = raw.removeprefix("\ufeff")
    try:
        data = json.loads(
            text,
            parse_int=lambda s: _int(s, limits),
            parse_float=_float,
            parse_constant=lambda s: _NotFinite(),
            object_pairs_hook=_object,
        )
    except RecursionError:  # deeper than Python's own stack allows: far beyond max_depth
        raise UnsafeInput(InputFault.TOO_DEEP, limit=limits.max_depth) from None
    except json.JSONDecodeError as exc:
        raise UnsafeInput(InputFault.NOT_JSON, line=exc.lineno, column=exc.colno) from None
    return _checked(data, limits)


def _walk(value: Any, path: str, depth: int, limits: Limits) -> Iterator[tuple[Any, str, int]]:
    """The children of a container, with their path and depth (keys checked on the way)."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}/{shown(key, 40)}" if path else shown(key, 40)
            check_text(key, path=where, max_length=limits.max_key)
            yield item, where, depth + 1
    else:
        for index, item in enumerate(value):
            yield item, f"{path}/{index}" if path else str(index), depth + 1


def _checked(data: Any, limits: Limits) -> Any:
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            check_text(value, path=path, max_length=limits.max_text)
        elif isinstance(value, _Oversized):
            raise UnsafeInput(InputFault.BIG_NUMBER, path=path, limit=limits.max_digits)
        elif isinstance(value, _NotFinite):
            raise UnsafeInput(InputFault.NOT_FINITE, path=path)
        elif isinstance(value, dict | list):
            if depth > limits.max_depth:
                raise UnsafeInput(InputFault.TOO_DEEP, path=path, limit=limits.max_depth)
            if len(value) > limits.max_items:
                raise UnsafeInput(InputFault.TOO_MANY, path=path, limit=limits.max_items)
            if isinstance(value, _Object) and value.repeated is not None:
                where = shown(value.repeated, 40)
                raise UnsafeInput(InputFault.DUPLICATE_KEY, path=f"{path}/{where}" if path else where)
            stack.extend(reversed(list(_walk(value, path, depth, limits))))
    return _plain(data)


def _plain(value: Any) -> Any:
    """Plain dicts instead of the loader's own (checked first: the depth is bounded, recursion is safe)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
