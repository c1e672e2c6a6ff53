"""`dlcards optimize`: fit FSRS parameters to your own reviews (Anki's optimiser, fsrs-rs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dlcards.cli._common import root_of

if TYPE_CHECKING:
    from dlcards.app.optimize import OptimizeOutcome
    from dlcards.store.params import ParamsRow


@click.command("optimize")
@click.option("--force", is_flag=True, help="Adopt the fitted parameters even if not better.")
@click.option("--dry-run", is_flag=True, help="Fit and report; record and change nothing.")
@click.option("--history", "show_history", is_flag=True, help="List the parameter history.")
@click.option("--rollback", is_flag=True, help="Go back to the previously adopted parameters.")
@click.option(
    "--export",
    "export_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the parameters in force in Anki's format (21 numbers); '-' for standard output.",
)
@click.option(
    "--import",
    "import_from",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Adopt parameters copied from Anki's deck options (a file, or '-' for standard input).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    force: bool,
    dry_run: bool,
    show_history: bool,
    rollback: bool,
    export_to: Path | None,
    import_from: Path | None,
    as_json: bool,
) -> None:
    """Fit FSRS-6 parameters to your review history and adopt them if they predict it better.

    Scores the parameters in use and the fitted ones on a time-series split (fit on earlier
    reviews, predict later ones: log loss and RMSE(bins), lower is better) and adopts the fitted
    ones only when their log loss is lower (--force adopts anyway). The setting
    `fsrs_parameters` in dlcards.toml, when set, overrides whatever is adopted here.
    """
    from dlcards.app import optimize as svc
    from dlcards.app.collection import Collection
    from dlcards.core.errors import UsageError

    chosen = [show_history, rollback, export_to is not None, import_from is not None]
    if sum(chosen) > 1:
        raise UsageError("use one of --history, --rollback, --export, --import at a time")
    if sum(chosen) and (force or dry_run):
        raise UsageError("--force and --dry-run go with a plain `dlcards optimize`")
    with Collection.open(root_of(ctx)) as col:
        if show_history:
            rows = svc.history(col)
            active = svc.adopted_parameters(col)
            if as_json:
                click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
            else:
                _print_history(rows, active)
            return
        if rollback:
            gone, now_active = svc.rollback(col)
            click.echo(f"rolled back parameter set #{gone.id} ({gone.created_at:%Y-%m-%d})")
            click.echo(
                "now in force: "
                + (
                    f"#{now_active.id} ({now_active.source}, {now_active.created_at:%Y-%m-%d})"
                    if now_active
                    else "the FSRS-6 defaults"
                )
            )
            _warn_override(col.settings.fsrs_parameters is not None)
            return
        if export_to is not None:
            text = svc.export_preset(col)
            if str(export_to) == "-":
                click.echo(text)
            else:
                export_to.write_text(text + "\n", encoding="utf-8")
                click.echo(f"wrote the parameters in force to {export_to}")
            return
        if import_from is not None:
            if str(import_from) == "-":
                raw = sys.stdin.read()
            else:
                raw = import_from.read_text(encoding="utf-8")
            from dlcards.core.errors import SourceLocation
            from dlcards.review.optimizer import BadParameters

            try:
                row = svc.import_preset(col, raw, note=f"from {import_from}")
            except BadParameters as exc:
                if str(import_from) != "-":
                    exc.location = SourceLocation(str(import_from), _first_line(raw))
                raise
            click.echo(f"adopted parameter set #{row.id} from {import_from}")
            _warn_override(col.settings.fsrs_parameters is not None)
            return
        outcome = svc.optimize(col, force=force, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2))
        return
    _print_outcome(outcome, dry_run)


def _first_line(text: str) -> int:
    """The line of the first non-blank text (where the numbers are)."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            return n
    return 1


def _warn_override(overridden: bool) -> None:
    if overridden:
        click.echo(
            "note: the setting `fsrs_parameters` is set and overrides these; remove it from "
            "dlcards.toml to schedule with them",
            err=True,
        )


def _print_outcome(o: OptimizeOutcome, dry_run: bool) -> None:
    r = o.result
    ts_f, ts_c = r.fitted_score, r.current_score
    click.echo(
        f"{r.reviews} reviews of {r.cards} cards: {r.items} training items "
        f"({r.test_items} predicted in a 5-fold time-series split)"
    )
    click.echo(f"current: {o.current_source}")
    click.echo("                       log loss   RMSE(bins)")
    click.echo(f"  current parameters   {ts_c.log_loss:8.4f}   {ts_c.rmse_bins:8.4f}")
    click.echo(f"  fitted parameters    {ts_f.log_loss:8.4f}   {ts_f.rmse_bins:8.4f}")
    click.echo(
        f"  (in sample: current {r.current_in_sample.log_loss:.4f} / "
        f"{r.current_in_sample.rmse_bins:.4f}, fitted {r.fitted_in_sample.log_loss:.4f} / "
        f"{r.fitted_in_sample.rmse_bins:.4f})"
    )
    if r.better:
        gain = (ts_c.log_loss - ts_f.log_loss) / ts_c.log_loss * 100
        click.echo(
            f"The fitted parameters predict your reviews better ({gain:.1f}% lower log loss)."
        )
    else:
        click.echo(
            "The fitted parameters do not predict your reviews better than the current ones."
        )
    click.echo("fitted: " + ", ".join(f"{w:.4f}" for w in r.parameters))
    if dry_run:
        click.echo("dry run: nothing recorded or adopted")
    elif o.adopted:
        forced = " (forced)" if o.forced and not r.better else ""
        click.echo(
            f"Adopted{forced} as parameter set #{o.row.id if o.row else '?'}; "
            "`dlcards optimize --rollback` undoes it."
        )
        _warn_override(o.overridden)
    else:
        click.echo("Kept the current parameters (recorded in --history; --force adopts anyway).")


def _print_history(rows: list[ParamsRow], active: tuple[float, ...] | None) -> None:
    if not rows:
        click.echo("no parameter sets yet: scheduling uses the FSRS-6 defaults")
        return
    active_id = None
    for r in reversed(rows):
        if r.active_candidate:
            active_id = r.id
            break
    click.echo("  #  date        source    items  log loss (before)   RMSE (before)     status")
    for r in rows:

        def f(v: float | None) -> str:
            return "  –   " if v is None else f"{v:.4f}"

        status = (
            "IN FORCE"
            if r.id == active_id and active is not None
            else "adopted (overridden)"
            if r.id == active_id
            else "rolled back"
            if r.rolled_back_at is not None
            else "adopted earlier"
            if r.adopted
            else "not adopted"
        )
        click.echo(
            f"{r.id:3}  {r.created_at:%Y-%m-%d}  {r.source:<8} {r.items if r.items is not None else '–':>6}"
            f"  {f(r.log_loss)} ({f(r.previous_log_loss)})   {f(r.rmse_bins)} ({f(r.previous_rmse_bins)})  {status}"
        )
    if active_id is None:
        click.echo("in force: the FSRS-6 defaults")
