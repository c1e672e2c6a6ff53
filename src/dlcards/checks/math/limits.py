"""The check language's limits and its CPU-time budgets (`time_budget`, `sub_budget`)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PROOF_BUDGET_S = 3.0  # CPU seconds per claim
CHECK_HINT = "see docs/checks.md, section 1, for the check language and its vocabulary"
POINTS = 12
MAX_TRIES = 60
DIGITS = 50
MAX_VEC = 8
MAX_MAT = 6
MAX_BITS = 20_000  # a number literal or power result larger than 2**20000 is refused
MAX_EXPONENT = 10_000  # x**n with |n| above this is refused (expanding it never ends)
EXTREMES = (10.0, 123.45, 1e3, 1e6)  # magnitudes tried besides the random points
EXTREME_SHARE = 0.25  # of the claim's budget, at most, for the extreme points


# After the budget runs out the alarm repeats every _AGAIN seconds of CPU time until the
# exception gets through: Python swallows (and only warns about) an exception raised while a
# gc callback or a __del__ runs, so a single alarm that lands there would be lost.
_AGAIN = 0.05


class _Timeout(BaseException):  # not an Exception: sympy code must not swallow it
    pass


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise `_Timeout` in the main thread after `seconds` of this process's CPU time.

    CPU time (ITIMER_PROF: user + system), not wall time, so a loaded machine reaches the
    same verdicts as a quiet one (issue 12). A no-op off the main thread or without
    setitimer."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _Timeout

    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds, _AGAIN)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


class _SubTimeout(BaseException):
    pass


@contextmanager
def sub_budget(seconds: float) -> Iterator[None]:
    """Within a `time_budget`: raise `_SubTimeout` after `seconds` of CPU time (or when the
    outer budget would end first, `_Timeout` as usual); afterwards the outer budget goes on
    with what is left of it."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return
    outer_left = signal.getitimer(signal.ITIMER_PROF)[0]
    if outer_left and outer_left <= seconds:
        yield  # the outer budget ends first: nothing to nest
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise _SubTimeout

    started = time.process_time()
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds, _AGAIN)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
        if outer_left:
            left = outer_left - (time.process_time() - started)
            if left <= 0:
                raise _Timeout
            signal.setitimer(signal.ITIMER_PROF, left, _AGAIN)
