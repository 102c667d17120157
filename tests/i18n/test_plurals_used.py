"""No count in a plain gettext call: a message like `_("{n} services")` reads "1 services" (and French can never
agree), so a placeholder followed by a plural noun must go through `ngettext`. This test reads field_app's source
(the syntax tree, so strings split over lines are seen whole) and lists every `_()`, `N_()` and `pgettext()` whose
message puts a placeholder before a plural English word ("{n} days", "{n} of {total} referrals",
"{n} more services", "{n} people"). ALLOWED is for a deliberate exception, each with its reason; it is empty.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from field_app import i18n
from field_app.domain.eligibility import Reason, Status
from field_app.labels import REFERRAL_STATUSES, label, reason_message, too_long
from field_app.sync.engine import SyncReport

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "field_app"

# A format field ("{n}", "{total}", "{n:>3}"), then at most two words, then a plural word (regular or irregular).
PLACEHOLDER = r"\{\w+(?:![rsa])?(?::[^{}]*)?\}"
WORD = r"[A-Za-z][A-Za-z'’-]*"
PLURAL = re.compile(rf"{PLACEHOLDER}(?: {WORD}){{0,2}}? (?P<word>{WORD}s|people|children|men|women)\b")
# Words ending in "s" that are not plural nouns, seen after a placeholder ("{label} is required", "{name} has").
NOT_PLURAL = frozenset(
    {"is", "was", "has", "does", "this", "its", "his", "as", "us", "yes", "plus", "less", "thus", "always", "across"}
    | {"sms", "gps", "news", "status", "lies", "uses", "means", "needs", "goes", "says"}
)
# Calls whose message is translated as it stands (position of the message among the arguments).
CALLS = {"_": 0, "N_": 0, "pgettext": 1}

# Still to fix in files owned by other helpers of issue 9: (path under field_app/, msgid) → owner.
ALLOWED: dict[tuple[str, str], str] = {}


def count_problem(msgid: str) -> str | None:
    """The plural word `msgid` puts after a placeholder ("days" in "{n} days"), or None."""
    for found in PLURAL.finditer(msgid):
        if found["word"].lower() not in NOT_PLURAL:
            return found["word"]
    return None


def messages(path: Path) -> Iterator[tuple[int, str]]:
    """(line, msgid) of every plain gettext call in one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALLS):
            continue
        index = CALLS[node.func.id]
        if len(node.args) > index:
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value


def counts_without_ngettext() -> dict[tuple[str, str], list[int]]:
    """(path, msgid) → lines, for every gettext call of field_app with a count before a plural word."""
    found: dict[tuple[str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        for line, msgid in messages(path):
            if count_problem(msgid):
                found.setdefault((where, msgid), []).append(line)
    return found


def test_every_count_before_a_plural_goes_through_ngettext() -> None:
    bad = {k: lines for k, lines in counts_without_ngettext().items() if k not in ALLOWED}
    listing = "\n".join(f"  field_app/{path}:{lines[0]}: {msgid!r}" for (path, msgid), lines in sorted(bad.items()))
    assert not bad, f"counts in plain _() — use ngettext(singular, plural, n):\n{listing}"


def test_the_allowlist_has_no_fixed_entries() -> None:
    """Each entry of ALLOWED still occurs: when its owner fixes it, the entry goes too."""
    stale = sorted(set(ALLOWED) - set(counts_without_ngettext()))
    assert not stale, f"fixed since — remove from ALLOWED: {stale}"


@pytest.mark.parametrize(
    "msgid",
    [
        "{n} services",
        "{n} of {total} referrals",
        "Show {n} more services",
        "See all {n} people registered",
        "{n} overdue (no news for {days} days)",
        "{n} organisation files written to {path}",
        "More ({n:>3} of {total} entries)",
    ],
)
def test_the_scan_sees_counts(msgid: str) -> None:
    assert count_problem(msgid)


@pytest.mark.parametrize(
    "msgid",
    [
        "{label} is required.",
        "{name} does not work in this office's region",
        "{person} was already referred to this service on {date} ({status}).",
        "Overdue: {n} · conflicts: {m}",
        "{n} waiting to be sent",
        "{seconds} s",
        "This message takes {n} SMS",
        "{partners}, {services}",
    ],
)
def test_the_scan_leaves_other_messages_alone(msgid: str) -> None:
    assert count_problem(msgid) is None


def test_the_scan_reads_calls_split_over_lines(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        'x = _(\n    "{n} "\n    "rows written"\n)\ny = pgettext("man", "{n} days")\nz = ngettext("a", "b", 2)\n'
    )
    assert [(msgid, count_problem(msgid)) for _, msgid in messages(source)] == [
        ("{n} rows written", "rows"),
        ("{n} days", "days"),
    ]


# --- the words that come out ------------------------------------------------------------------------------------


@pytest.fixture
def french_after() -> Iterator[None]:
    yield
    i18n.set_language("fr")


def test_counts_agree_in_french_and_english(french_after: None) -> None:
    one = SyncReport(pushed=1, applied=1, pulled=1, cursor=7, duration_s=0.25)
    many = SyncReport(pushed=3, applied=2, duplicates=1, pulled=2, cursor=9)
    i18n.set_language("en")
    assert one.summary() == "sent 1 (1 new, 0 already there, 0 refused), received 1 change, cursor 7, 0.2 s"
    assert many.summary().startswith("sent 3 (2 new, 1 already there, 0 refused), received 2 changes")
    assert reason_message(Reason("above_max_age", Status.NOT_ELIGIBLE, (("max_age", "1"),))) == "Too old: up to 1 year."
    assert reason_message(Reason("below_min_age", Status.NOT_ELIGIBLE, (("min_age", "18"),))) == (
        "Too young: from 18 years."
    )
    i18n.set_language("fr")
    assert one.summary().startswith(
        "1 modification envoyée (1 nouvelle, 0 déjà reçue, 0 refusée), 1 modification reçue"
    )
    assert many.summary().startswith("3 modifications envoyées (2 nouvelles, 1 déjà reçue, 0 refusée), 2 modifications")
    assert reason_message(Reason("above_max_age", Status.NOT_ELIGIBLE, (("max_age", "30"),))).endswith("30 ans.")
    assert too_long("Note", 1).endswith("(au plus 1 caractère).")


def test_no_french_word_waits_for_a_gender(french_after: None) -> None:
    """ "Inscrit·e", "Trop âgé·e" under a person whose sex is known: French words agree (with the referral, or
    with `pgettext` by the person's sex) or are worded without a gender — never the inclusive middle dot."""
    with (ROOT / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        french = read_po(fh, locale="fr")
    dotted = [
        (m.id, text)
        for m in french
        if m.id
        for text in (m.string if isinstance(m.string, tuple) else (m.string,))
        if text and re.search(r"\w·\w", text)
    ]
    assert not dotted, dotted
    i18n.set_language("fr")
    assert label(REFERRAL_STATUSES, "enrolled") == "Inscrite"  # like Acceptée, Refusée, Terminée
