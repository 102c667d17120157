"""Search before create: how likely is it that a new registration is someone already registered?

Pure scoring over plain values. Names are compared accent- and case-blind, in either order (people give
"Moussa Diarra" or "Diarra Moussa"); a shared phone number is strong evidence; a birth year within a year helps.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from field_app.domain.geo import fold

NAME_THRESHOLD = 0.82
SCORE_THRESHOLD = 0.6


@dataclass(frozen=True)
class Candidate:
    """The few facts used to compare two people."""

    id: str
    given_name: str
    family_name: str
    phone: str | None
    birth_year: int | None


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    reasons: tuple[str, ...]  # same_phone, similar_name, same_birth_year


def _orders(given: str, family: str) -> tuple[str, str]:
    return f"{fold(given)} {fold(family)}", f"{fold(family)} {fold(given)}"


def name_similarity(given_a: str, family_a: str, given_b: str, family_b: str) -> float:
    """0..1 similarity of two full names: the best over both name orders of each, compared both ways.

    SequenceMatcher's ratio depends on which string comes first and on word order, so every pairing is tried:
    the result is then the same whichever name order either person gave, and whichever person is "new".
    """
    return max(
        max(SequenceMatcher(None, x, y).ratio(), SequenceMatcher(None, y, x).ratio())
        for x in _orders(given_a, family_a)
        for y in _orders(given_b, family_b)
    )


def _may_be_similar(new: Candidate, old: Candidate) -> bool:
    """Cheap upper bound (same letters, any order) before the exact comparison: most people differ a lot."""
    a, b = _orders(new.given_name, new.family_name)[0], _orders(old.given_name, old.family_name)[0]
    return SequenceMatcher(None, a, b).quick_ratio() >= NAME_THRESHOLD


def score(new: Candidate, old: Candidate) -> Match:
    reasons: list[str] = []
    total = 0.0
    if new.phone and old.phone and new.phone == old.phone:
        reasons.append("same_phone")
        total += 0.6
    similarity = (
        name_similarity(new.given_name, new.family_name, old.given_name, old.family_name)
        if _may_be_similar(new, old)
        else 0.0
    )
    if similarity >= NAME_THRESHOLD:
        reasons.append("similar_name")
        total += 0.5 * similarity
    if new.birth_year is not None and old.birth_year is not None and abs(new.birth_year - old.birth_year) <= 1:
        reasons.append("same_birth_year")
        total += 0.2 if reasons != ["same_birth_year"] else 0.0  # a birth year alone proves nothing
    return Match(old.id, round(min(total, 1.0), 3), tuple(reasons))


def likely_duplicates(new: Candidate, existing: list[Candidate], limit: int = 5) -> list[Match]:
    """Existing people who are probably `new`, most likely first."""
    matches = [m for m in (score(new, old) for old in existing if old.id != new.id) if m.score >= SCORE_THRESHOLD]
    matches.sort(key=lambda m: (-m.score, m.id))
    return matches[:limit]
