"""Background patrol jobs: coverage after uploads, and the sweep of abandoned patrols."""

from __future__ import annotations

from app.core.jobs import job
from app.extensions import db
from app.patrols import coverage, service


@job
def recompute_coverage(patrol_id: int) -> int:
    """Recompute the grid-days a patrol touches (idempotent; enqueued after each upload)."""
    done = coverage.recompute(patrol_id)
    db.session.commit()
    return done


@job
def stop_abandoned_patrols() -> int:
    """Stop patrols silent for PATROL_ABANDON_HOURS (cron: hourly; safe to run twice)."""
    count = service.stop_abandoned()
    db.session.commit()
    return count
