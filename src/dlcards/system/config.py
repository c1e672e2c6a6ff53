"""Settings: one documented model, read from `dlcards.toml` and `DLCARDS_*` variables.

Precedence (last wins): defaults < `dlcards.toml` of the collection < environment.
`DLCARDS_HOME` moves all state (database, caches, backups, consent); tests always set it.
"""

from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dlcards.core.errors import ConfigError
from dlcards.system.paths import CONFIG_FILE, state_dir

__all__ = ["CONFIG_FILE", "Settings", "load_settings", "parse_step", "state_dir"]

ENV_PREFIX = "DLCARDS_"
# Variables with these names are not settings.
ENV_RESERVED = {"HOME", "NOW", "EDITOR"}


class Settings(BaseModel):
    """Every setting of a collection. Each field documents itself; `dlcards init` writes them."""

    # defer_build: the validator is built on first validation, not at import, so the fast
    # no-change paths that import this module without reading settings pay nothing for it.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)

    deck: str = Field("dlcards", description="Anki deck root for files without a `deck:` key.")
    answer_word_limit: int = Field(
        40,
        ge=1,
        description="Lint: warn when an answer has more words than this (code and check blocks excluded).",
    )
    new_per_day: int = Field(20, ge=0, description="New cards introduced per study day.")
    reviews_per_day: int = Field(200, ge=0, description="Maximum review cards per study day.")
    desired_retention: float = Field(
        0.9, gt=0.5, lt=1.0, description="FSRS target probability of recall when a card comes due."
    )
    learning_steps: list[str] = Field(
        default_factory=lambda: ["1m", "10m"],
        description="Learning steps for new cards, e.g. ['1m', '10m'] (units s, m, h, d).",
    )
    relearning_steps: list[str] = Field(
        default_factory=lambda: ["10m"], description="Relearning steps after a lapse."
    )
    maximum_interval: int = Field(36500, ge=1, description="Longest review interval, in days.")
    day_starts_at: int = Field(
        4, ge=0, le=23, description="Hour (local time) at which a new study day starts, as in Anki."
    )
    timezone: str | None = Field(
        None,
        description="IANA time zone for study days, e.g. 'Europe/Berlin'; default: the system's.",
    )
    leech_threshold: int = Field(8, ge=1, description="Lapses at which a card becomes a leech.")
    leech_action: Literal["suspend", "tag"] = Field(
        "suspend", description="What happens to a leech: 'suspend' (and tag) or only 'tag'."
    )
    bury_siblings: bool = Field(
        True, description="Bury the other cards of a cloze note until the next day."
    )
    fuzz: bool = Field(
        True, description="Spread review intervals a little, deterministically per card."
    )
    fsrs_parameters: list[float] | None = Field(
        None, description="FSRS-6 parameters (21 numbers); default: the FSRS defaults."
    )
    weekly_hours: float = Field(
        9.0, gt=0, description="Study-time budget per week in hours (the plan's 8-10 h), for stats."
    )
    backups_keep: int = Field(7, ge=0, description="Daily database backups to keep.")
    plan_start: date | None = Field(
        None,
        description="The study day week 1 of your plan began, e.g. 2026-01-05: stats then say "
        "which week it is, what is planned for it, and whether you are ahead or behind.",
    )

    @field_validator("learning_steps", "relearning_steps")
    @classmethod
    def _steps(cls, value: list[str]) -> list[str]:
        for step in value:
            parse_step(step)
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value


MAX_STEP_S = 365 * 86400  # a learning step of more than a year overflows date arithmetic


def parse_step(step: str) -> float:
    """A learning step like '10m' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = step.strip()
    if len(text) < 2 or text[-1] not in units:
        raise ValueError(f"step {step!r} must be a number with a unit s, m, h or d, e.g. '10m'")
    try:
        value = float(text[:-1])
    except ValueError:
        raise ValueError(
            f"step {step!r} must be a number with a unit s, m, h or d, e.g. '10m'"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"step {step!r} must be a positive, finite number")
    seconds = value * units[text[-1]]
    if seconds > MAX_STEP_S:
        raise ValueError(f"step {step!r} is longer than a year; steps are minutes to days")
    return seconds


def _env_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        if "," in raw:
            return [part.strip() for part in raw.split(",") if part.strip()]
        return raw


def load_settings(root: Path | None, environ: dict[str, str] | None = None) -> Settings:
    """Read the collection's settings. Raises ConfigError (exit 2) with the file or variable.

    Not cached: a cache of the validated Settings saved nothing measurable on `list` or on
    review start (issue 10, docs/notes/issue-10-cache.md), and an outdated pickled Settings
    once crashed the program after an upgrade that added a setting.
    """
    return _load_settings(root, os.environ if environ is None else environ)


def _load_settings(root: Path | None, env: Any) -> Settings:
    data: dict[str, Any] = {}
    source: dict[str, str] = {}
    if root is not None:
        path = root / CONFIG_FILE
        if path.is_file():
            import tomllib

            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"{path}: invalid TOML: {exc}",
                    hint="see `dlcards init` for a commented example",
                ) from None
            section = raw.get("dlcards", raw)
            if not isinstance(section, dict):
                raise ConfigError(f"{path}: [dlcards] must be a table")
            for key, value in section.items():
                data[key] = value
                source[key] = str(path)
    fields = Settings.model_fields
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key.upper() in ENV_RESERVED:
            continue
        if key not in fields:
            continue  # unrelated variables are not errors
        data[key] = _env_value(value) if fields[key].annotation is not str else value
        source[key] = f"${name}"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "?"
            where = source.get(key, "settings")
            if err["type"] == "extra_forbidden":
                lines.append(f"{where}: unknown setting `{key}`")
            else:
                lines.append(f"{where}: setting `{key}`: {err['msg']}")
        raise ConfigError("; ".join(lines), hint="valid settings: " + ", ".join(fields)) from None


def default_toml() -> str:
    """A commented dlcards.toml listing every setting with its default."""
    out = [
        "# dlcards collection settings. Every key is optional; the values shown are the defaults.",
        "# Each can also be set with an environment variable DLCARDS_<KEY> (e.g. DLCARDS_NEW_PER_DAY=10).",
        "[dlcards]",
    ]
    defaults = Settings()
    for name, info in Settings.model_fields.items():
        out.append("")
        out.append(f"# {info.description}")
        value = getattr(defaults, name)
        if value is None:
            out.append(f"# {name} = ...")
        else:
            out.append(f"# {name} = {_toml_value(value)}")
    return "\n".join(out) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)
