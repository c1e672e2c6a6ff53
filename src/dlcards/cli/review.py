"""`dlcards review` (and bare `dlcards`): review due cards in the terminal."""

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

    from dlcards.core.calendar import zone
    from dlcards.core.errors import StoreError, UsageError
    from dlcards.system import clock
    from dlcards.system.decks import open_collection

    def first_card_shown() -> None:
        gc.freeze()
        gc.enable()

    col = open_collection(root_of(ctx), lint=False)
    if col.errors:
        click.echo(
            f"dlcards: {len(col.errors)} error(s) in the deck files; cards that could not be read "
            "are left out (run `dlcards check`).",
            err=True,
        )
    settings = col.settings
    now = clock.now()
    from dlcards.app.review import Limits
    from dlcards.store import Store
    from dlcards.tui.app import build_review_app

    if filters.describe():
        from dlcards.review.session import note_session_cards

        if not any(filters.matches(sc) for sc, _, _ in note_session_cards(col.notes)):
            topics = sorted({n.meta.topic for n in col.notes if n.meta.topic})
            raise UsageError(
                f"no cards match {filters.describe()}",
                hint=("topics: " + ", ".join(topics)) if topics else "see `dlcards list`",
            )
    tz = zone(settings.timezone)

    def daily_backup() -> None:
        # its own connection (WAL: a consistent snapshot while answers are being written)
        with Store.open(
            store.path,
            now=now,
            tz=tz,
            day_starts_at=settings.day_starts_at,
            backups_keep=settings.backups_keep,
        ):
            pass

    with Store.open(
        tz=tz, day_starts_at=settings.day_starts_at, backups_keep=settings.backups_keep
    ) as store:
        app = build_review_app(
            col.root,
            settings,
            store,
            clock.now,
            filters,
            limits=Limits(new_limit, review_limit),
            collection=col,
            background=daily_backup,
            ready=first_card_shown,
        )
        app.run()  # every answer is committed as it is given
        stats = app.ctx.session.stats
        errors = app.ctx.write_errors
    if errors:
        raise StoreError(
            f"{len(errors)} answer(s) or action(s) could not be saved: {errors[0]}",
            hint="run `dlcards doctor` to check the review database",
        )
    if stats.answered:
        from dlcards.tui.screens.done import duration_text

        rate = stats.again_rate or 0.0
        click.echo(
            f"Reviewed {stats.answered} card{'s' if stats.answered != 1 else ''} in "
            f"{duration_text(stats.duration_ms)} (again {rate:.0%})."
        )
