"""Periodic SLA jobs."""

from __future__ import annotations

from dataclasses import asdict

from app.core.jobs import job
from app.sla.sweep import sweep


@job
def run_sweep() -> dict:
    """The near-due/overdue sweep (cron: every minute, and timed at deadlines; idempotent)."""
    return asdict(sweep())
