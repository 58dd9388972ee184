"""Room names, spelled in one place: consoles join their node's room, people their own."""

from __future__ import annotations


def area(area_id: int) -> str:
    """Everyone working at a node (a township's console, a village office …)."""
    return f"area:{area_id}"


def department(department_id: int) -> str:
    return f"dept:{department_id}"


def user(user_id: int) -> str:
    return f"user:{user_id}"
