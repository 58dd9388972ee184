"""Accounts: login and tokens, lockout, password changes, scopes, and creating users."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import lazyload

from app.accounts.models import Department, GridBinding, Token, User
from app.accounts.passwords import (
    digest,
    hash_password,
    needs_rehash,
    new_token,
    same_digest,
    verify_password,
)
from app.accounts.roles import (
    BOARD_NAMES_ZH,
    LEVEL_NAMES_ZH,
    ROLE_NAMES_ZH,
    ROLE_NODE_LEVELS,
    Board,
    Role,
)
from app.core import cache
from app.core import redis as redis_
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from app.core.scope import SYSTEM, Scope, unscoped
from app.extensions import db
from app.geo.codes import ancestry, city_of, is_code, level_of
from app.geo.models import Area

COMMON_PASSWORDS = frozenset(
    {
        "12345678",
        "123456789",
        "password",
        "password1",
        "88888888",
        "11111111",
        "qwertyui",
        "abc12345",
        "a1234567",
    }
)


class AccountLocked(DomainError):
    status, code, message = 423, "account_locked", "登录失败次数过多，账号已锁定"


# -- scope ----------------------------------------------------------------------------------


def scope_for(user: User, grid_ids: Iterable[int] = ()) -> Scope:
    """The data scope a user's role and node give them."""
    if user.department_id is not None:
        return Scope(department_id=user.department_id, district_id=user.district_id)
    code = str(user.area_id)
    level = level_of(code)
    if level == "city":
        return SYSTEM
    columns = ancestry(code)
    above = {city_of(code)} | {v for v in columns.values() if v is not None and v != user.area_id}
    if user.role == Role.GRID_WORKER:
        grids = frozenset(grid_ids) or frozenset({user.area_id})
        for grid in grids:
            above.update(v for v in ancestry(str(grid)).values() if v is not None and v != grid)
        return Scope(grid_ids=grids, district_id=columns["district_id"], ancestors=frozenset(above))
    return Scope(
        level=level,
        area_id=user.area_id,
        district_id=columns["district_id"],
        ancestors=frozenset(above),
    )


def _principal(user: User, token_id: str) -> Principal:
    # Only grid workers' scopes depend on their grids; the others never load them.
    grid_ids = [b.grid_id for b in user.grids] if user.role == Role.GRID_WORKER else []
    scope = dataclasses.replace(scope_for(user, grid_ids), user_id=user.id)
    return Principal(user.id, user.username, user.role, token_id, scope)


# -- tokens ---------------------------------------------------------------------------------

# A token's last use is recorded at most this often, so reads do not each cost a write.
_TOUCH_EVERY = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class _Holder:
    principal: Principal
    expires_at: datetime
    last_used_at: datetime | None


# Who holds a token, kept per process: every API request asks. A revoked token, a deactivated
# user, a new role or grid binding writes one of these tables and so ends every copy at once.
# Failed-login counters and the last-use stamp do not change who holds a token.
PRINCIPALS = cache.Copy(
    "principals",
    {
        "tokens": {"last_used_at"},
        "users": {"failed_logins", "locked_until"},
        "grid_bindings": set(),
    },
    new_rows_ignored=("tokens",),
)


def principal_for_token(token: str) -> Principal | None:
    """The token loader core.auth calls for every API request."""
    token_id = digest(token)
    now = utcnow()
    holder = PRINCIPALS.get(token_id, lambda: _holder(token_id, now))
    if holder is None or holder.expires_at <= now:
        return None
    if holder.last_used_at is None or now - holder.last_used_at > _TOUCH_EVERY:
        with unscoped():
            try:
                db.session.execute(
                    update(Token).where(Token.id == token_id).values(last_used_at=now),
                    execution_options={cache.NEUTRAL: True},
                )
                db.session.commit()
            except OperationalError:
                # The stamp is best effort: a GET on SQLite reads without the write lock and
                # cannot take it once another writer has committed. Stamped next time.
                db.session.rollback()
                return holder.principal
        # Other processes keep their own stamp; each touches at most every _TOUCH_EVERY.
        PRINCIPALS.put(token_id, dataclasses.replace(holder, last_used_at=now))
    return holder.principal


def _holder(token_id: str, now: datetime) -> _Holder | None:
    with unscoped():
        row = db.session.execute(
            select(Token, User)
            .join(User, User.id == Token.user_id)
            .where(Token.id == token_id)
            .options(lazyload(User.grids))
        ).first()
        if row is None:
            return None
        tok, user = row
        if tok.revoked_at is not None or tok.expires_at <= now or not user.is_active:
            return None
        return _Holder(_principal(user, token_id), tok.expires_at, tok.last_used_at)


def _every_department() -> tuple[dict[int, cache.Row], dict[str, cache.Row]]:
    with unscoped():
        rows = [cache.Row(d) for d in db.session.scalars(select(Department))]
    return {d.id: d for d in rows}, {d.code: d for d in rows}


