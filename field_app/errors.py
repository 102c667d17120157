"""One error root for the whole app; library errors are converted at the boundary (`raise … from exc`)."""

from __future__ import annotations

from dataclasses import dataclass


class FieldAppError(Exception):
    """Root of every error this app raises on purpose.

    How its words are composed, once, where the error is made: `str(exc)` is a whole sentence for a person, in
    their language, shown as it is; `reason` is the short "why" inside it (e.g. "nothing answers at this
    address"; the whole message when no shorter one was given). A caller that puts an error into a sentence of
    its own uses `reason_of(exc)`, never `str(exc)`, so that no message says the same thing twice ("The hub
    cannot be reached: the hub cannot be reached (ConnectError)") or shows a library's class name.
    """

    def __init__(self, message: str = "", *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = message if reason is None else reason


def reason_of(exc: BaseException) -> str:
    """The short "why" of `exc`, to go into another sentence: an app error's `reason`, an OS error's own words
    without its errno ("No such file or directory"), any other error's message, or its class name when it
    has none."""
    if isinstance(exc, FieldAppError):
        return exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Problem:
    """One problem in a piece of input: where (file, field) and what, already in words for a person."""

    field: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        prefix = f"{self.file}: " if self.file else ""
        return f"{prefix}{self.field}: {self.message}"


class ValidationError(FieldAppError):
    """Input that breaks the rules; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFound(FieldAppError):
    """A thing asked for by id or name does not exist."""


class Conflict(FieldAppError):
    """The change clashes with what is already stored."""


class AlreadyReferred(Conflict):
    """The person already has an open referral to this service: a second one only when the agent confirms it
    (`refer(..., force=True)`, `--force`). `message` is in words for a person; `referral_id` is the open one."""

    def __init__(self, message: str, *, referral_id: str):
        self.referral_id = referral_id
        super().__init__(message)


class StorageError(FieldAppError):
    """The local database could not be opened or written."""


class SyncError(FieldAppError):
    """Talking to the hub failed."""


class AuthError(FieldAppError):
    """A token or enrolment code was refused."""


def clip(text: object, limit: int = 60) -> str:
    """At most `limit` characters of `text` (with "…" when cut): what an error message may quote of the input,
    so that a 10 MB key or a whole record is never echoed back (issue 10)."""
    words = str(text)
    return words if len(words) <= limit else words[: limit - 1] + "…"
