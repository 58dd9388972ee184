"""Retraining, as an RQ job (cron runs it nightly; `flask classify retrain` on demand)."""

from __future__ import annotations

from app.classify import service
from app.core.jobs import job


@job
def retrain_model() -> dict:
    """Fold staff corrections into a new model; every process switches within a minute."""
    return service.retrain()
