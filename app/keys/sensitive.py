"""Who sees which sensitive fields of the registry: one table, role → visible field groups.

The people who visit and look after key persons (the grid's worker, the grid leader and
village staff), the township command centre that dispatches for them, and administrators
see everything; boards, departments and supervisors work from masked values
(5001**********1234, 138****5678, 张*) and never see case notes. Anything not listed is
masked: an unknown role or a forgotten assignment fails closed.
"""

from __future__ import annotations

from app.accounts.roles import Role

# Field groups, by the attribute names they cover on KeyPerson / KeyPlace / KeyVisit.
GROUPS: dict[str, tuple[str, ...]] = {
    "identity": ("id_card_no",),
    "contact": ("phone", "guardian_name", "guardian_phone", "contact_name", "contact_phone"),
    # Case notes, and the notes of visits to a person, describe their circumstances.
    "case": ("case_notes",),
}
ALL = frozenset(GROUPS)

VISIBLE_GROUPS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: ALL,
    Role.GRID_LEADER: ALL,
    Role.VILLAGE_STAFF: ALL,
    Role.TOWNSHIP_DISPATCHER: ALL,
    Role.ADMIN: ALL,
    Role.TOWNSHIP_BOARD_HANDLER: frozenset(),
    Role.DEPARTMENT_HANDLER: frozenset(),
    Role.SUPERVISOR: frozenset(),
}

_GROUP_OF = {field: group for group, fields in GROUPS.items() for field in fields}


def visible_groups(role: str) -> frozenset[str]:
    """The groups a role sees in full."""
    return VISIBLE_GROUPS.get(role, frozenset())


def can_see(groups: frozenset[str], field: str) -> bool:
    return _GROUP_OF[field] in groups


def mask(field: str, value: str | None) -> str | None:
    """The masked form of a sensitive value (None stays None; prose is withheld)."""
    if value is None or value == "":
        return value
    if field == "id_card_no":
        return _keep(value, 4, 4)
    if field.endswith("phone"):
        return _keep(value, 3, 4)
    if field.endswith("name"):
        return value[0] + "*" * max(1, len(value) - 1)
    return None


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * (len(value) - min(2, len(value))) + value[-min(2, len(value)) :]
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def reveal(row, field: str) -> str | None:
    """The value of `field` as the row's reader may see it.

    The service stamps rows with `visible_groups` for the caller; an unstamped row shows only
    masked values.
    """
    value = getattr(row, field)
    groups = getattr(row, "visible_groups", frozenset())
    return value if can_see(groups, field) else mask(field, value)


def visit_note(visit) -> str | None:
    """A visit's note: withheld like case notes when the visit was to a person."""
    if visit.person_id is None:
        return visit.note
    groups = getattr(visit, "visible_groups", frozenset())
    return visit.note if can_see(groups, "case_notes") else None


def masked_fields(row, fields: tuple[str, ...]) -> list[str]:
    """Which of the row's non-empty sensitive fields the reader sees masked or withheld."""
    groups = getattr(row, "visible_groups", frozenset())
    return [f for f in fields if getattr(row, f, None) and not can_see(groups, f)]
