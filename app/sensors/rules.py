"""Pure threshold logic: which warning level a rule's measure reaches, and the highest level."""

from __future__ import annotations

from app.sensors.models import LEVELS


def rank(level: str | None) -> int:
    """0 for no warning, 1 for blue … 4 for red."""
    return 0 if level is None else LEVELS.index(level) + 1


def level_for(measure: float, thresholds: dict[str, float]) -> str | None:
    """The highest level whose threshold the measure reaches (≥), or None."""
    reached = None
    for level in LEVELS:
        if measure >= thresholds[level]:
            reached = level
    return reached


def highest(levels) -> str | None:
    """The most severe of several levels (None when there is none)."""
    return max(levels, key=rank, default=None)
