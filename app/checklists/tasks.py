"""Periodic jobs of checklist dispatch."""

from __future__ import annotations

from dataclasses import asdict

from app.checklists.sweep import sweep
from app.core.jobs import job


@job
def run_checklist_sweep() -> dict:
    """Flag near-due and overdue checklist work and tell workers and centres (idempotent)."""
    return asdict(sweep())
