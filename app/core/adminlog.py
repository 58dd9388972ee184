"""Who changed which setting: one log line per administrative change, written after commit.

Configuration changes (the working calendar, dispatch rules) have no event to hang an audit
row on, and the event audit trail is per event by design. So they go to the `wangge.admin`
logger as one JSON object per line (who, what, before, after), emitted only once the change
is committed: a rolled-back request leaves no trace that claims otherwise. Route that logger
to its own file or collector in production to keep the trail.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.core.auth import Principal
from app.core.db import on_commit
from app.extensions import db

log = logging.getLogger("wangge.admin")


def record(
    actor: Principal,
    action: str,
    target: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Log an admin change (e.g. "dispatch_rule.update", "dispatch_rule:7") once committed."""
    entry = {
        "action": action,
        "target": target,
        "user_id": actor.user_id,
        "username": actor.username,
        "role": actor.role,
        "before": before,
        "after": after,
    }
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str)
    on_commit(db.session(), lambda: log.info("admin change %s", line))
