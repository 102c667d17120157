"""Search before create: is a new registration probably someone already registered, and why?

Pure rules over plain values, chosen so that each can be found through an index (the storage keeps the keys
below in `returnee_keys`, migration 8): the check reads a few candidates, never every person.

- **Same name**: the same words once folded (accents, case, apostrophes, hyphens and word order do not count:
  "N'Diaye Fatoumata" = "Fatoumata Ndiaye"). In the same region that alone is a likely duplicate, whatever the
  stated ages (an age given at the door is often a guess); elsewhere it needs a birth year within one year.
- **Similar name**: the same *sound* under the spelling rules that vary in Malian names written in French or
  Bambara letters (`sound`: Coulibaly = Koulibaly = Kulibali, Diarra = Jara, Ouattara = Watara, Sissoko =
  Sisoko, Mamady = Mamadi…), or one word a typo away (one letter each side dropped: Fatoumta, Fatuomata), or a
  middle name more or less (Mamadou Lamine Traoré / Mamadou Traoré), or two words run together (Abdoul Karim /
  Abdoulkarim). It needs a second clue: the same region, a birth year within one year, or the same phone.
- **Same phone**: strong evidence on its own (though a family may share one phone: the agent decides).
- The same region and a birth year within one year are only ever supporting clues.

Every rule is symmetric and blind to name order: `score(a, b)` equals `score(b, a)`, with either name order.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

SCORE_THRESHOLD = 0.6
MIN_EDIT_LENGTH = 5  # a word must have at least this many sounds to take a typo (Sow/Sy, Awa/Ami stay apart)


class DuplicateReason(StrEnum):
    """Why an existing person may be the new one (labels: `field_app.labels.duplicate_reason_label`)."""

    SAME_PHONE = "same_phone"
    SAME_NAME_SAME_REGION = "same_name_same_region"
    SAME_NAME = "same_name"  # the same name, in another region (or one not known)
    SIMILAR_NAME = "similar_name"  # sounds the same, a typo away, a middle name more or less
    SAME_REGION = "same_region"  # beside another reason (the same name in the same region says it already)
    SAME_BIRTH_YEAR = "same_birth_year"  # born within one year of each other


WEIGHTS = {
    DuplicateReason.SAME_PHONE: 0.6,
    DuplicateReason.SAME_NAME_SAME_REGION: 0.7,
    DuplicateReason.SAME_NAME: 0.5,
    DuplicateReason.SIMILAR_NAME: 0.45,
    DuplicateReason.SAME_REGION: 0.15,  # counted only beside another reason
    DuplicateReason.SAME_BIRTH_YEAR: 0.2,  # counted only beside another reason
}
SUPPORTING = frozenset({DuplicateReason.SAME_REGION, DuplicateReason.SAME_BIRTH_YEAR})
ORDER = tuple(DuplicateReason)  # reasons are listed in this order


@dataclass(frozen=True)
class Candidate:
    """The few facts used to compare two people."""

    id: str
    given_name: str
    family_name: str
    phone: str | None
    birth_year: int | None
    region: str | None = None


@dataclass(frozen=True)
class Match:
    """An existing person (`id`) who may be the new one: how likely (0..1) and why, strongest reason first."""

    id: str
    score: float
    reasons: tuple[DuplicateReason, ...]


# --- names -------------------------------------------------------------------------------------------------------

_APOSTROPHES = "'’ʼ`´"
_LETTERS = {"ɛ": "e", "ɔ": "o", "ɲ": "ny", "ŋ": "ng", "œ": "oe", "æ": "ae", "ß": "ss"}


def name_words(given: str, family: str) -> list[str]:
    """The folded words of a full name, sorted: lower case, no accents, apostrophes dropped (N'Diaye → ndiaye),
    Bambara letters spelt out (ɲ → ny), hyphens and other marks as spaces."""
    text = f"{given} {family}".lower()
    for mark in _APOSTROPHES:
        text = text.replace(mark, "")
    text = "".join(_LETTERS.get(ch, ch) for ch in text)
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return sorted("".join(ch if ch.isalnum() else " " for ch in bare).split())


# Spelling rules applied in order to a folded word (French and Bambara spellings of the same sounds).
_SOUND_RULES: tuple[tuple[str, str], ...] = (
    (r"sh|sch", "x"),  # ch / sh / sch → one sound, kept apart from k
    (r"ch", "x"),
    (r"ph", "f"),
    (r"ck|kh|qu|q|c(?![eiy])", "k"),  # Cheick / Cheikh, Coulibaly / Koulibaly, Tiéqoura
    (r"c", "s"),  # ce, ci, cy
    (r"gn|ny", "N"),  # Bambara ɲ (spelt ny above), French gn
    (r"dj|d[iy](?=[aeou])", "j"),  # Djénéba / Jeneba, Diarra / Jara, Diallo / Jallo
    (r"gu(?=[ei])", "g"),  # Guindo / Gindo
    (r"ou|w", "u"),  # Oumar / Umar, Ouattara / Watara, Hawa / Haoua
    (r"y", "i"),  # Mamady / Mamadi, Coulibaly / Kulibali
    (r"h", ""),  # Ahmed / Amed, Hawa / Awa (sh, ch, ph, kh are handled above)
    (r"(.)\1+", r"\1"),  # double letters: Diallo / Dialo, Sissoko / Sisoko
    (r"(?<=[^aeiou])e$", ""),  # a final silent e: Ousmane / Ousman
)
_COMPILED = tuple((re.compile(p), r) for p, r in _SOUND_RULES)


def sound(word: str) -> str:
    """How a folded name word sounds, under the rules above ("coulibaly" → "kulibali"); never empty."""
    out = word
    for pattern, repl in _COMPILED:
        out = pattern.sub(repl, out)
    return out or word


@dataclass(frozen=True)
class NameKeys:
    """A full name reduced to what the rules compare (and the storage indexes)."""

    words: tuple[str, ...]  # folded, sorted: the same name ⇔ the same words
    sounds: tuple[str, ...]  # sound of each word, sorted

    @property
    def name_key(self) -> str:
        return " ".join(self.words)

    @property
    def sound_key(self) -> str:
        return " ".join(self.sounds)


def name_keys(given: str, family: str) -> NameKeys:
    words = name_words(given, family)
    return NameKeys(tuple(words), tuple(sorted(sound(w) for w in words)))


def _deletions(word: str) -> set[str]:
    """The word with one letter dropped, every way (only for words long enough to take a typo)."""
    if len(word) < MIN_EDIT_LENGTH:
        return set()
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def near_words(a: str, b: str) -> bool:
    """Equal, or a typo apart: one letter dropped from one or from each (covers a letter changed, added, dropped
    or two letters swapped), in words of at least `MIN_EDIT_LENGTH` sounds."""
    if a == b:
        return True
    da, db = _deletions(a), _deletions(b)
    return a in db or b in da or bool(da & db)


def _typo_variants(sounds: Sequence[str]) -> set[str]:
    """Sound keys with one letter dropped from one word (re-sorted): two names a typo apart share one."""
    out: set[str] = set()
    for i, word in enumerate(sounds):
        for d in _deletions(word):
            out.add(" ".join(sorted([*sounds[:i], d, *sounds[i + 1 :]])))
    return out


def _one_word_less(sounds: Sequence[str]) -> set[str]:
    """Sound keys with one word left out, for names of three words or more (a middle name more or less)."""
    if len(sounds) < 3:
        return set()
    return {" ".join([*sounds[:i], *sounds[i + 1 :]]) for i in range(len(sounds))}


def _run_together(sounds: Sequence[str]) -> set[str]:
    """Sound keys with two words run together, either way round (Abdoul Karim → Abdoulkarim), re-sorted."""
    out: set[str] = set()
    for i, first in enumerate(sounds):
        for j, second in enumerate(sounds):
            if i != j:
                rest = [w for k, w in enumerate(sounds) if k not in (i, j)]
                out.add(" ".join(sorted([*rest, first + second])))
    return out


def similar_names(a: NameKeys, b: NameKeys) -> bool:
    """The rule of "similar name" (the same name counts too): the same sounds; one word a typo apart and the
    others the same; one word more, the rest the same; or two words run together into one of the other's."""
    if a.sounds == b.sounds:
        return True
    if len(a.sounds) == len(b.sounds):
        rest_a, rest_b = list(a.sounds), list(b.sounds)
        for w in a.sounds:  # drop the words they share; one pair may be left, a typo apart
            if w in rest_b:
                rest_a.remove(w)
                rest_b.remove(w)
        return len(rest_a) == 1 and near_words(rest_a[0], rest_b[0])
    longer, shorter = (a, b) if len(a.sounds) > len(b.sounds) else (b, a)
    return shorter.sound_key in _one_word_less(longer.sounds) | _run_together(longer.sounds)


def index_keys(keys: NameKeys) -> set[str]:
    """What the storage indexes for a person, so that `lookup_keys` of anyone similar finds them:
    "s:" the sounds, "d:" a typo variant, "w:" one word less or two run together."""
    return (
        {"s:" + keys.sound_key}
        | {"d:" + k for k in _typo_variants(keys.sounds)}
        | {"w:" + k for k in _one_word_less(keys.sounds) | _run_together(keys.sounds)}
    )


def lookup_keys(keys: NameKeys) -> set[str]:
    """The index keys to look up for a new person: every person with `similar_names` holds at least one."""
    typos = _typo_variants(keys.sounds)
    fewer = _one_word_less(keys.sounds) | _run_together(keys.sounds)
    return (
        {"s:" + keys.sound_key, "d:" + keys.sound_key, "w:" + keys.sound_key}
        | {"s:" + k for k in typos}
        | {"d:" + k for k in typos}
        | {"s:" + k for k in fewer}
    )


# --- scoring -----------------------------------------------------------------------------------------------------


def score(new: Candidate, old: Candidate) -> Match:
    """How likely `old` is `new`, with the reasons; symmetric, and blind to the order of either's names."""
    reasons: set[DuplicateReason] = set()
    if new.phone and old.phone and new.phone == old.phone:
        reasons.add(DuplicateReason.SAME_PHONE)
    a, b = name_keys(new.given_name, new.family_name), name_keys(old.given_name, old.family_name)
    same_region = new.region is not None and new.region == old.region
    if a.words and a.words == b.words:
        reasons.add(DuplicateReason.SAME_NAME_SAME_REGION if same_region else DuplicateReason.SAME_NAME)
    else:
        if a.words and b.words and similar_names(a, b):
            reasons.add(DuplicateReason.SIMILAR_NAME)
        if same_region:
            reasons.add(DuplicateReason.SAME_REGION)
    if new.birth_year is not None and old.birth_year is not None and abs(new.birth_year - old.birth_year) <= 1:
        reasons.add(DuplicateReason.SAME_BIRTH_YEAR)
    ordered = tuple(r for r in ORDER if r in reasons)
    if reasons <= SUPPORTING:
        return Match(old.id, 0.0, ordered)  # a region or a birth year alone proves nothing
    total = sum(WEIGHTS[r] for r in ordered)
    return Match(old.id, round(min(total, 1.0), 3), ordered)


def likely_duplicates(new: Candidate, existing: Iterable[Candidate], limit: int = 5) -> list[Match]:
    """Existing people who are probably `new`, most likely first (then by id)."""
    matches = [m for m in (score(new, old) for old in existing if old.id != new.id) if m.score >= SCORE_THRESHOLD]
    matches.sort(key=lambda m: (-m.score, m.id))
    return matches[:limit]
