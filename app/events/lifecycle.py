"""The event lifecycle: every state, and every allowed transition, in one table.

Modelled on GB/T 30428's loop (信息收集 → 立案 → 派遣 → 处置 → 核查 → 结案) and on grassroots
practice: returns 退回, rework 返工 after a failed check, extensions 延期, escalation 上报/吹哨,
and merging duplicates. Services look transitions up here; nothing else decides legality.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    REPORTED = "reported"  # 已上报: received, waiting for triage
    FILED = "filed"  # 已立案: accepted as a case, waiting for dispatch
    REJECTED = "rejected"  # 不予立案: not a case (terminal)
    MERGED = "merged"  # 已合并: a duplicate, follows its original (terminal)
    DISPATCHED = "dispatched"  # 已派遣: with a unit, waiting for it to accept
    IN_PROGRESS = "in_progress"  # 处置中: accepted by the handling unit
    EXTENSION_REQUESTED = "extension_requested"  # 申请延期: handler asked for more time
    RETURNED = "returned"  # 已退回: the unit says it is not theirs; waiting for re-dispatch
    ESCALATED = "escalated"  # 已上报: sent up a level (吹哨 to district departments)
    HANDLED = "handled"  # 已处置: handler reported back, waiting for verification
    VERIFIED = "verified"  # 已核查: the result was checked on site, waiting to close
    CLOSED = "closed"  # 已结案 (terminal)


STATE_NAMES_ZH = {
    State.REPORTED: "已上报",
    State.FILED: "已立案",
    State.REJECTED: "不予立案",
    State.MERGED: "已合并",
    State.DISPATCHED: "已派遣",
    State.IN_PROGRESS: "处置中",
    State.EXTENSION_REQUESTED: "申请延期",
    State.RETURNED: "已退回",
    State.ESCALATED: "已上报上级",
    State.HANDLED: "已处置",
    State.VERIFIED: "已核查",
    State.CLOSED: "已结案",
}

TERMINAL = frozenset({State.REJECTED, State.MERGED, State.CLOSED})
# States in which someone is working against a stage deadline.
OPEN = frozenset(State) - TERMINAL
# Never accepted as a case 立案 (docs/evaluation.md: filed = every other state).
NOT_FILED = (State.REPORTED, State.REJECTED, State.MERGED)


class Stage(StrEnum):
    """The stage whose time limit runs in a state (categories give one limit per stage)."""

    ACCEPT = "accept"  # from report or dispatch until a unit takes it on
    HANDLE = "handle"  # from acceptance until the handler reports back
    VERIFY = "verify"  # from report-back until the check on site


STAGE_OF_STATE: dict[State, Stage | None] = {
    State.REPORTED: Stage.ACCEPT,
    State.FILED: Stage.ACCEPT,
    State.DISPATCHED: Stage.ACCEPT,
    State.RETURNED: Stage.ACCEPT,
    State.ESCALATED: Stage.ACCEPT,
    State.IN_PROGRESS: Stage.HANDLE,
    State.EXTENSION_REQUESTED: Stage.HANDLE,
    State.HANDLED: Stage.VERIFY,
    State.VERIFIED: Stage.VERIFY,
    State.REJECTED: None,
    State.MERGED: None,
    State.CLOSED: None,
}


class Action(StrEnum):
    FILE = "file"  # 立案
    REJECT = "reject"  # 不予立案
    MERGE = "merge"  # 合并到原事件
    DISPATCH = "dispatch"  # 派遣 (or re-dispatch)
    ACCEPT = "accept"  # 接收
    RETURN = "return"  # 退回
    ESCALATE = "escalate"  # 上报 / 吹哨
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"  # 批准延期 (the deadline moves; counted)
    DENY_EXTENSION = "deny_extension"  # 驳回延期
    HANDLE = "handle"  # 处置反馈
    VERIFY = "verify"  # 核查通过
    REWORK = "rework"  # 核查不通过，返工 (counted)
    CLOSE = "close"  # 结案
    REOPEN = "reopen"  # 重新打开 a wrongly closed or rejected case


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State
    # Who may take it: the handling unit, triage (command centre), or the verifier.
    by: str
    reason_required: bool = False


def _t(action, sources, target, by, reason_required=False) -> Transition:
    return Transition(action, frozenset(sources), target, by, reason_required)


S = State
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        _t(Action.FILE, {S.REPORTED}, S.FILED, "triage"),
        _t(Action.REJECT, {S.REPORTED, S.FILED}, S.REJECTED, "triage", reason_required=True),
        _t(Action.MERGE, {S.REPORTED, S.FILED}, S.MERGED, "triage"),
        _t(
            Action.DISPATCH,
            {S.REPORTED, S.FILED, S.RETURNED, S.ESCALATED, S.DISPATCHED, S.IN_PROGRESS},
            S.DISPATCHED,
            "triage",
        ),
        _t(Action.ACCEPT, {S.DISPATCHED, S.ESCALATED}, S.IN_PROGRESS, "handler"),
        _t(Action.RETURN, {S.DISPATCHED, S.ESCALATED, S.IN_PROGRESS}, S.RETURNED, "handler", True),
        _t(
            Action.ESCALATE,
            {S.FILED, S.DISPATCHED, S.IN_PROGRESS, S.RETURNED},
            S.ESCALATED,
            "escalator",
            reason_required=True,
        ),
        _t(Action.REQUEST_EXTENSION, {S.IN_PROGRESS}, S.EXTENSION_REQUESTED, "handler", True),
        _t(Action.APPROVE_EXTENSION, {S.EXTENSION_REQUESTED}, S.IN_PROGRESS, "triage"),
        _t(Action.DENY_EXTENSION, {S.EXTENSION_REQUESTED}, S.IN_PROGRESS, "triage", True),
        _t(Action.HANDLE, {S.IN_PROGRESS}, S.HANDLED, "handler"),
        _t(Action.VERIFY, {S.HANDLED}, S.VERIFIED, "verifier"),
        _t(Action.REWORK, {S.HANDLED}, S.IN_PROGRESS, "verifier", reason_required=True),
        _t(Action.CLOSE, {S.VERIFIED}, S.CLOSED, "triage"),
        _t(Action.REOPEN, {S.CLOSED, S.REJECTED}, S.FILED, "triage", reason_required=True),
    )
}


# Actions that start the stage clock afresh even when the stage does not change: a new unit
# gets its own full time to accept, rework gets a full handling time, reopening starts over.
RESTARTS_CLOCK = frozenset({Action.DISPATCH, Action.ESCALATE, Action.REWORK, Action.REOPEN})


def transition_for(action: Action, state: State) -> Transition | None:
    """The transition `action` takes from `state`, or None when it is not allowed."""
    transition = TRANSITIONS.get(action)
    return transition if transition and state in transition.sources else None


def allowed_actions(state: State) -> list[Action]:
    """Actions allowed from a state, in table order (for the UI's buttons)."""
    return [t.action for t in TRANSITIONS.values() if state in t.sources]
