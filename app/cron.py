"""Periodic jobs, for `flask jobs cron` (or `rq cron app/cron.py` in production)."""

from rq import cron

from app.accounts.tasks import purge_dead_tokens
from app.sla.tasks import run_sweep

# The sweep is the source of truth for near-due and overdue; a minute is its resolution.
cron.register(run_sweep, queue_name="high", interval=60)
cron.register(purge_dead_tokens, queue_name="low", interval=3600)
