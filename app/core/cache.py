"""Per-process copies of small tables read on every request and changed a few times a day:
who a token belongs to, the taxonomy, the dispatch rules, the departments.

A copy names the tables it is derived from. A transaction that writes one of them makes every
process drop the copy: this process at once (at flush, so no other thread serves it meanwhile),
the others through a generation counter in Redis bumped after the commit, which each process
reads once per request (one MGET for every copy). Until the writing transaction ends, its own
reads bypass the copy and see its own writes. An entry is also dropped after `max_age`, so a
change made behind the application's back (psql) is seen within minutes; without Redis there
is no copy at all and every read goes to the database, as before.

Values must be immutable (frozen dataclasses, `Row`, tuples): threads share them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_COPIES: dict[str, Copy] = {}
_BY_TABLE: dict[str, list[Copy]] = {}
_DIRTY = "wangge_cache_dirty"  # session.info: names of copies this transaction has written
NEUTRAL = "wangge_cache_neutral"  # execution option: this DML changes nothing a copy holds
_WHOLE = object()
_KEY_PREFIX = "wangge:copy-generation:"


class Row:
    """A read-only copy of an ORM row's columns, safe to share between threads and requests."""

    __slots__ = ("__dict__",)

    def __init__(self, obj: Any = None, **values: Any) -> None:
        if obj is not None:
            for attr in inspect(type(obj)).column_attrs:
                self.__dict__[attr.key] = getattr(obj, attr.key)
        self.__dict__.update(values)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"read-only copy: cannot set {name}")

    def __repr__(self) -> str:
        return f"Row({self.__dict__!r})"


