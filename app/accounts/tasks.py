"""Background jobs for accounts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from app.accounts.models import Token
from app.core.db import utcnow
from app.core.jobs import job
from app.extensions import db

# Dead tokens are kept a while so "signed out on …" can still be shown and audited.
KEEP_DEAD_TOKENS = timedelta(days=30)


@job
def purge_dead_tokens() -> int:
    """Delete tokens that expired or were revoked more than 30 days ago; idempotent."""
    cutoff = utcnow() - KEEP_DEAD_TOKENS
    result = db.session.execute(
        delete(Token).where(or_(Token.expires_at < cutoff, Token.revoked_at < cutoff))
    )
    db.session.commit()
    return result.rowcount
