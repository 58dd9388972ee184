"""A demo roster: the demo township's and district's centres staffed around the clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.accounts.demo import DISTRICT, TOWNSHIP
from app.accounts.models import User
from app.core.db import utcnow
from app.duty.models import DutyShift
from app.extensions import db
from app.geo.codes import ancestry

LOCAL = ZoneInfo("Asia/Shanghai")
# Centre → (officer, leader): 24-hour shifts from 08:30, as many centres rota them.
ROTA = {
    TOWNSHIP: ("demo_dispatcher", "demo_supervisor_township"),
    DISTRICT: ("demo_supervisor_district", "demo_supervisor_district"),
}


def seed(*, days: int = 7) -> int:
    """Shifts from yesterday's 08:30 for `days` days where none exist yet; returns how many."""
    users = dict(db.session.execute(select(User.username, User.id)).all())
    today = datetime.now(LOCAL).replace(hour=8, minute=30, second=0, microsecond=0)
    added = 0
    for code, (officer, leader) in ROTA.items():
        centre = int(code)
        for day in range(-1, days):
            start = (today + timedelta(days=day)).astimezone(utcnow().tzinfo)
            end = start + timedelta(hours=24)
            for post, name in (("officer", officer), ("leader", leader)):
                if post == "leader" and leader == officer or name not in users:
                    continue
                exists = db.session.scalar(
                    select(DutyShift.id).where(
                        DutyShift.centre_id == centre,
                        DutyShift.user_id == users[name],
                        DutyShift.starts_at < end,
                        DutyShift.ends_at > start,
                    )
                )
                if exists is None:
                    db.session.add(
                        DutyShift(
                            centre_id=centre,
                            user_id=users[name],
                            post=post,
                            starts_at=start,
                            ends_at=end,
                            **ancestry(code),
                        )
                    )
                    added += 1
    db.session.flush()
    return added
