"""Periodic console work."""

from __future__ import annotations

from app.console import service
from app.core.jobs import job
from app.extensions import db


@job
def escalate_alarms() -> int:
    """Climb unacknowledged alarms whose time has come (every minute)."""
    count = service.escalate_alarms()
    db.session.commit()
    return count
