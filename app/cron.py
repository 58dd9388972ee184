"""Periodic jobs, for `flask jobs cron` (or `rq cron app/cron.py` in production)."""

from rq import cron

from app.accounts.tasks import purge_dead_tokens
from app.classify.tasks import retrain_model
from app.sla.tasks import run_sweep

# The sweep is the source of truth for near-due and overdue; a minute is its resolution.
cron.register(run_sweep, queue_name="high", interval=60)
cron.register(purge_dead_tokens, queue_name="low", interval=3600)
# Staff corrections reach the model nightly (03:30 with TZ=Asia/Shanghai, as README says).
cron.register(retrain_model, queue_name="low", cron="30 3 * * *")
