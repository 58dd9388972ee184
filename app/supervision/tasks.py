"""Periodic supervision work."""

from __future__ import annotations

from app.core.jobs import job
from app.extensions import db
from app.supervision.service import escalate_unanswered


@job
def escalate_silence() -> int:
    """Escalate supervision notices whose reply is overdue (cron: every minute; idempotent)."""
    count = escalate_unanswered()
    db.session.commit()
    return count
