"""Room names, spelled in one place: consoles join their node's room, people their own.

Functions taking a `row` accept an Event or any row with its ancestry and assignment columns
(the sweep's RETURNING rows), so callers need not load the ORM object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from app.core.auth import Principal
from app.geo.codes import CITY_CODE


def area(area_id: int) -> str:
    """Everyone working at a node (a township's console, a village office …)."""
    return f"area:{area_id}"


def department(department_id: int) -> str:
    return f"dept:{department_id}"


def user(user_id: int) -> str:
    return f"user:{user_id}"


CITY = area(int(CITY_CODE))


# Who is on duty at command centres, as {centre: [user ids]}. The duty roster is a higher module:
# it installs its lookup here, so alarms and escalations can be routed to the people on duty
# by modules below it. Without it, nobody is on duty anywhere.
def _nobody(centre_ids: Iterable[int], *, at: datetime | None = None) -> dict[int, list[int]]:
    return {}


_duty_lookup: Callable[..., dict[int, list[int]]] = _nobody


def set_duty_lookup(lookup: Callable[..., dict[int, list[int]]]) -> None:
    global _duty_lookup
    _duty_lookup = lookup


def on_duty(centre_ids: Iterable[int], *, at: datetime | None = None) -> dict[int, list[int]]:
    """The users on duty at each centre now (or at a moment)."""
    return _duty_lookup(centre_ids, at=at)


def duty_rooms(centre_ids: Iterable[int], *, at: datetime | None = None) -> list[str]:
    """The personal rooms of everyone on duty at these centres."""
    return [user(u) for people in on_duty(centre_ids, at=at).values() for u in people]


def handler_rooms(row) -> list[str]:
    """Whoever is working on the event now: the person, else their department or node."""
    if row.assigned_user_id:
        return [user(row.assigned_user_id)]
    if row.handling_level == "department" and row.assigned_department_id:
        return [department(row.assigned_department_id)]
    unit = {"grid": row.grid_id, "village": row.village_id}.get(row.handling_level)
    return [area(unit or row.township_id)]


def next_level_up_node(row) -> int:
    """The node that hears about a late event beyond its handler."""
    if row.handling_level == "grid":
        return row.village_id
    if row.handling_level in ("village", "board"):
        return row.township_id
    # Department work, and triage that the township itself let slip, go to the district.
    return row.district_id


def next_level_up(row) -> str:
    """Who hears about a late event beyond its handler."""
    return area(next_level_up_node(row))


def event_rooms(row) -> list[str]:
    """Every console whose scope holds the event, and its handler."""
    places = (row.grid_id, row.village_id, row.township_id, row.district_id)
    return [*(area(p) for p in places if p), CITY, *handler_rooms(row)]


def for_principal(principal: Principal) -> list[str]:
    """The rooms a signed-in connection joins: its own, its node's or grids', its department's."""
    scope = principal.scope
    joined = [user(principal.user_id)]
    if scope.everything:
        joined.append(CITY)
    joined += [area(grid) for grid in sorted(scope.grid_ids)]
    if scope.area_id:
        joined.append(area(scope.area_id))
    if scope.department_id:
        joined.append(department(scope.department_id))
    return joined