# Dispatch names a department for many reports; there are a few hundred and they rarely change.
DEPARTMENTS = cache.Copy("departments", {"departments": set()}, _every_department)


def department_info(*, department_id: int | None = None, code: str | None = None):
    """A department's columns by id or code, from this process's copy, whatever the scope."""
    by_id, by_code = DEPARTMENTS.get()
    return by_id.get(department_id) if code is None else by_code.get(code)


def _issue_token(user: User, user_agent: str | None) -> tuple[str, Token]:
    token = new_token()
    row = Token(
        id=digest(token),
        user_id=user.id,
        expires_at=utcnow() + timedelta(days=current_app.config["TOKEN_TTL_DAYS"]),
        user_agent=(user_agent or "")[:200] or None,
    )
    db.session.add(row)
    db.session.flush()
    return token, row


# -- login ----------------------------------------------------------------------------------


def _ip_key(ip: str) -> str:
    return f"wangge:login-failures:{ip}"


def _check_ip(ip: str) -> None:
    limit = current_app.config["LOGIN_IP_LIMIT"]
    r = redis_.client()
    failures = int(r.get(_ip_key(ip)) or 0)
    if failures >= limit:
        retry = max(int(r.ttl(_ip_key(ip))), 1)
        raise TooManyRequests(
            f"该网络地址登录失败次数过多，请 {retry} 秒后再试",
            code="login_rate_limited",
            retry_after=retry,
        )


def _count_ip_failure(ip: str) -> None:
    r = redis_.client()
    # SET NX starts the window once; EXPIRE NX would do it in one call but needs Redis 7,
    # and the embedded server is 6.2.
    pipe = r.pipeline()
    pipe.set(_ip_key(ip), 0, ex=current_app.config["LOGIN_IP_WINDOW_SECONDS"], nx=True)
    pipe.incr(_ip_key(ip))
    pipe.execute()


def login(
    *, username: str, password: str, ip: str, user_agent: str | None = None
) -> tuple[str, Token, User]:
    """Check a password and issue a token; failures count per account and per address."""
    _check_ip(ip)
    with unscoped():
        user = db.session.scalar(select(User).where(User.username == username))
        now = utcnow()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(locked_until=user.locked_until.isoformat())
        if user is not None and user.password_hash is None and user.activation_hash is not None:
            verify_password(None, password)  # same cost as a real check
            raise Unauthorized("账号尚未激活，请使用激活码设置密码", code="activation_required")
        if user is None or not user.is_active or not verify_password(user.password_hash, password):
            _count_ip_failure(ip)
            if user is not None:
                _count_account_failure(user)
            raise Unauthorized("用户名或密码错误", code="invalid_credentials")
        if user.failed_logins or user.locked_until:
            user.failed_logins, user.locked_until = 0, None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        token, row = _issue_token(user, user_agent)
        return token, row, user


def _count_account_failure(user: User) -> None:
    # One atomic UPDATE so concurrent failures all count; committed even though login fails.
    cfg = current_app.config
    failures = user.failed_logins + 1
    values = {"failed_logins": User.failed_logins + 1}
    if failures >= cfg["LOGIN_MAX_FAILURES"]:
        values["locked_until"] = utcnow() + timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    db.session.execute(update(User).where(User.id == user.id).values(**values))
    db.session.commit()


