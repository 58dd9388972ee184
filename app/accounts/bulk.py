"""Bulk account work: the city-wide CSV import (≈260,000 field accounts) and departments."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select

from app.accounts.models import Department, GridBinding, User
from app.accounts.passwords import digest, hash_password, new_activation_code
from app.accounts.roles import Role
from app.accounts.service import check_password_policy, check_role_node
from app.core.db import utcnow
from app.core.errors import ValidationFailed
from app.extensions import db
from app.geo.codes import ancestry, is_code
from app.geo.models import Area, AreaLevel

BATCH = 5_000
DEPARTMENTS_CSV = Path(__file__).parent / "data" / "departments.csv"


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    codes_written: bool = False


def issue_activation(user: User) -> str:
    """Give an account without a password a one-time activation code; return the code."""
    code = new_activation_code()
    user.activation_hash = digest(code)
    return code


def import_users(
    rows: Iterable[dict],
    *,
    codes_out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Validate and insert accounts in batches, committing each; invalid rows are reported.

    Nodes are checked against an in-memory copy of the hierarchy, and inserts go in batches
    of Core INSERTs: per-row ORM work would take hours at city scale.
    """
    rows = list(rows)
    result = ImportResult()
    levels = {row.id: row.level for row in db.session.execute(select(Area.id, Area.level))}
    departments = {
        d.code: (d.id, d.district_id)
        for d in db.session.execute(select(Department.code, Department.id, Department.district_id))
    }
    taken = set(db.session.scalars(select(User.username)))
    now = utcnow()
    pending: list[tuple[dict, list[int], str | None]] = []
    codes_fh = None

    def flush() -> None:
        nonlocal codes_fh
        if not pending:
            return
        ids = db.session.execute(
            insert(User).returning(User.id, User.username, sort_by_parameter_order=True),
            [p[0] for p in pending],
        ).all()
        bindings = [
            {"user_id": uid, "grid_id": grid}
            for (uid, _), (_, grids, _) in zip(ids, pending, strict=True)
            for grid in grids
        ]
        if bindings:
            db.session.execute(insert(GridBinding), bindings)
        db.session.commit()
        codes = [(name, code) for (_, name), (_, _, code) in zip(ids, pending, strict=True) if code]
        if codes:
            if codes_fh is None:
                codes_fh = codes_out.open("w", newline="", encoding="utf-8")
                codes_fh.write("username,activation_code\n")
                result.codes_written = True
            csv.writer(codes_fh).writerows(codes)
        result.created += len(pending)
        pending.clear()

    try:
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            try:
                parsed = _parse(row, levels, departments, now)
            except ValidationFailed as error:
                result.errors.append((number, error.message))
                continue
            values, grids, code = parsed
            if values["username"] in taken:
                result.skipped += 1
                continue
            taken.add(values["username"])
            pending.append((values, grids, code))
            if len(pending) >= BATCH:
                flush()
                if progress:
                    progress(result.created + result.skipped + len(result.errors), len(rows))
        flush()
    finally:
        if codes_fh is not None:
            codes_fh.close()
    if progress:
        progress(len(rows), len(rows))
    return result


def _parse(
    row: dict, levels: dict[int, str], departments: dict, now
) -> tuple[dict, list[int], str | None]:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    username, role, node, board = (
        cell("username"),
        cell("role"),
        cell("node"),
        cell("board") or None,
    )
    if not username:
        raise ValidationFailed("缺少用户名")
    if not node:
        raise ValidationFailed(f"{username}: 缺少所属节点 node")
    if node in departments:
        level, home = "department", {"area_id": None, "department_id": departments[node][0]}
        home.update(
            district_id=departments[node][1], township_id=None, village_id=None, grid_id=None
        )
    elif is_code(node) and int(node) in levels:
        level, home = (
            levels[int(node)],
            {"area_id": int(node), "department_id": None, **ancestry(node)},
        )
    else:
        raise ValidationFailed(f"{username}: 找不到节点 {node}")
    try:
        check_role_node(role, level, board)
    except ValidationFailed as error:
        raise ValidationFailed(f"{username}: {error.message}") from None
    grids: list[int] = []
    if role == Role.GRID_WORKER:
        grids = [int(node)]
        for extra in filter(None, (g.strip() for g in cell("grids").replace(";", " ").split())):
            if not is_code(extra) or levels.get(int(extra)) != AreaLevel.GRID:
                raise ValidationFailed(f"{username}: {extra} 不是网格")
            if int(extra) not in grids:
                grids.append(int(extra))
    password, code = cell("password"), None
    if password:
        check_password_policy(password, username)
        password_hash, activation_hash = hash_password(password), None
    else:
        code = new_activation_code()
        password_hash, activation_hash = None, digest(code)
    values = {
        "username": username,
        "display_name": cell("display_name") or username,
        "phone": cell("phone") or None,
        "role": role,
        "board": board,
        "password_hash": password_hash,
        "activation_hash": activation_hash,
        "is_active": True,
        "failed_logins": 0,
        "created_at": now,
        **home,
    }
    return values, grids, code


def seed_departments() -> int:
    """The standard departments in every district; existing ones are left alone."""
    with DEPARTMENTS_CSV.open(encoding="utf-8") as fh:
        kinds = list(csv.DictReader(fh))
    existing = set(db.session.scalars(select(Department.code)))
    districts = db.session.execute(
        select(Area.id, Area.name).where(Area.level == AreaLevel.DISTRICT).order_by(Area.id)
    ).all()
    rows = []
    for district in districts:
        for kind in kinds:
            code = f"{str(district.id)[:6]}-{kind['kind']}"
            if code not in existing:
                rows.append(
                    {
                        "code": code,
                        "name": f"{district.name}{kind['name']}",
                        "short_name": kind["short_name"],
                        "kind": kind["kind"],
                        "district_id": district.id,
                    }
                )
    if rows:
        db.session.execute(insert(Department), rows)
    return len(rows)
