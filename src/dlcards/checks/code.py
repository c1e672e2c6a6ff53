"""`torch` blocks: what a snippet must match, and its run result as block problems. Pure.

Running is done by `dlcards.checks.runner` (a sandboxed runner); this module only decides what to
ask it and how to report the answer.
"""

from __future__ import annotations

from typing import Any

from dlcards.checks.common import BlockProblem
from dlcards.core.model import BLOCK_KINDS, Block, Note


def answer_value(note: Note) -> str | None:
    """The answer's first code span or (non-checked) code block, or None."""
    from dlcards.core.parse import markdown_parser

    for tok in markdown_parser().parse(note.answer):
        if tok.type in ("fence", "code_block"):
            info = (tok.info or "").strip().split(" ")[0]
            if info in BLOCK_KINDS:
                continue
            return tok.content.strip()
        if tok.type == "inline":
            before = ""
            for child in tok.children or []:
                if child.type == "code_inline":
                    # "≈ `2.30`": the answer is approximate (the runner loosens its tolerance)
                    approx = before.rstrip().endswith(("≈", "~"))
                    return ("≈ " if approx else "") + child.content.strip()
                if child.type == "text":
                    before = child.content
    return None


def plan(note: Note, block: Block) -> tuple[str, str | None] | BlockProblem:
    """(mode, expected answer) for a torch block, or the problem that prevents running it.

    mode "question": the value of the last expression must match the answer's first code span.
    mode "answer": the block must run to the end.
    """
    if block.side == "question" and note.kind == "basic":
        expect = answer_value(note)
        if expect is None:
            return BlockProblem(
                0,
                "error",
                "code-answer-missing",
                "the answer states no value for this snippet",
                "put the value of the snippet's last expression in the answer's first "
                "code span, e.g. `torch.Size([2, 3])`",
            )
        return "question", expect
    return "answer", None


def _offset(result: dict[str, Any], text: str) -> int:
    line = result.get("line")
    n = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    if isinstance(line, int) and 1 <= line <= n:
        return line - 1
    return 0


def problems_of(result: dict[str, Any], text: str, mode: str) -> list[BlockProblem]:
    """Block problems for one run result (a `RunResult.to_dict()`)."""
    if result.get("ok"):
        return []
    kind = result.get("kind") or "exception"
    error = str(result.get("error") or "the snippet failed")
    offset = _offset(result, text)
    if kind == "mismatch":
        return [
            BlockProblem(
                offset,
                "error",
                "code-answer-mismatch",
                error,
                "fix the answer's first code span (or the snippet)",
            )
        ]
    if kind == "answer":
        return [
            BlockProblem(
                offset,
                "error",
                "code-answer-unreadable",
                error,
                "write the answer as a Python/PyTorch value, e.g. `torch.Size([2, 3])`, "
                "`(2, 3)`, `True`, `tensor([0.5, 1.5])`",
            )
        ]
    if kind == "timeout":
        return [
            BlockProblem(
                offset, "error", "code-timeout", error, "make the snippet smaller or faster"
            )
        ]
    where = f"line {result['line']}: " if isinstance(result.get("line"), int) else ""
    hint = None
    if kind == "assert":
        hint = "an `assert` in the snippet failed: fix the snippet or the claim it checks"
    elif kind == "network":
        hint = "code cards run without network; build the data inside the snippet"
    elif kind == "memory":
        hint = "use smaller tensors"
    return [BlockProblem(offset, "error", "code-error", f"snippet failed: {where}{error}", hint)]
