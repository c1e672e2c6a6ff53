"""Settings -> the plain values the domain takes: the study calendar, the scheduler's
configuration, the session's policy. The one place those mappings are written (the domain
packages never import `dlcards.system.config`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlcards.core.calendar import StudyCalendar

if TYPE_CHECKING:
    from dlcards.review.limits import Policy
    from dlcards.review.scheduling import SchedulerConfig
    from dlcards.system.config import Settings


def calendar_of(settings: Settings) -> StudyCalendar:
    """The study calendar of a collection: its `timezone` (else the system's) and day start."""
    from dlcards.core.calendar import zone
    from dlcards.system.clock import local_zone

    tz = zone(settings.timezone) if settings.timezone else local_zone()
    return StudyCalendar(tz, settings.day_starts_at)


def scheduler_config(
    settings: Settings,
    calendar: StudyCalendar | None = None,
    adopted: tuple[float, ...] | None = None,
) -> SchedulerConfig:
    """The FSRS scheduler's configuration of a collection's settings. `adopted`: the parameters
    adopted by `dlcards optimize` (`dlcards.app.optimize.adopted_parameters`); the setting
    `fsrs_parameters` overrides them, and without either the FSRS-6 defaults schedule."""
    from dlcards.review.scheduling import SchedulerConfig
    from dlcards.system.config import parse_step

    cal = calendar if calendar is not None else calendar_of(settings)
    return SchedulerConfig(
        desired_retention=settings.desired_retention,
        learning_steps=tuple(parse_step(s) for s in settings.learning_steps),
        relearning_steps=tuple(parse_step(s) for s in settings.relearning_steps),
        maximum_interval=settings.maximum_interval,
        fuzz=settings.fuzz,
        parameters=tuple(settings.fsrs_parameters)
        if settings.fsrs_parameters is not None
        else adopted,
        day_starts_at=cal.day_starts_at,
        tz=cal.tz,
    )


def policy_of(
    settings: Settings,
    calendar: StudyCalendar | None = None,
    *,
    new_limit: int | None = None,
    review_limit: int | None = None,
) -> Policy:
    """The review session's rules: the settings plus today's `--new-limit` / `--review-limit`."""
    from dlcards.review.limits import Policy

    return Policy(
        new_per_day=settings.new_per_day if new_limit is None else new_limit,
        reviews_per_day=settings.reviews_per_day if review_limit is None else review_limit,
        leech_threshold=settings.leech_threshold,
        leech_action=settings.leech_action,
        bury_siblings=settings.bury_siblings,
        calendar=calendar if calendar is not None else calendar_of(settings),
    )