class Copy:
    """One named copy: either a whole value (`get()`) or entries by key (`get(key, load)`).

    `tables` maps each source table to the columns whose changes do not matter to this copy
    (a token's last use). Inserts into the `new_rows_ignored` tables do not matter either: no
    entry can hold a row that did not exist yet (misses are not kept), as with a new token.
    """

    def __init__(
        self,
        name: str,
        tables: dict[str, frozenset[str] | set[str]],
        load: Callable[[], Any] | None = None,
        *,
        new_rows_ignored: tuple[str, ...] = (),
        max_age: float = 300.0,
        max_entries: int = 50_000,
    ) -> None:
        if name in _COPIES:
            raise ValueError(f"copy {name} defined twice")
        self.name, self.load = name, load
        self.new_rows_ignored = frozenset(new_rows_ignored)
        self.neutral = {table: frozenset(cols) for table, cols in tables.items()}
        self.max_age, self.max_entries = max_age, max_entries
        _COPIES[name] = self
        for table in tables:
            _BY_TABLE.setdefault(table, []).append(self)

    def get(self, key: Hashable = _WHOLE, load: Callable[[], Any] | None = None) -> Any:
        """The value (or the entry for key), from this process's copy when it is current."""
        load = load or self.load
        session = _session()
        if session is not None and self.name in session.info.get(_DIRTY, ()):
            return load()
        generation = _generations().get(self.name)
        if generation is None:  # no Redis: nothing tells us of other processes' writes
            return load()
        store = _store(self)
        now = time.monotonic()
        found = store.get(key)
        if found is not None and found[0] == generation and now - found[1] < self.max_age:
            return found[2]
        value = load()
        # The load may have flushed this transaction's own writes to the copy's tables.
        # Misses are not kept: a flood of unknown keys must not fill the copy.
        if value is not None and (session is None or self.name not in session.info.get(_DIRTY, ())):
            self._keep(store, key, generation, now, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Replace an entry this process already holds (a value it changed itself)."""
        store = _store(self)
        found = store.get(key)
        if found is not None:
            store[key] = (found[0], found[1], value)

    def _keep(self, store: dict, key, generation: int, now: float, value: Any) -> None:
        if len(store) >= self.max_entries:
            store.clear()
        store[key] = (generation, now, value)


def forget_all() -> None:
    """Drop every copy of this app (a test whose transaction is rolled back calls this)."""
    if has_app_context():
        _stores().clear()
        current_app.extensions.pop("wangge_copy_generations", None)


# -- where copies and generations live ------------------------------------------------------

_lock = threading.Lock()


def _stores() -> dict[str, dict]:
    # Per app: tests and benchmarks run apps on different databases in one process.
    return current_app.extensions.setdefault("wangge_copies", {})


def _store(copy: Copy) -> dict:
    stores = _stores()
    store = stores.get(copy.name)
    if store is None:
        with _lock:
            store = stores.setdefault(copy.name, {})
    return store


def _session() -> Session | None:
    if not has_app_context():
        return None
    from app.extensions import db

    return db.session() if db.session.registry.has() else None


# Outside requests (jobs, sweeps, the CLI) generations are re-read at most this often: a
# sweep over many events must not ask Redis for each one.
_JOB_RECHECK_SECONDS = 1.0


def _generations() -> dict[str, int]:
    """Every copy's generation, read once per request; {} when Redis does not answer."""
    in_request = has_request_context()
    if in_request and "wangge_copy_generations" in g:
        return g.wangge_copy_generations
    if not in_request:
        memo = current_app.extensions.get("wangge_copy_generations")
        if memo is not None and time.monotonic() - memo[0] < _JOB_RECHECK_SECONDS:
            return memo[1]
    names = list(_COPIES)
    try:
        from app.core import redis as redis_

        values = redis_.client().mget([_KEY_PREFIX + name for name in names])
        found = {name: int(v or 0) for name, v in zip(names, values, strict=True)}
    except Exception:  # noqa: BLE001 - Redis down: serve from the database, loudly
        log.warning("copy generations unavailable; reading from the database", exc_info=True)
        found = {}
    if in_request:
        g.wangge_copy_generations = found
    else:
        current_app.extensions["wangge_copy_generations"] = (time.monotonic(), found)
    return found


def _bump(names: set[str]) -> None:
    try:
        from app.core import redis as redis_

        pipe = redis_.client().pipeline(transaction=False)
        for name in sorted(names):
            pipe.incr(_KEY_PREFIX + name)
        pipe.execute()
    except Exception:  # noqa: BLE001 - the other processes' copies then age out (max_age)
        log.error("could not announce a change to %s; other processes lag", names, exc_info=True)


# -- noticing writes ------------------------------------------------------------------------


def _touched(session: Session, names: set[str]) -> None:
    session.info.setdefault(_DIRTY, set()).update(names)
    # Every time, not only the first: a thread sharing this connection (tests) may have
    # loaded the first write since.
    if has_app_context():
        stores = _stores()
        for name in names:
            stores.pop(name, None)


def _changed_columns(obj: Any) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, flush_context) -> None:
    names: set[str] = set()
    for kind, objects in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in objects:
            table = getattr(obj, "__tablename__", None)
            for copy in _BY_TABLE.get(table, ()):
                if copy.name in names or (kind == "new" and table in copy.new_rows_ignored):
                    continue
                if kind == "dirty" and not (_changed_columns(obj) - copy.neutral[table]):
                    continue
                names.add(copy.name)
    if names:
        _touched(session, names)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.execution_options.get(NEUTRAL):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    copies = _BY_TABLE.get(table, ())
    names = {c.name for c in copies if not (state.is_insert and table in c.new_rows_ignored)}
    if names:
        _touched(state.session, names)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    names = session.info.pop(_DIRTY, None)
    if names:
        if has_app_context():
            stores = _stores()
            for name in names:
                stores.pop(name, None)
        _bump(names)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:
        return
    names = session.info.pop(_DIRTY, None)
    if names and has_app_context():
        # Another thread of this process may have loaded while our writes were visible
        # to it only if it shared our connection (tests); dropping is cheap, so drop.
        stores = _stores()
        for name in names:
            stores.pop(name, None)
