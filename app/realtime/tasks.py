"""Periodic realtime work."""

from __future__ import annotations

from app.core.jobs import job
from app.extensions import db
from app.realtime import service


@job
def purge_outbox() -> int:
    """Drop outbox messages past their replay horizon."""
    count = service.purge()
    db.session.commit()
    return count
