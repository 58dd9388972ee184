"""What events announce; higher modules (realtime, console, …) subscribe in their init_app.

Receivers run inside the sender's transaction: they may write (outbox rows, alarms) and must
leave anything outside the database to after commit.
"""

from blinker import Namespace

_signals = Namespace()

# sender: the new Event (already filed/dispatched when the rules did so at once).
reported = _signals.signal("event-reported")
# sender: the Event after an action; kwargs: action, from_state, to_state, actor (Principal|None).
transitioned = _signals.signal("event-transitioned")

# Questions events ask of the modules above them, answered synchronously in the transaction.
# sender: the Event entering a stage (or leaving the clock); kwargs: subcategory, at.
stage_started = _signals.signal("event-stage-started")
# sender: the Event whose extension 延期 was approved; kwargs: subcategory, amount.
extension_approved = _signals.signal("event-extension-approved")
# sender: the Event needing a unit; kwargs: subcategory, level, board, department_id, user_id
# (the dispatcher's choices, each may be None). The receiver (dispatch) returns a decision with
# level, board, department_id, area_id, user_id and reason.
unit_wanted = _signals.signal("event-unit-wanted")
