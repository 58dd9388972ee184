"""Periodic jobs, for `flask jobs cron` (or `rq cron app/cron.py` in production)."""

from rq import cron

from app.accounts.tasks import purge_dead_tokens
from app.checklists.tasks import run_checklist_sweep
from app.classify.tasks import retrain_model
from app.console.tasks import escalate_alarms
from app.keys.tasks import flag_overdue_visits
from app.patrols.tasks import stop_abandoned_patrols
from app.realtime.tasks import purge_outbox
from app.sla.tasks import run_sweep
from app.supervision.tasks import escalate_silence
from app.whistle.tasks import run_report_in_sweep

# The sweep is the source of truth for near-due and overdue; a minute is its resolution.
cron.register(run_sweep, queue_name="high", interval=60)
cron.register(escalate_silence, queue_name="high", interval=60)
# Report-ins 报到 past their deadline are flagged (and counted) within a minute.
cron.register(run_report_in_sweep, queue_name="high", interval=60)
# Unacknowledged emergency alarms climb a level; a minute is their resolution too.
cron.register(escalate_alarms, queue_name="high", interval=60)
cron.register(purge_outbox, queue_name="low", cron="15 4 * * *")
cron.register(purge_dead_tokens, queue_name="low", interval=3600)
# Staff corrections reach the model nightly (03:30 with TZ=Asia/Shanghai, as README says).
cron.register(retrain_model, queue_name="low", cron="30 3 * * *")
# Visits are due by the day; an hour is punctual enough and the sweep is idempotent.
cron.register(flag_overdue_visits, queue_name="low", interval=3600)
# Patrols left running (a phone forgotten, an app never reopened) stop at their last fix.
cron.register(stop_abandoned_patrols, queue_name="low", interval=3600)
# Checklist work near due and overdue warns within a minute (the sweep is idempotent).
cron.register(run_checklist_sweep, queue_name="high", interval=60)
