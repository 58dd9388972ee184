"""Per-process copies (app.core.cache): a second app stands for a second web process on the
same database and Redis. Writes here are committed for real (no rolled-back test transaction:
the other "process" could not see them), and undone at the end."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, update

from tests.support import DEMO_PASSWORD


@pytest.fixture
def other(app):
    """Another process: its own app object, so its own copies. Built as a worker is (its HTTP
    routes work the same): a second web app would re-initialise the one Socket.IO server
    object that the realtime tests' client needs as it is."""
    from app import create_app
    from app.extensions import db

    second = create_app({"GEODATA_DIR": app.config["GEODATA_DIR"], "TESTING": True}, role="worker")
    yield second
    with second.app_context():
        db.engine.dispose()


class Statements:
    """The SQL an app sends, to tell a copy's answer from a database query."""

    def __init__(self, app):
        from app.extensions import db

        self.seen: list[str] = []
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, *rest) -> None:
        self.seen.append(" ".join(statement.split()).lower())

    def about(self, table: str) -> list[str]:
        return [s for s in self.seen if f"from {table}" in s or f"update {table}" in s]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def _login(client, username: str) -> dict:
    response = client.post(
        "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def test_a_token_revoked_in_one_process_is_refused_at_once_by_another(app, other):
    here, there = app.test_client(), other.test_client()
    headers = _login(here, "demo_village")
    statements = Statements(other)
    try:
        assert there.get("/api/v1/auth/me", headers=headers).status_code == 200
        statements.seen.clear()
        assert there.get("/api/v1/auth/me", headers=headers).status_code == 200
        assert statements.about("tokens") == [], "the second request should use the copy"

        assert here.post("/api/v1/auth/logout", headers=headers).status_code == 204
        response = there.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["message"] == "登录已失效，请重新登录"
    finally:
        statements.close()


def test_a_deactivated_user_and_a_new_grid_binding_end_the_copy(app, other):
    from app.accounts.models import GridBinding, User
    from app.core.scope import unscoped
    from app.extensions import db
    from app.geo.models import Area

    there = other.test_client()
    headers = _login(app.test_client(), "demo_worker")
    me = there.get("/api/v1/auth/me", headers=headers).json
    with app.app_context(), unscoped():
        user = db.session.scalar(select(User).where(User.username == "demo_worker"))
        bound = {b.grid_id for b in user.grids}
        spare = db.session.scalar(
            select(Area.id).where(Area.level == "grid", Area.id.not_in(bound)).limit(1)
        )
        user_id = user.id
    try:
        with app.app_context(), unscoped():
            db.session.add(GridBinding(user_id=user_id, grid_id=spare))
            db.session.commit()
        grids = there.get("/api/v1/auth/me", headers=headers).json["scope"]["grids"]
        assert grids == sorted([*me["scope"]["grids"], str(spare)])

        with app.app_context(), unscoped():
            db.session.execute(update(User).where(User.id == user_id).values(is_active=False))
            db.session.commit()
        assert there.get("/api/v1/auth/me", headers=headers).status_code == 401
    finally:
        with app.app_context(), unscoped():
            db.session.execute(update(User).where(User.id == user_id).values(is_active=True))
            db.session.query(GridBinding).filter_by(user_id=user_id, grid_id=spare).delete()
            db.session.commit()
