"""Periodic jobs, for `flask jobs cron` (or `rq cron app/cron.py` in production)."""

from rq import cron

from app.accounts.tasks import purge_dead_tokens

cron.register(purge_dead_tokens, queue_name="low", interval=3600)
