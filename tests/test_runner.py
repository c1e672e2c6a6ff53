"""The sandboxed snippet runner: real server process, real forked children, real torch.

Hostile or broken snippets each end with a clear message, never a hang, and the runner keeps
working afterwards.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="torch is not installed")

from dlcards.checks.runner.client import Runner


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    r = Runner()
    r.start()
    yield r
    r.close()


def run(runner: Runner, code: str, timeout: float = 5.0, **kw: object):  # type: ignore[no-untyped-def]
    result = runner.run(code, timeout, mode="check", **kw)  # type: ignore[arg-type]
    # whatever happened, the runner still answers the next request
    assert runner.run("1 + 1", 5.0, mode="check").value == "2"
    return result


def test_start_returns_at_once_and_the_server_reports_its_device() -> None:
    r = Runner()
    t = time.perf_counter()
    r.start()
    assert time.perf_counter() - t < 0.5
    try:
        info = r.ready_info
        assert info["ready"] is True
        assert r.device in ("cpu", "cuda", "mps")
    finally:
        r.close()


def test_value_output_and_device(runner: Runner) -> None:
    res = run(
        runner,
        "print('hello')\nx = torch.ones(2, 3, requires_grad=True)\n(x * 2).sum().backward()\nx.grad.shape",
    )
    assert res.ok and res.value == "torch.Size([2, 3])" and res.stdout == "hello\n"
    assert res.device == "cpu" and res.error is None and res.line == 4
    assert 0 <= res.elapsed_ms < 5000


def test_fixed_seed(runner: Runner) -> None:
    a = run(runner, "torch.randn(3).tolist()")
    b = run(runner, "torch.randn(3).tolist()")
    assert a.value == b.value


def test_each_snippet_gets_a_fresh_temporary_folder(runner: Runner) -> None:
    first = run(runner, "import os\nopen('scratch.txt', 'w').write('x')\nos.getcwd()")
    second = run(runner, "import os\n(os.getcwd(), os.listdir('.'))")
    assert first.ok and second.ok
    assert first.value != second.value.split(",")[0][1:]
    assert "scratch.txt" not in second.value
    assert not Path(eval(first.value)).exists()  # removed afterwards


def test_infinite_loop_times_out(runner: Runner) -> None:
    t = time.perf_counter()
    res = run(runner, "while True:\n    pass", timeout=1.0)
    assert not res.ok and res.kind == "timeout"
    assert res.error == "the snippet did not finish within 1 s and was stopped"
    assert time.perf_counter() - t < 8


def test_sleeping_snippet_times_out(runner: Runner) -> None:
    res = run(runner, "import time\ntime.sleep(60)", timeout=1.0)
    assert res.kind == "timeout"


def test_memory_bomb(runner: Runner) -> None:
    res = run(runner, "x = bytearray(8 * 1024**3)")
    assert (res.ok, res.kind, res.line) == (False, "memory", 1)
    assert res.error == "the snippet ran out of memory (limit 1024 MiB)"
    res = run(runner, "x = torch.ones(2**31)")
    assert res.kind == "memory"


def test_fork_bomb(runner: Runner) -> None:
    res = run(runner, "import os\nwhile True:\n    os.fork()")
    assert (res.kind, res.line) == ("exception", 3)
    assert res.error == "the snippet tried to start a process; code cards may not"
    res = run(runner, "import subprocess\nsubprocess.run(['true'])")
    assert res.error == "the snippet tried to start a process; code cards may not"


def test_network_call(runner: Runner) -> None:
    res = run(
        runner, "import urllib.request\nurllib.request.urlopen('http://192.0.2.1/', timeout=1)"
    )
    assert res.kind == "network"
    assert res.error == "the snippet tried to use the network; code cards run without network"
    res = run(runner, "import socket\ns = socket.socket()\ns.connect(('192.0.2.1', 80))")
    assert (res.kind, res.line) == ("network", 3)


def test_network_namespace_where_the_kernel_allows_it(runner: Runner) -> None:
    res = run(runner, "import socket\nsocket.if_nameindex()")
    assert res.ok
    if res.net_isolated:  # a fresh namespace holds only the loopback device
        assert "'lo'" in res.value and "eth" not in res.value


def test_huge_output(runner: Runner) -> None:
    res = run(runner, "print('x' * 10**8)")
    assert (res.ok, res.kind) == (False, "output")
    assert res.error == "the snippet wrote more than 1024 KiB of output"
    assert len(res.stdout) < 70_000 and "[output truncated" in res.stdout
    res = run(runner, "for i in range(10**7):\n    print(i)")
    assert res.kind == "output"


def test_sys_exit(runner: Runner) -> None:
    res = run(runner, "import sys\nsys.exit(3)")
    assert (res.kind, res.error) == (
        "exit",
        "the snippet called sys.exit(3); code cards must run to the end",
    )
    res = run(runner, "import os\nos._exit(0)")
    assert (res.kind, res.error) == (
        "exit",
        "the snippet ended the process (exit status 0) before finishing",
    )


def test_segfault(runner: Runner) -> None:
    res = run(runner, "import ctypes\nctypes.string_at(0)")
    assert (res.kind, res.error) == (
        "crash",
        "the snippet crashed with a segmentation fault (signal 11)",
    )


def test_errors_name_their_line(runner: Runner) -> None:
    res = run(runner, "a = torch.ones(2, 3)\nb = torch.ones(4, 5)\na @ b")
    assert (res.kind, res.line) == ("exception", 3)
    assert res.error == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"
    res = run(runner, "x = 1\nassert x == 2, 'x should be 2'")
    assert (res.kind, res.line, res.error) == ("assert", 2, "assertion failed: x should be 2")
    res = run(runner, "def f(:\n  pass")
    assert res.kind == "exception" and res.error.startswith("SyntaxError")


ANSWERS = {
    "shape": ("torch.zeros(8, 16, 4, 4).shape", "torch.Size([8, 16, 4, 4])", True),
    "shape as tuple": ("torch.zeros(2, 3).shape", "(2, 3)", True),
    "wrong shape": ("torch.zeros(2, 3).shape", "torch.Size([3, 2])", False),
    "tensor within tolerance": ("torch.tensor([1.0, 2.0]) / 3", "tensor([0.3333, 0.6667])", True),
    "tensor value": ("torch.tensor([1.0, 2.0]) / 3", "tensor([0.3333, 0.7])", False),
    "dtype must match": ("torch.tensor([1, 2])", "tensor([1., 2.])", False),
    "dtype": ("(torch.tensor([1, 2]) / 2).dtype", "torch.float32", True),
    "wrong dtype": ("torch.tensor([1, 2]).dtype", "torch.float32", False),
    "bool": ("torch.tensor([1.0]).requires_grad", "False", True),
    "bool is exact": ("torch.tensor([1.0]).requires_grad", "0", False),
    "number": ("torch.tensor(0.5).item() * 2", "1.0", True),
    "0-d tensor vs number": ("torch.tensor(2.5)", "2.5", True),
    "int": ("torch.zeros(3, 4).numel()", "12", True),
}


@pytest.mark.parametrize(("code", "answer", "match"), ANSWERS.values(), ids=ANSWERS.keys())
def test_answers_are_compared_as_values(
    runner: Runner, code: str, answer: str, match: bool
) -> None:
    res = runner.run(code, 5.0, mode="check", expect=answer)
    assert (res.ok, res.match) == (match, match), res.error
    if not match:
        assert res.kind == "mismatch" and "the answer says" in (res.error or "")


def test_mismatch_message(runner: Runner) -> None:
    res = runner.run(
        "conv = torch.nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)\n"
        "conv(torch.randn(8, 3, 32, 32)).shape",
        5.0,
        mode="check",
        expect="torch.Size([8, 16, 32, 32])",
    )
    assert res.error == (
        "the snippet gives torch.Size([8, 16, 16, 16]), the answer says "
        "torch.Size([8, 16, 32, 32]) (item 2: 16 vs 32)"
    )


def test_unreadable_answer(runner: Runner) -> None:
    res = runner.run("1 + 1", 5.0, mode="check", expect="two")
    assert res.kind == "answer" and res.error.startswith("cannot read the answer `two` as a value")


def test_snippet_without_a_final_expression_cannot_be_compared(runner: Runner) -> None:
    res = runner.run("x = 1", 5.0, mode="check", expect="1")
    assert res.kind == "mismatch" and "last line must be an expression" in (res.error or "")


def test_without_torch_the_runner_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('no torch here')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with Runner() as r:
        res = r.run("1 + 1", 5.0)
    assert (res.ok, res.kind) == (False, "no-torch")
    assert res.error == "torch cannot be imported: ImportError: no torch here"


def test_a_killed_server_is_restarted(runner: Runner) -> None:
    r = Runner()
    try:
        assert r.run("1", 5.0).ok
        pid = r.ready_info["pid"]
        os.kill(pid, 9)
        time.sleep(0.2)
        res = r.run("2", 5.0)
        if not res.ok:  # the broken pipe is noticed on this call; the next one restarts
            assert res.kind == "runner"
            res = r.run("2", 5.0)
        assert res.ok and res.value == "2"
    finally:
        r.close()


# --- answers compared at the precision written (issue 12 item 3) ----------------------------


@pytest.mark.parametrize(
    ("answer", "tolerance"),
    [
        ("2.3040", 5e-05),
        ("tensor([0.5000, 1.5000])", 5e-05),
        ("0.5", 0.05),
        ("1e-3", 5e-04),
        ("3", 0.0),
        ("tensor([1., 2.])", 0.0),
        ("torch.Size([2, 3])", 0.0),
    ],
)
def test_the_written_precision_of_an_answer(answer: str, tolerance: float) -> None:
    from dlcards.checks.runner.sandbox import answer_tolerance

    text, tol = answer_tolerance(answer)
    assert text == answer and tol.abs == pytest.approx(tolerance)


@pytest.mark.parametrize(
    ("expect", "ok"),
    [
        ("2.3040", False),  # the case: the true value is 2.3026
        ("2.3026", True),
        ("2.30", True),
        ("2.3", True),
        ("≈ 2.32", True),  # approximate: within 1 %
        ("~2.40", False),
        ("2", False),  # an integer answer is exact
    ],
)
def test_torch_answers_are_compared_at_the_precision_written(
    runner: Runner, expect: str, ok: bool
) -> None:
    res = runner.run("torch.tensor(10.0).log().item()", 5.0, mode="check", expect=expect)
    assert res.ok is ok, res
    if not ok:
        assert res.kind == "mismatch" and "2.302585" in (res.error or ""), res.error


def test_an_approximate_mark_before_the_code_span_is_kept() -> None:
    from dlcards.checks.code import answer_value
    from dlcards.core.parse import parse_text

    (note,) = parse_text("Q: What is log(10)?\nA: ≈ `2.30`\n", "d.md").notes
    assert answer_value(note) == "≈ 2.30"
