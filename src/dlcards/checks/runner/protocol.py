"""Messages between the client, the runner server and its children (JSON, one per line).

Request:  {"id", "code", "timeout", "expect": str|null, "mode": "check"|"live"}
Response: {"id", "ok", "value", "stdout", "stderr", "device", "elapsed_ms", "error",
           "kind", "line", "match", "expected", "net_isolated"}

`kind` says what went wrong: "" (nothing), "exception", "assert", "timeout", "memory", "crash",
"exit", "output", "network", "answer" (the answer is not a readable value), "mismatch",
"no-torch", "runner" (the runner itself failed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_TIMEOUT_S = 10.0
MEMORY_LIMIT_MB = 1024
OUTPUT_SHOWN = 64 * 1024  # bytes of stdout / stderr returned
OUTPUT_LIMIT = 1024 * 1024  # RLIMIT_FSIZE: the most a snippet may write to any file


@dataclass
class RunResult:
    """What running one snippet gave.

    ok: the snippet ran to the end (and, with an expected answer, matched it).
    value: a short display of the last expression's value (None if there is none).
    stdout, stderr: captured output, at most 64 KiB each (a note says when truncated).
    device: where it ran ("cpu", "cuda", "mps").
    elapsed_ms: wall time of the snippet in the child, in milliseconds.
    error: a one-line message for the learner when not ok, else None.
    kind: the class of failure (see the module docstring); "" when ok.
    line: the snippet line (1-based) the error points at, when known.
    match: with an expected answer: whether the value matched it.
    expected: with an expected answer: how it was read.
    net_isolated: whether the snippet ran in its own network namespace.
    """

    ok: bool
    value: str | None = None
    stdout: str = ""
    stderr: str = ""
    device: str = "cpu"
    elapsed_ms: float = 0.0
    error: str | None = None
    kind: str = ""
    line: int | None = None
    match: bool | None = None
    expected: str | None = None
    net_isolated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)
