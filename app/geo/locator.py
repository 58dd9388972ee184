"""The process-wide point → grid index: built from the database, rebuilt when grids change."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from app.core.scope import unscoped
from app.extensions import db
from app.geo.index import GridIndex
from app.geo.models import Area, AreaLevel, GeoState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Snapshot:
    version: int
    index: GridIndex
    # id → (name, kind) for every node, so a lookup answers names without a query.
    names: dict[int, tuple[str, str]]


class Locator:
    """Holds the current index; readers never wait for a rebuild except the very first."""

    def __init__(self, check_seconds: float):
        self._check_seconds = check_seconds
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def snapshot(self) -> _Snapshot:
        """The current index, rebuilt first if the grid version moved."""
        snap = self._snapshot
        now = time.monotonic()
        if snap is not None and now - self._checked_at < self._check_seconds:
            return snap
        # Only one thread checks and rebuilds; the others keep answering from the old index.
        if snap is not None and not self._lock.acquire(blocking=False):
            return snap
        if snap is None:
            self._lock.acquire()
        try:
            snap = self._snapshot
            version = _current_version()
            if snap is None or snap.version != version:
                snap = self._snapshot = _build(version)
            self._checked_at = time.monotonic()
            return snap
        finally:
            self._lock.release()

    def invalidate(self) -> None:
        """Force a version check on the next lookup (after this process changed grids)."""
        self._checked_at = 0.0


def _current_version() -> int:
    with unscoped():
        return db.session.scalar(select(GeoState.version).where(GeoState.id == 1)) or 0


def _build(version: int) -> _Snapshot:
    started = time.perf_counter()
    with unscoped():
        grids = db.session.execute(
            select(Area.id, Area.geom).where(Area.level == AreaLevel.GRID).order_by(Area.id)
        ).all()
        names = {
            row.id: (row.name, row.kind)
            for row in db.session.execute(select(Area.id, Area.name, Area.kind))
        }
    ids = np.fromiter((g.id for g in grids), dtype=np.int64, count=len(grids))
    geoms = np.array([g.geom for g in grids], dtype=object)
    index = GridIndex.build(ids, geoms if len(geoms) else np.array([], dtype=object))
    log.info(
        "grid index v%s: %d grids in %.2f s", version, len(grids), time.perf_counter() - started
    )
    return _Snapshot(version=version, index=index, names=names)
