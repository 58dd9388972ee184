"""Fixtures of the tile tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fresh_tiles(app, tmp_path, monkeypatch):
    """An empty tile cache and no per-process tile state: rolled-back tests reuse version
    numbers, which real deployments never do."""
    monkeypatch.setitem(app.config, "TILES_CACHE_DIR", str(tmp_path / "tiles"))
    app.extensions.pop("wangge_tiles", None)
    yield tmp_path / "tiles"
    app.extensions.pop("wangge_tiles", None)
