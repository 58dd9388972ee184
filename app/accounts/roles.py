"""Roles, boards and which node each role may belong to: data, not if-chains."""

from __future__ import annotations

from enum import StrEnum

from app.geo.codes import LEVEL_NAMES_ZH as AREA_LEVEL_NAMES_ZH


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    VILLAGE_STAFF = "village_staff"
    TOWNSHIP_DISPATCHER = "township_dispatcher"
    TOWNSHIP_BOARD_HANDLER = "township_board_handler"
    DEPARTMENT_HANDLER = "department_handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Board(StrEnum):
    """The four boards 四板块 of a township."""

    PARTY = "party"
    ECONOMY = "economy"
    LIVELIHOOD = "livelihood"
    SAFETY = "safety"


ROLE_NAMES_ZH = {
    Role.GRID_WORKER: "网格员",
    Role.GRID_LEADER: "网格长",
    Role.VILLAGE_STAFF: "村社干部",
    Role.TOWNSHIP_DISPATCHER: "镇街指挥中心调度员",
    Role.TOWNSHIP_BOARD_HANDLER: "镇街板块处置人员",
    Role.DEPARTMENT_HANDLER: "区县部门处置人员",
    Role.SUPERVISOR: "督查人员",
    Role.ADMIN: "系统管理员",
}

BOARD_NAMES_ZH = {
    Board.PARTY: "党的建设",
    Board.ECONOMY: "经济发展",
    Board.LIVELIHOOD: "民生服务",
    Board.SAFETY: "平安法治",
}

# The levels of node a role may belong to ("department" means a district department).
ROLE_NODE_LEVELS: dict[Role, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({"grid"}),
    Role.GRID_LEADER: frozenset({"grid", "village"}),
    Role.VILLAGE_STAFF: frozenset({"village"}),
    Role.TOWNSHIP_DISPATCHER: frozenset({"township"}),
    Role.TOWNSHIP_BOARD_HANDLER: frozenset({"township"}),
    Role.DEPARTMENT_HANDLER: frozenset({"department"}),
    Role.SUPERVISOR: frozenset({"township", "district", "city"}),
    Role.ADMIN: frozenset({"district", "city"}),
}

# Where a user can belong: any level of the hierarchy, or a district department.
LEVEL_NAMES_ZH = {**AREA_LEVEL_NAMES_ZH, "department": "区县部门"}

# Field roles: the ones the phone app serves.
FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, Role.VILLAGE_STAFF})