def logout(*, token_id: str) -> None:
    """Revoke the token the caller used."""
    db.session.execute(
        update(Token)
        .where(Token.id == token_id, Token.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_tokens(*, user_id: int, except_token: str | None = None) -> int:
    """Revoke every live token of a user (after a password change, or by an admin)."""
    get_user(user_id=user_id)  # scope check: only users the caller may see
    stmt = update(Token).where(Token.user_id == user_id, Token.revoked_at.is_(None))
    if except_token:
        stmt = stmt.where(Token.id != except_token)
    return db.session.execute(stmt.values(revoked_at=utcnow())).rowcount


def check_password_policy(password: str, username: str) -> None:
    """Refuse passwords that are short, common or contain the username."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise ValidationFailed(f"密码至少需要 {minimum} 个字符", code="weak_password")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationFailed("密码过于简单，请换一个", code="weak_password")
    if username and username.lower() in password.lower():
        raise ValidationFailed("密码不能包含用户名", code="weak_password")


def change_password(
    *, user_id: int, token_id: str, current_password: str, new_password: str
) -> None:
    """Change one's own password; every other session is signed out."""
    with unscoped():
        user = db.session.get(User, user_id)
    if user is None or not verify_password(user.password_hash, current_password):
        raise Unauthorized("当前密码不正确", code="invalid_credentials")
    check_password_policy(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    with unscoped():
        db.session.flush()
        db.session.execute(
            update(Token)
            .where(Token.user_id == user_id, Token.revoked_at.is_(None), Token.id != token_id)
            .values(revoked_at=utcnow())
        )


def activate(
    *,
    username: str,
    activation_code: str,
    new_password: str,
    ip: str,
    user_agent: str | None = None,
) -> tuple[str, Token, User]:
    """First login of an imported account: the one-time code sets the password."""
    _check_ip(ip)
    with unscoped():
        user = db.session.scalar(select(User).where(User.username == username))
        code = activation_code.strip().upper().replace("-", "").replace(" ", "")
        if (
            user is None
            or user.activation_hash is None
            or not same_digest(user.activation_hash, digest(code))
        ):
            _count_ip_failure(ip)
            raise Unauthorized("用户名或激活码错误", code="invalid_activation")
        check_password_policy(new_password, username)
        user.password_hash = hash_password(new_password)
        user.activation_hash = None
        user.password_changed_at = utcnow()
        token, row = _issue_token(user, user_agent)
        return token, row, user


def unlock(*, user_id: int) -> User:
    """Lift a lockout (admin)."""
    user = get_user(user_id=user_id)
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    return user


# -- users ----------------------------------------------------------------------------------


def get_user(*, user_id: int) -> User:
    """A user the caller may see."""
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("找不到该用户", code="user_not_found")
    return user


def resolve_node(code: str) -> tuple[Area | None, Department | None]:
    """An area or department code → the node it names (within the caller's scope)."""
    if "-" in code:
        dept = db.session.scalar(select(Department).where(Department.code == code))
        if dept is None:
            raise ValidationFailed(f"找不到部门 {code}", code="unknown_node", node=code)
        return None, dept
    valid = is_code(code)
    area = db.session.scalar(select(Area).where(Area.id == int(code))) if valid else None
    if area is None:
        raise ValidationFailed(f"找不到区域 {code}", code="unknown_node", node=code)
    return area, None


def check_role_node(role: str, level: str, board: str | None) -> None:
    """The rules of ROLE_NODE_LEVELS and boards, with messages a person can act on."""
    try:
        allowed = ROLE_NODE_LEVELS[Role(role)]
    except ValueError:
        raise ValidationFailed(f"未知角色 {role}", code="unknown_role", role=role) from None
    if level not in allowed:
        levels = "、".join(LEVEL_NAMES_ZH[x] for x in sorted(allowed))
        raise ValidationFailed(
            f"{ROLE_NAMES_ZH[Role(role)]}只能属于{levels}",
            code="role_node_mismatch",
            role=role,
            level=level,
        )
    if role == Role.TOWNSHIP_BOARD_HANDLER:
        if board not in {b.value for b in Board}:
            names = "、".join(f"{b.value}（{BOARD_NAMES_ZH[b]}）" for b in Board)
            raise ValidationFailed(f"板块处置人员须指定板块：{names}", code="board_required")
    elif board:
        raise ValidationFailed("只有板块处置人员可以指定板块", code="board_not_allowed")


def home_columns(area: Area | None, dept: Department | None) -> dict:
    """The user's home and its ancestry columns."""
    if dept is not None:
        return {
            "area_id": None,
            "department_id": dept.id,
            "district_id": dept.district_id,
            "township_id": None,
            "village_id": None,
            "grid_id": None,
        }
    return {"area_id": area.id, "department_id": None, **ancestry(area.code)}


def create_user(
    *,
    username: str,
    role: str,
    node: str,
    password: str | None = None,
    board: str | None = None,
    grids: Iterable[str] = (),
    display_name: str = "",
    phone: str | None = None,
) -> User:
    """Create one account; a grid worker is bound to their grid and any extra grids."""
    username = username.strip()
    if not username:
        raise ValidationFailed("用户名不能为空", code="username_required")
    if db.session.scalar(
        select(User.id).where(User.username == username).execution_options(unscoped=True)
    ):
        raise Conflict(f"用户名 {username} 已存在", code="username_taken")
    area, dept = resolve_node(node)
    check_role_node(role, "department" if dept else area.level, board)
    if password is not None:
        check_password_policy(password, username)
    user = User(
        username=username,
        display_name=display_name or username,
        phone=phone,
        role=role,
        board=board,
        password_hash=hash_password(password) if password is not None else None,
        **home_columns(area, dept),
    )
    grid_ids = {area.id} if role == Role.GRID_WORKER else set()
    for code in grids:
        grid, _ = resolve_node(code)
        if grid is None or grid.level != "grid":
            raise ValidationFailed(f"{code} 不是网格", code="not_a_grid", grid=code)
        grid_ids.add(grid.id)
    if grid_ids and role != Role.GRID_WORKER:
        raise ValidationFailed("只有网格员可以绑定网格", code="grids_not_allowed")
    user.grids = [GridBinding(grid_id=g) for g in sorted(grid_ids)]
    db.session.add(user)
    db.session.flush()
    return user
