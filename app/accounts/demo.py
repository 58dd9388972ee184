"""Named demo accounts for every role in one township (解放碑街道, 渝中区)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts import bulk, service
from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.accounts.roles import BOARD_NAMES_ZH, ROLE_NAMES_ZH, Board, Role
from app.extensions import db
from app.geo.models import Area, AreaLevel

DEMO_PASSWORD = "Demo@2026"
DISTRICT = "500103000000"  # 渝中区: also the one-district test fixture
TOWNSHIP = "500103003000"  # 解放碑街道
VILLAGE = "500103003013"  # 民生路社区
CITY = "500000000000"


def _accounts() -> list[dict]:
    grids = list(
        db.session.scalars(
            select(Area.code)
            .where(Area.parent_id == int(VILLAGE), Area.level == AreaLevel.GRID)
            .order_by(Area.id)
            .limit(2)
        )
    )
    if not grids:
        raise RuntimeError("demo village has no grids: run `flask geodata load` first")
    accounts = [
        dict(
            username="demo_worker",
            role=Role.GRID_WORKER,
            node=grids[0],
            grids=grids[1:],
            display_name="张网格",
        ),
        dict(username="demo_leader", role=Role.GRID_LEADER, node=VILLAGE, display_name="李网格长"),
        dict(username="demo_village", role=Role.VILLAGE_STAFF, node=VILLAGE, display_name="王社区"),
        dict(
            username="demo_dispatcher",
            role=Role.TOWNSHIP_DISPATCHER,
            node=TOWNSHIP,
            display_name="赵调度",
        ),
    ]
    accounts += [
        dict(
            username=f"demo_board_{board.value}",
            role=Role.TOWNSHIP_BOARD_HANDLER,
            node=TOWNSHIP,
            board=board.value,
            display_name=f"{BOARD_NAMES_ZH[board]}专员",
        )
        for board in Board
    ]
    accounts += [
        dict(
            username="demo_dept_cg",
            role=Role.DEPARTMENT_HANDLER,
            node=DISTRICT[:6] + "-CG",
            display_name="渝中区城管处置员",
        ),
        dict(
            username="demo_supervisor_township",
            role=Role.SUPERVISOR,
            node=TOWNSHIP,
            display_name="镇街督查",
        ),
        dict(
            username="demo_supervisor_district",
            role=Role.SUPERVISOR,
            node=DISTRICT,
            display_name="区县督查",
        ),
        dict(
            username="demo_supervisor_city",
            role=Role.SUPERVISOR,
            node=CITY,
            display_name="市级督查",
        ),
        dict(username="demo_admin", role=Role.ADMIN, node=CITY, display_name="系统管理员"),
    ]
    return accounts


def seed(*, password: str = DEMO_PASSWORD) -> list[dict]:
    """Create the demo accounts that are missing, and reset every demo password to `password`."""
    bulk.seed_departments()
    accounts = _accounts()
    for spec in accounts:
        user = db.session.scalar(select(User).where(User.username == spec["username"]))
        if user is None:
            service.create_user(password=password, **spec)
        else:
            user.password_hash = hash_password(password)
            user.failed_logins, user.locked_until, user.is_active = 0, None, True
    db.session.flush()
    return accounts


def describe(accounts: list[dict], password: str) -> str:
    """The table the run command prints."""
    lines = [f"Demo accounts (password for all: {password}):"]
    for spec in accounts:
        role = ROLE_NAMES_ZH[Role(spec["role"])]
        board = f" · {BOARD_NAMES_ZH[Board(spec['board'])]}" if spec.get("board") else ""
        lines.append(f"  {spec['username']:<26} {role}{board} @ {spec['node']}")
    return "\n".join(lines)
