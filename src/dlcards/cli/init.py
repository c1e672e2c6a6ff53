"""`dlcards init`: a new collection with a commented dlcards.toml and a first deck."""

from __future__ import annotations

from pathlib import Path

import click

FIRST_DECK = """\
---
deck: Deep Learning
week: 1
topic: gradients
tags: [math]
---

# Gradients

Q: What does $\\nabla f(x)$ represent for a scalar function $f$?
A: The vector of partial derivatives of $f$ at $x$; it points in the direction of steepest ascent.

Q: What is the derivative of $e^{3x}$?
A: $3e^{3x}$

```check
diff(exp(3*x), x) == 3*exp(3*x)
```

C: The chain rule: the derivative of $f(g(x))$ is {{c1::$f'(g(x))\\,g'(x)$}}.
"""


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def command(directory: Path | None) -> None:
    """Create a collection in DIRECTORY (default: here) with dlcards.toml and decks/."""
    from dlcards.core.errors import UsageError
    from dlcards.system.config import CONFIG_FILE, default_toml

    target = (directory or Path.cwd()).resolve()
    if (target / CONFIG_FILE).exists() or (target / "decks").exists():
        raise UsageError(
            f"{target} already holds a collection (dlcards.toml or decks/)",
            hint="edit it as it is, or choose another folder",
        )
    (target / "decks").mkdir(parents=True, exist_ok=True)
    (target / CONFIG_FILE).write_text(default_toml(), encoding="utf-8")
    deck = target / "decks" / "week-01-gradients.md"
    deck.write_text(FIRST_DECK, encoding="utf-8")
    click.echo(f"Created a collection in {target}")
    click.echo(f"  {CONFIG_FILE}                 settings (all commented, defaults shown)")
    click.echo("  decks/week-01-gradients.md  a first deck to edit")
    click.echo("Next: `dlcards check`, then `dlcards fix` to pin card ids, then `dlcards review`.")
