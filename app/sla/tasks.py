"""Periodic SLA jobs."""

from __future__ import annotations

from dataclasses import asdict

from app.core.jobs import job
from app.sla.sweep import sweep


@job
def run_sweep() -> dict:
    """The near-due/overdue sweep and unanswered supervision (cron: every minute; idempotent)."""
    from app.supervision.service import escalate_unanswered

    result = asdict(sweep())
    result["supervision_escalated"] = escalate_unanswered()
    return result
