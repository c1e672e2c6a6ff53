"""The child side of the runner: limits, isolation, running one snippet, comparing its value.

`run_child` runs in a process forked from the runner server, which has imported torch already.
It never returns: it writes one length-prefixed JSON result to `result_fd` and `_exit`s.

This is a guard against accidents, not a hardened sandbox (see docs/checks.md).

The parts:
- `isolation`: namespaces (no network, own pids), dying with the parent, the subreaper relay.
- `limits`: the pids cgroup, dropping root, resource limits and the in-process guards
  (no sockets, no new processes).
- `values`: comparing a snippet's value with the card's answer (`normalise`, tolerances,
  `same`, `answer_tolerance`, `display`).
- `child`: running one snippet in the forked child (`prepare_child`, `run_child`) and
  describing its errors.
Every name is re-exported here, so `dlcards.checks.runner.sandbox.X` still works.
"""

from __future__ import annotations

from dlcards.checks.runner.sandbox.child import (
    _describe,
    _error_line,
    _execute,
    _read_all,
    format_traceback,
    prepare_child,
    run_child,
)
from dlcards.checks.runner.sandbox.isolation import (
    CLONE_NEWNET,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    NO_NAMESPACES_ENV,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    PROCESS_CAP,
    UNPRIVILEGED_UID,
    NetworkBlocked,
    ProcessBlocked,
    _libc,
    _reachable_by_others,
    become_subreaper,
    die_with_parent,
    isolate,
    relay,
)
from dlcards.checks.runner.sandbox.limits import (
    CGROUP_PIDS_MAX,
    _apply,
    _blocked_process,
    _cgroup,
    _pids_cgroup_bases,
    _user_processes,
    _vm_bytes,
    drop_root,
    install_guards,
    join_cgroup,
    make_pids_cgroup,
    process_cap_holds,
    remove_cgroup,
    set_limits,
    set_static_limits,
)
from dlcards.checks.runner.sandbox.values import (
    _DECIMAL_RE,
    APPROX_REL,
    ATOL,
    EXACT,
    RTOL,
    Tolerance,
    _close,
    _how,
    _kind,
    _num,
    _num_pair,
    _same,
    _scalar_differ,
    _values_differ,
    answer_namespace,
    answer_tolerance,
    display,
    normalise,
    same,
)

__all__ = [
    "APPROX_REL",
    "ATOL",
    "CGROUP_PIDS_MAX",
    "CLONE_NEWNET",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "EXACT",
    "NO_NAMESPACES_ENV",
    "PROCESS_CAP",
    "PR_SET_CHILD_SUBREAPER",
    "PR_SET_PDEATHSIG",
    "RTOL",
    "UNPRIVILEGED_UID",
    "_DECIMAL_RE",
    "NetworkBlocked",
    "ProcessBlocked",
    "Tolerance",
    "_apply",
    "_blocked_process",
    "_cgroup",
    "_close",
    "_describe",
    "_error_line",
    "_execute",
    "_how",
    "_kind",
    "_libc",
    "_num",
    "_num_pair",
    "_pids_cgroup_bases",
    "_reachable_by_others",
    "_read_all",
    "_same",
    "_scalar_differ",
    "_user_processes",
    "_values_differ",
    "_vm_bytes",
    "answer_namespace",
    "answer_tolerance",
    "become_subreaper",
    "die_with_parent",
    "display",
    "drop_root",
    "format_traceback",
    "install_guards",
    "isolate",
    "join_cgroup",
    "make_pids_cgroup",
    "normalise",
    "prepare_child",
    "process_cap_holds",
    "relay",
    "remove_cgroup",
    "run_child",
    "same",
    "set_limits",
    "set_static_limits",
]
