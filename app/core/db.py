"""The declarative base, timestamps and after-commit hooks shared by every model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

# Deterministic constraint names, so one Alembic history upgrades SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Aware UTC now; used as a callable column default."""
    return datetime.now(UTC)


_PENDING = "wangge_on_commit"


def on_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run fn after the session's transaction commits; drop it on rollback."""
    session.info.setdefault(_PENDING, []).append(fn)


_BATCHES = "wangge_on_commit_batches"


def on_commit_batch(session: Session, key: str, fn: Callable[[dict], None]) -> dict:
    """A dict for this transaction, handed to fn once after commit (callers fill it as they go).

    Lets work repeated within a transaction (a clock restarted three times in one report) be
    done once, with its final values, after the commit.
    """
    batches = session.info.setdefault(_BATCHES, {})
    if key not in batches:
        batch = batches[key] = {}
        on_commit(session, lambda: fn(batch))
    return batches[key]


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    session.info.pop(_BATCHES, None)
    for fn in session.info.pop(_PENDING, []):
        fn()


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    # A savepoint rolled back (a lost insert race) leaves the outer transaction's work alone.
    if previous_transaction.nested:
        return
    session.info.pop(_PENDING, None)
    session.info.pop(_BATCHES, None)
