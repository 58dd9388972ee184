"""What Open311 publishes: which categories are public, the attributes a service asks for,
and how the lifecycle's states read as the spec's open/closed. Data, not if-chains."""

from __future__ import annotations

from app.events.lifecycle import State

# Top categories the public may read and partners may post. Things about people stay out:
# DISPUTE 矛盾纠纷 and PUBLIC_ORDER 社会治安 name neighbours and suspects, LIVELIHOOD and
# HEALTH concern individual residents, BUILDING, FOOD_DRUG, SAFETY and OTHER point at named
# households or businesses. What remains is the classic 311 list: streets, lights, litter.
# Overridable with the OPEN311_PUBLIC_CATEGORIES setting (a list of category codes).
PUBLIC_CATEGORIES = ("MUNICIPAL", "SANITATION", "ECOLOGY", "TRAFFIC", "GEOHAZARD")

# Spec: "open" until the case is finished; rejected and merged reports are finished too.
CLOSED_STATES = frozenset({State.CLOSED, State.REJECTED, State.MERGED})


def status_of(state: str) -> str:
    """The spec's status for one of our lifecycle states."""
    return "closed" if state in CLOSED_STATES else "open"


def states_for(status: str) -> list[str]:
    """Our lifecycle states behind one spec status."""
    return [s.value for s in State if status_of(s) == status]


# Every public service asks for the same optional details, each mapped onto the report.
ATTRIBUTES = (
    {
        "variable": True,
        "code": "occurred_at",
        "datatype": "datetime",
        "required": False,
        "datatype_description": "ISO 8601，例如 2026-05-01T08:30:00+08:00",
        "order": 1,
        "description": "发生时间（默认为提交时间） / When it happened",
    },
    {
        "variable": True,
        "code": "accuracy_m",
        "datatype": "number",
        "required": False,
        "datatype_description": "米，0–10000",
        "order": 2,
        "description": "定位精度（米） / Location accuracy in metres",
    },
)
