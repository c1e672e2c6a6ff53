"""The error vocabulary: problems found in the user's files, and failures of dlcards itself.

Library code collects `Problem`s (bad input the user can fix) or raises a `DlcardsError`
(something stopped a command). Only the CLI prints them and picks exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

Severity = Literal["error", "warning"]


class ProblemDict(TypedDict):
    """`Problem.to_dict()`: one element of `dlcards check --json` (schemas/check.schema.json)."""

    path: str
    line: int
    severity: Severity
    code: str
    message: str
    hint: str | None


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A place in a collection file: a path (as the user would type it) and a 1-based line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the user's input, reported as `path:line: severity: message`."""

    location: SourceLocation
    severity: Severity
    code: str
    message: str
    hint: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (
            self.location.path,
            self.location.line,
            0 if self.severity == "error" else 1,
            self.code,
        )

    def render(self) -> str:
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> ProblemDict:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, d: ProblemDict) -> Problem:
        return cls(
            SourceLocation(d["path"], d["line"]), d["severity"], d["code"], d["message"], d["hint"]
        )


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.sort_key)


class DlcardsError(Exception):
    """Base of every error dlcards raises on purpose. The CLI renders it and exits."""

    exit_code = 1

    def __init__(
        self, message: str, hint: str | None = None, location: SourceLocation | None = None
    ):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def render(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        text = f"{prefix}error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(DlcardsError):
    """The command line or the configuration is wrong (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """dlcards.toml or a DLCARDS_* variable is invalid (exit code 2)."""


class CollectionError(DlcardsError):
    """No collection where one was expected, or it cannot be read."""

    exit_code = 2


class FileChangedError(DlcardsError):
    """A file changed on disk between reading and writing it; nothing was written."""


class StoreError(DlcardsError):
    """The review database cannot be opened or is damaged."""
