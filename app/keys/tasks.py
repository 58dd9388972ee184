"""Periodic jobs of the key registry."""

from __future__ import annotations

from dataclasses import asdict

from app.core.jobs import job
from app.keys.sweep import sweep


@job
def flag_overdue_visits() -> dict:
    """Flag newly overdue visit schedules and tell the visitors (cron: hourly; idempotent)."""
    return asdict(sweep())
