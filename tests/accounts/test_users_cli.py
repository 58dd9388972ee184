"""`flask users create` and `flask users import`, including activation of imported accounts."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from app.accounts.models import GridBinding, User

GRID = "500103003013001"
OTHER_GRID = "500103003013002"


def test_create_a_grid_worker_bound_to_two_grids(runner, session, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "wang_wu",
            "--password",
            "Wang-wu-2026",
            "--role",
            "grid_worker",
            "--node",
            GRID,
            "--grid",
            OTHER_GRID,
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "wang_wu"))
    grids = set(session.scalars(select(GridBinding.grid_id).where(GridBinding.user_id == user.id)))
    assert grids == {int(GRID), int(OTHER_GRID)}
    login = client.post(
        "/api/v1/auth/login", json={"username": "wang_wu", "password": "Wang-wu-2026"}
    )
    assert login.status_code == 200
    assert sorted(login.json["user"]["grids"]) == [GRID, OTHER_GRID]


def test_create_refuses_a_role_on_the_wrong_kind_of_node(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "x1",
            "--password",
            "Abcdef-2026",
            "--role",
            "township_dispatcher",
            "--node",
            GRID,
        ]
    )
    assert result.exit_code != 0
    assert "镇街" in result.output and "role_node_mismatch" in result.output


def test_create_refuses_unknown_nodes_and_missing_board(runner):
    unknown = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "x2",
            "--password",
            "Abcdef-2026",
            "--role",
            "village_staff",
            "--node",
            "500103999999",
        ]
    )
    assert unknown.exit_code != 0 and "unknown_node" in unknown.output
    board = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "x3",
            "--password",
            "Abcdef-2026",
            "--role",
            "township_board_handler",
            "--node",
            "500103003000",
        ]
    )
    assert board.exit_code != 0 and "board_required" in board.output


def test_create_a_department_handler(runner, session):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--username",
            "zj1",
            "--password",
            "Abcdef-2026",
            "--role",
            "department_handler",
            "--node",
            "500103-ZJ",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(User).where(User.username == "zj1"))
    assert user.department_id is not None and user.area_id is None
    assert user.district_id == 500103000000


def test_import_creates_valid_rows_reports_bad_ones_and_can_be_rerun(
    runner, session, client, tmp_path
):
    path = tmp_path / "users.csv"
    rows = [
        {"username": "imp_worker", "role": "grid_worker", "node": GRID, "grids": OTHER_GRID},
        {
            "username": "imp_staff",
            "role": "village_staff",
            "node": "500103003013",
            "display_name": "刘",
        },
        {
            "username": "imp_board",
            "role": "township_board_handler",
            "node": "500103003000",
            "board": "safety",
        },
        {"username": "imp_bad_node", "role": "village_staff", "node": "123"},
        {"username": "imp_bad_role", "role": "mayor", "node": "500103003013"},
        {"username": "imp_worker", "role": "grid_worker", "node": GRID},  # duplicate in file
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["username", "role", "node", "board", "grids", "display_name"]
        )
        writer.writeheader()
        writer.writerows(rows)
    codes_path = tmp_path / "codes.csv"

    result = runner.invoke(args=["users", "import", str(path), "--codes-out", str(codes_path)])
    assert result.exit_code == 1  # some rows were rejected …
    assert "created 3" in result.output and "2 rejected" in result.output
    assert "line 5" in result.output and "line 6" in result.output
    # … and the good ones are kept.
    count = session.scalar(
        select(func.count()).select_from(User).where(User.username.like("imp_%"))
    )
    assert count == 3
    with codes_path.open(encoding="utf-8") as fh:
        codes = {row["username"]: row["activation_code"] for row in csv.DictReader(fh)}
    assert set(codes) == {"imp_worker", "imp_staff", "imp_board"}

    again = runner.invoke(
        args=["users", "import", str(path), "--codes-out", str(tmp_path / "c2.csv")]
    )
    assert "created 0, skipped 4 existing" in again.output

    # An imported account must be activated before it can log in.
    refused = client.post(
        "/api/v1/auth/login", json={"username": "imp_staff", "password": "whatever-1"}
    )
    assert refused.json["error"]["code"] == "activation_required"
    bad = client.post(
        "/api/v1/auth/activate",
        json={
            "username": "imp_staff",
            "activation_code": "WRONGCODE234",
            "new_password": "Liu-mima-2026",
        },
    )
    assert bad.status_code == 401
    ok = client.post(
        "/api/v1/auth/activate",
        json={
            "username": "imp_staff",
            "activation_code": codes["imp_staff"].lower(),
            "new_password": "Liu-mima-2026",
        },
    )
    assert ok.status_code == 200 and ok.json["user"]["activated"] is True
    reused = client.post(
        "/api/v1/auth/activate",
        json={
            "username": "imp_staff",
            "activation_code": codes["imp_staff"],
            "new_password": "Other-2026-x",
        },
    )
    assert reused.status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"username": "imp_staff", "password": "Liu-mima-2026"}
    )
    assert login.status_code == 200
