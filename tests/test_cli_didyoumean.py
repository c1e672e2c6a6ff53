"""A mistyped command or option gets a did-you-mean, exit 2, no traceback (issue 14)."""

from __future__ import annotations

import pytest

from dlcards.cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["revew"], "Error: No such command 'revew'. Did you mean 'review'?"),
        (["stat"], "Error: No such command 'stat'. Did you mean 'stats'?"),
        (["zzzz"], "Error: No such command 'zzzz'.\n"),
        (["list", "--wek", "3"], "Error: No such option '--wek'."),
    ],
)
def test_mistyped_names_get_a_suggestion(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
