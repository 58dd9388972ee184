"""Data scope: the one place that limits every ORM read and write to what the user may touch.

A session listener adds loader criteria for every scoped model to every ORM SELECT, UPDATE
and DELETE, and a flush listener refuses to write a scoped row outside the scope. Views and
services never filter by scope themselves, so a forgotten filter cannot leak data.

Inside a request the default is to see nothing: authentication sets the user's scope, and
the few paths that must look past it (login) say so with `unscoped()`. Outside requests
(CLI, jobs) the default is the whole system, and jobs acting for a user use `acting_as`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import g, has_request_context
from sqlalchemy import BigInteger, ColumnElement, event, false, true
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria

from app.core.errors import Forbidden

# Levels below the city, outermost first; a scope at one of them is that node's subtree.
LEVELS = ("district", "township", "village", "grid")


@dataclass(frozen=True)
class Scope:
    """What one principal may see and change."""

    everything: bool = False
    # An area subtree: the level of the node and its id (the statistical code).
    level: str | None = None
    area_id: int | None = None
    # Grid workers see exactly the grids they are bound to.
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    # Department staff: their department and the district it serves.
    department_id: int | None = None
    district_id: int | None = None
    # The nodes above the scope, visible for context (breadcrumbs) but not their other children.
    ancestors: frozenset[int] = field(default_factory=frozenset)
    # Whose scope it is: rows a user owns personally (their uploads) are theirs wherever.
    user_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.area_id or self.grid_ids or self.department_id)


SYSTEM = Scope(everything=True)
NOTHING = Scope()

_override: ContextVar[Scope | None] = ContextVar("wangge_scope", default=None)


def current_scope() -> Scope:
    """The scope in force: an explicit override, else the request's, else the system's."""
    scope = _override.get()
    if scope is not None:
        return scope
    if has_request_context():
        return g.get("scope", NOTHING)
    return SYSTEM


def set_request_scope(scope: Scope) -> None:
    """Called once by authentication for the current request."""
    g.scope = scope


@contextlib.contextmanager
def acting_as(scope: Scope) -> Iterator[Scope]:
    """Run a block under an explicit scope (jobs acting for a user, tests)."""
    token = _override.set(scope)
    try:
        yield scope
    finally:
        _override.reset(token)


def unscoped():
    """Run a block with the whole system visible; for authentication and system jobs only."""
    return acting_as(SYSTEM)


class Scoped:
    """Marker for models the scope filter covers; subclasses say how (SQL and Python).

    The defaults deny: a scoped model that forgets to define its rule shows nobody anything.
    """

    @classmethod
    def scope_criteria(cls, scope: Scope) -> ColumnElement[bool]:
        return true() if scope.everything else false()

    def in_scope(self, scope: Scope) -> bool:
        return scope.everything

    @classmethod
    def values_in_scope(cls, scope: Scope, values: dict) -> bool:
        """Whether a row given as a dict (bulk INSERT parameters) may be written."""
        return scope.everything


class AreaScoped(Scoped):
    """Mixin for rows that belong to a place: the ancestry columns scope filters use.

    The columns are the row's grid and its ancestors (denormalised on write, so a filter is
    one indexed equality, never a join up the tree).
    """

    @declared_attr
    def district_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, index=True)

    @declared_attr
    def township_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, index=True)

    @declared_attr
    def village_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, index=True)

    @declared_attr
    def grid_id(cls) -> Mapped[int | None]:
        return mapped_column(BigInteger, index=True)

    @classmethod
    def scope_criteria(cls, scope: Scope) -> ColumnElement[bool]:
        """SQL condition: the row lies inside the scope."""
        if scope.everything:
            return true()
        if scope.grid_ids:
            return cls.grid_id.in_(sorted(scope.grid_ids))
        if scope.level and scope.area_id:
            return getattr(cls, f"{scope.level}_id") == scope.area_id
        if scope.department_id and scope.district_id:
            return cls.district_id == scope.district_id
        return false()

    def in_scope(self, scope: Scope) -> bool:
        """Python twin of scope_criteria, for rows about to be written."""
        return values_in_scope(scope, lambda column: getattr(self, column))

    @classmethod
    def values_in_scope(cls, scope: Scope, values: dict) -> bool:
        """The same test on a row given as a dict (bulk INSERT parameters)."""
        return values_in_scope(scope, values.get)


def values_in_scope(scope: Scope, get) -> bool:
    """Whether ancestry columns read through `get(column)` fall inside the scope."""
    if scope.everything:
        return True
    if scope.grid_ids:
        return get("grid_id") in scope.grid_ids
    if scope.level and scope.area_id:
        return get(f"{scope.level}_id") == scope.area_id
    if scope.department_id and scope.district_id:
        return get("district_id") == scope.district_id
    return False


def _scoped_models() -> list[type]:
    found, stack = [], list(Scoped.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if hasattr(cls, "__mapper__"):
            found.append(cls)
    return found


@event.listens_for(Session, "do_orm_execute")
def _limit_to_scope(state) -> None:
    if state.is_insert:
        _refuse_bulk_inserts_outside_scope(state)
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    # Refreshing attributes of a row already loaded under this scope needs no filter.
    if state.is_column_load or state.execution_options.get("unscoped"):
        return
    scope = current_scope()
    if scope.everything:
        return
    state.statement = state.statement.options(*_criteria_options(scope, tuple(_scoped_models())))


@functools.lru_cache(maxsize=4096)
def _criteria_options(scope: Scope, models: tuple[type, ...]) -> tuple:
    """The loader criteria for one scope, built once: a request's every SELECT carries them all,
    and the criteria depend on nothing but the (frozen) scope and the model."""
    criteria = [(cls, cls.scope_criteria(scope)) for cls in models]
    return tuple(with_loader_criteria(cls, sql, include_aliases=True) for cls, sql in criteria)


def _refuse_bulk_inserts_outside_scope(state) -> None:
    scope = current_scope()
    entity = state.bind_mapper.class_ if state.bind_mapper else None
    if scope.everything or entity is None or not issubclass(entity, Scoped):
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    if not all(entity.values_in_scope(scope, row) for row in rows):
        raise Forbidden("超出您的管辖范围", code="out_of_scope")


@event.listens_for(Session, "before_flush")
def _refuse_writes_outside_scope(session: Session, flush_context, instances) -> None:
    scope = current_scope()
    if scope.everything:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Scoped) and not obj.in_scope(scope):
            raise Forbidden("超出您的管辖范围", code="out_of_scope")
