"""Users, their grids, district departments and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import utcnow
from app.core.scope import AreaScoped, Scope
from app.core.types import UTCDateTime
from app.extensions import db


class Department(AreaScoped, db.Model):
    """A district department (城管, 住建, 规划自然资源 …) that townships escalate to."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)  # "500103-CG"
    name: Mapped[str] = mapped_column(String(80))
    short_name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(8))  # CG, ZJ, …: the same in every district

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """Anyone working in a district sees its departments (to escalate to); writes stay
        with the district's own admins (the generic subtree rule)."""
        if scope.everything:
            return super().scope_criteria(scope)
        return cls.district_id == scope.district_id


class User(AreaScoped, db.Model):
    """An account; it belongs to exactly one area node or one department."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(32), index=True)
    board: Mapped[str | None] = mapped_column(String(16))
    area_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("areas.id", ondelete="RESTRICT"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Bulk-imported accounts start with a one-time activation code instead of a password.
    activation_hash: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship("Area", lazy="raise")
    department = relationship(Department, lazy="raise")
    # Small and needed wherever a user is shown or scoped, so always loaded with the user.
    grids: Mapped[list[GridBinding]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("(area_id IS NULL) <> (department_id IS NULL)", name="one_home"),
        CheckConstraint(
            "role <> 'township_board_handler' OR board IS NOT NULL", name="board_handler_board"
        ),
    )


class GridBinding(db.Model):
    """A grid a grid worker is responsible for; a worker may hold several."""

    __tablename__ = "grid_bindings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("areas.id", ondelete="RESTRICT"), primary_key=True, index=True
    )

    user: Mapped[User] = relationship(back_populates="grids")


class Token(db.Model):
    """A bearer token; only its SHA-256 is stored, so a database leak yields no live tokens."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(200))
