"""`dlcards review`: review due cards in the terminal; and bare `dlcards`: the home screen
(`home`), from which any week, topic or tag can be studied."""

from __future__ import annotations

import sys

import click

from dlcards.cli._common import root_of
from dlcards.review.session import Filters


@click.command("review")
@click.option("--week", type=click.IntRange(min=1), help="Only cards of this study week.")
@click.option("--topic", help="Only cards of this topic.")
@click.option("--tag", help="Only cards with this tag.")
@click.option("--deck", help="Only cards of this deck (and its subdecks).")
@click.option(
    "--new-limit", type=click.IntRange(min=0), help="New cards today (overrides new_per_day)."
)
@click.option(
    "--review-limit", type=click.IntRange(min=0), help="Reviews today (overrides reviews_per_day)."
)
@click.pass_context
def command(
    ctx: click.Context,
    week: int | None = None,
    topic: str | None = None,
    tag: str | None = None,
    deck: str | None = None,
    new_limit: int | None = None,
    review_limit: int | None = None,
) -> None:
    """Review the cards due today: reveal with space, grade with 1-4, ? for every key.

    Every answer is saved the moment it is given; quit any time with q.
    """
    import gc

    from dlcards.core.errors import UsageError

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "`dlcards review` needs an interactive terminal",
            hint="run it in a terminal; for scripts use `dlcards list --json`",
        )
    # Start-up allocates ~10^5 long-lived objects (notes, states): with the cyclic GC paused
    # until the first card is on screen, and those objects then frozen out of later
    # collections, start-up takes ~40% less CPU and grading never pauses for a full GC.
    gc.disable()
    try:
        _review(ctx, Filters(week=week, topic=topic, tag=tag, deck=deck), new_limit, review_limit)
    finally:
        gc.enable()


def _review(
    ctx: click.Context, filters: Filters, new_limit: int | None, review_limit: int | None
) -> None:
    import gc

    from dlcards.app.collection import Collection
    from dlcards.app.review import Limits
    from dlcards.core.errors import StoreError
    from dlcards.tui.app import build_review_app

    def first_card_shown() -> None:
        gc.freeze()
        gc.enable()

    with Collection.open(root_of(ctx)) as col:
        errors = col.deck_error_count()  # from the cached catalogue: no deck read when warm
        if errors:
            click.echo(
                f"dlcards: {errors} error(s) in the deck files; cards that could not be "
                "read are left out (run `dlcards check`).",
                err=True,
            )
        col.check_filters(filters)
        app = build_review_app(
            col,
            filters,
            limits=Limits(new_limit, review_limit),
            # its own connection (WAL: a consistent snapshot while answers are being written)
            background=col.daily_backup,
            ready=first_card_shown,
        )
        app.run()  # every answer is committed as it is given
        stats = app.ctx.session.stats
        write_errors = app.ctx.write_errors
        pending = app.ctx.pending
    if pending is not None:
        raise StoreError(
            f"your last answer (card {pending.card_id}, {pending.rating.name.lower()}) was NOT "
            f"saved: {getattr(pending.error, 'message', pending.error)}",
            hint="every earlier answer was saved; answer that card again next time "
            "(`dlcards doctor` checks the database)",
        )
    if write_errors:
        raise StoreError(
            f"{len(write_errors)} answer(s) or action(s) could not be saved: {write_errors[-1]}",
            hint="run `dlcards doctor` to check the review database",
        )
    if stats.answered:
        from dlcards.tui.screens.done import duration_text

        rate = stats.again_rate or 0.0
        click.echo(
            f"Reviewed {stats.answered} card{'s' if stats.answered != 1 else ''} in "
            f"{duration_text(stats.duration_ms)} (again {rate:.0%})."
        )


def home(ctx: click.Context) -> None:
    """Bare `dlcards`: the home screen (the curriculum with today's counts; study any part of
    it, custom study, the browser). Every answer is saved as it is given."""
    from dlcards.app.collection import Collection
    from dlcards.core.errors import StoreError, UsageError
    from dlcards.tui.screens.home import build_home_app

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(
            "`dlcards` needs an interactive terminal",
            hint="run it in a terminal; for scripts use `dlcards list --json`",
        )
    with Collection.open(root_of(ctx)) as col:
        errors = col.decks.errors
        if errors:
            click.echo(
                f"dlcards: {len(errors)} error(s) in the deck files; cards that could not be "
                "read are left out (run `dlcards check`).",
                err=True,
            )
        app = build_home_app(col, background=col.daily_backup)
        app.run()
        services = app.services
        write_errors = [e for s in services for e in s.write_errors]
        answered = sum(s.session.stats.answered for s in services)
        duration = sum(s.session.stats.duration_ms for s in services)
    if write_errors:
        raise StoreError(
            f"{len(write_errors)} answer(s) or action(s) could not be saved: {write_errors[-1]}",
            hint="run `dlcards doctor` to check the review database",
        )
    if answered:
        from dlcards.tui.screens.done import duration_text

        click.echo(
            f"Reviewed {answered} card{'s' if answered != 1 else ''} in {duration_text(duration)}."
        )
