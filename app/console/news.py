"""Event news: events announce, and every console whose scope holds the event hears of it."""

from __future__ import annotations

from app.events import signals
from app.realtime import rooms
from app.realtime.service import publish


def summary(event) -> dict:
    """What a console list row needs without fetching the event."""
    return {
        "id": event.id,
        "state": event.state,
        "category": event.category_code,
        "subcategory": event.subcategory_code,
        "priority": event.priority,
        "emergency": event.emergency,
        "description": event.description[:80],
        "lon": event.lon,
        "lat": event.lat,
        "grid_id": event.grid_id,
        "township_id": event.township_id,
        "handling_level": event.handling_level,
        "assigned_board": event.assigned_board,
        "assigned_department_id": event.assigned_department_id,
        "assigned_user_id": event.assigned_user_id,
        "due_at": event.due_at.isoformat() if event.due_at else None,
        "likely_duplicate_of": event.likely_duplicate_of_id,
    }


def _reported(event, **_kw) -> None:
    publish("event_new", summary(event), rooms.event_rooms(event), event_id=event.id)


def _transitioned(event, *, action, from_state, to_state, actor=None, **_kw) -> None:
    payload = {**summary(event), "action": str(action), "from_state": str(from_state)}
    publish("event_changed", payload, rooms.event_rooms(event), event_id=event.id)


def connect() -> None:
    signals.reported.connect(_reported)
    signals.transitioned.connect(_transitioned)
