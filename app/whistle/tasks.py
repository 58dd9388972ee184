"""Periodic whistle jobs."""

from __future__ import annotations

from app.core.jobs import job
from app.whistle.sweep import flag_overdue


@job
def run_report_in_sweep() -> dict:
    """Flag report-ins 报到 past their deadline and warn (cron: every minute; idempotent)."""
    return {"report_ins_overdue": flag_overdue()}
