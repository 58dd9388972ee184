"""The closed loop through the API, every allowed and refused transition, and the audit chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from app.events import audit
from app.events.lifecycle import TRANSITIONS, Action, State, transition_for
from app.events.models import Event, EventAudit

DISPUTE = "DISPUTE_NEIGHBOR"  # village level by default: 民生路社区 staff handle it


def _act(auth, user, event_id, action, **body):
    return auth.post(user, f"/api/v1/events/{event_id}/actions", json={"action": action, **body})


def _handler(event: dict) -> str:
    return {"demo_leader": "demo_leader", "demo_village": "demo_village"}[
        next(
            c["username"]
            for c in event["dispatch_reason"]["candidates"]
            if c["user_id"] == event["assigned_unit"]["user_id"]
        )
    ]


def test_the_whole_loop_with_every_step_on_the_timeline(report, auth):
    event = report(text="楼上楼下因为漏水吵起来了", subcategory=DISPUTE).json
    assert event["state"] == "dispatched"
    assert event["assigned_unit"]["level"] == "village"
    handler = _handler(event)
    assert {c["username"] for c in event["dispatch_reason"]["candidates"]} == {
        "demo_leader",
        "demo_village",
    }

    accepted = _act(auth, handler, event["id"], "accept")
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["state"] == "in_progress" and accepted.json["stage"] == "handle"
    handled = _act(auth, handler, event["id"], "handle", result="已调解，双方同意修补防水")
    assert handled.json["state"] == "handled" and handled.json["stage"] == "verify"
    verified = _act(auth, "demo_worker", event["id"], "verify")
    assert verified.json["state"] == "verified"
    closed = _act(auth, "demo_dispatcher", event["id"], "close")
    assert (
        closed.json["state"] == "closed"
        and closed.json["closed_at"]
        and closed.json["deadline"] is None
    )

    steps = auth.get("demo_dispatcher", f"/api/v1/events/{event['id']}/timeline").json["items"]
    assert [(s["action"], s["to_state"]) for s in steps] == [
        ("report", "reported"),
        ("file", "filed"),
        ("dispatch", "dispatched"),
        ("accept", "in_progress"),
        ("handle", "handled"),
        ("verify", "verified"),
        ("close", "closed"),
    ]
    assert [s["actor_name"] for s in steps][3:] == [
        handler,
        handler,
        "demo_worker",
        "demo_dispatcher",
    ]
    assert steps[4]["data"]["result"] == "已调解，双方同意修补防水"


def test_failed_verification_sends_it_back_for_rework_and_counts(report, auth):
    event = report(text="隔壁装修噪音大，吵了好几天", subcategory=DISPUTE).json
    handler = _handler(event)
    _act(auth, handler, event["id"], "accept")
    _act(auth, handler, event["id"], "handle", result="已处理")
    no_reason = _act(auth, "demo_worker", event["id"], "rework")
    assert no_reason.status_code == 422 and no_reason.json["error"]["code"] == "reason_required"
    rework = _act(auth, "demo_worker", event["id"], "rework", reason="现场查看问题仍在")
    assert rework.json["state"] == "in_progress" and rework.json["rework_count"] == 1


def test_return_and_redispatch_to_a_board(report, auth):
    event = report(text="小区物业和业主因停车费闹矛盾", subcategory=DISPUTE).json
    handler = _handler(event)
    returned = _act(auth, handler, event["id"], "return", reason="涉及物业企业，应由镇街处理")
    assert returned.json["state"] == "returned" and returned.json["return_count"] == 1
    again = _act(
        auth, "demo_dispatcher", event["id"], "dispatch", level="board", board="livelihood"
    )
    assert again.status_code == 200, again.json
    assert again.json["assigned_unit"]["name"] == "民生服务"
    assert again.json["dispatch_reason"]["rule"]["kind"] == "override"
    chosen = again.json["dispatch_reason"]["chosen"]
    assert chosen["user_id"] is not None
    board_user = _act(auth, "demo_board_livelihood", event["id"], "accept")
    assert board_user.status_code == 200 and board_user.json["state"] == "in_progress"


def test_extension_moves_the_deadline_and_is_counted(report, auth):
    event = report(text="两户人因为宅基地边界有争议", subcategory=DISPUTE).json
    handler = _handler(event)
    started = _act(auth, handler, event["id"], "accept").json
    asked = _act(auth, handler, event["id"], "request_extension", reason="需等双方都在家", amount=3)
    assert asked.json["state"] == "extension_requested"
    assert asked.json["deadline"] == started["deadline"]  # asking alone changes nothing
    approved = _act(auth, "demo_dispatcher", event["id"], "approve_extension")
    assert approved.json["state"] == "in_progress" and approved.json["extension_count"] == 1
    assert approved.json["deadline"] > started["deadline"]


def test_only_the_right_people_may_act(report, auth):
    event = report(text="两家人为楼道堆放杂物争吵", subcategory=DISPUTE).json
    # Not the handling unit: the board handler, the worker, a department.
    for user in ("demo_board_party", "demo_worker"):
        refused = _act(auth, user, event["id"], "accept")
        assert refused.status_code == 403, user
        assert refused.json["error"]["code"] == "action_forbidden"
    # Another township's data does not even exist for the department of another kind.
    assert _act(auth, "demo_dept_cg", event["id"], "accept").status_code == 404


def test_refused_transitions_are_conflicts(report, auth):
    event = report(text="邻居家狗半夜一直叫", subcategory=DISPUTE).json
    closed = _act(auth, "demo_dispatcher", event["id"], "close")
    assert closed.status_code == 409 and closed.json["error"]["code"] == "transition_not_allowed"
    verify = _act(auth, "demo_worker", event["id"], "verify")
    assert verify.status_code == 409


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_the_transition_table(state, action):
    """Exactly the listed sources allow an action; terminal states allow only reopen."""
    allowed = transition_for(action, state)
    assert (allowed is not None) == (state in TRANSITIONS[action].sources)
    if state in {State.MERGED}:
        assert allowed is None
    if state in {State.CLOSED, State.REJECTED}:
        assert (allowed is not None) == (action == Action.REOPEN)


def test_merge_links_a_duplicate_to_its_original(report, auth):
    original = report(text="供水管破了，水一直往外冒", subcategory="MUNICIPAL_WATER_PIPE").json
    dup = report(
        "demo_village", text="路边水管爆了一直冒水", subcategory="MUNICIPAL_WATER_PIPE"
    ).json
    assert dup["likely_duplicate_of"] == original["id"]
    assert dup["state"] == "reported"  # a likely duplicate waits for a person, not the rules
    merged = _act(auth, "demo_dispatcher", dup["id"], "merge", original_id=original["id"])
    assert merged.json["state"] == "merged" and merged.json["duplicate_of"] == original["id"]
    steps = auth.get("demo_dispatcher", f"/api/v1/events/{original['id']}/timeline").json["items"]
    assert steps[-1]["action"] == "absorb" and steps[-1]["data"] == {"duplicate_id": dup["id"]}


def test_audit_rows_cannot_be_changed_and_tampering_is_detected(report, auth, session):
    event_id = report(text="楼下烧烤油烟熏人", subcategory=DISPUTE).json["id"]
    assert list(audit.verify()) == []
    # The database itself refuses edits (a trigger on both SQLite and PostgreSQL).
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(
            text("UPDATE event_audit SET reason = 'x' WHERE event_id = :e"), {"e": event_id}
        )
    with pytest.raises(Exception, match="append-only"), session.begin_nested():
        session.execute(text("DELETE FROM event_audit WHERE event_id = :e"), {"e": event_id})


def test_audit_verify_detects_a_forged_row(report, session, runner):
    event_id = report(text="两个摊贩因为位置打起来了", subcategory=DISPUTE).json["id"]
    row = session.scalars(
        select(EventAudit).where(EventAudit.event_id == event_id).order_by(EventAudit.seq.desc())
    ).first()
    # Someone with the database's owner rights drops the guard and rewrites history.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE event_audit DISABLE TRIGGER event_audit_no_update"))
    else:
        session.execute(text("DROP TRIGGER event_audit_no_update"))
    session.execute(
        text("UPDATE event_audit SET actor_name = 'someone_else' WHERE id = :i"), {"i": row.id}
    )
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"event {event_id} seq {row.seq}: row content does not match its hash" in result.output
    assert session.get(Event, event_id) is not None
