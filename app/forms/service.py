""" "一表通" smart reports: define a form once, publish it to every area at its filling level,
fill with what the system knows prefilled, submit or return, and roll up the hierarchy.

Definitions (who fills, how values aggregate, what each prefill source counts): docs/forms.md.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import and_, func, insert, select, true

from app.accounts.models import User
from app.accounts.roles import Role
from app.core.auth import Principal
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.pagination import Page, paginate
from app.core.scope import unscoped, values_in_scope
from app.extensions import db
from app.forms import fields as field_rules
from app.forms import sources, tally
from app.forms.models import Filing, FilingLog, FilingStatus, Form, FormStatus
from app.geo import service as geo
from app.geo.codes import CITY_CODE, ancestry, level_of
from app.geo.models import Area
from app.realtime import rooms
from app.realtime.service import publish

LEVELS = ("city", "district", "township", "village", "grid")
OWNER_LEVELS = ("city", "district", "township")
# Who defines and publishes forms: the township command centre for its villages and grids,
# administrators for their district or the city.
AUTHORS = frozenset({Role.TOWNSHIP_DISPATCHER, Role.ADMIN})
# Who fills a filing: the people of the node itself, by the node's level.
FILLERS: dict[str, frozenset[str]] = {
    "grid": frozenset({Role.GRID_WORKER, Role.GRID_LEADER}),
    "village": frozenset({Role.VILLAGE_STAFF, Role.GRID_LEADER}),
    "township": frozenset({Role.TOWNSHIP_DISPATCHER, Role.TOWNSHIP_BOARD_HANDLER}),
}
FILLER_ROLES = frozenset().union(*FILLERS.values())
# Who may return 退回 a submitted filing: anyone of these roles at a node above it.
REVIEWERS = frozenset(
    {Role.GRID_LEADER, Role.VILLAGE_STAFF, Role.TOWNSHIP_DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
)
MAX_PERIOD_DAYS = 366
PROGRESS = ("expected", "submitted", "outstanding", "returned", "late", "overdue")
OPEN_FILING = (FilingStatus.PENDING, FilingStatus.DRAFT, FilingStatus.RETURNED)


def _depth(level: str) -> int:
    return LEVELS.index(level)


def _inside(model, code: str):
    """Rows of a model under a node (the city holds everything)."""
    level = level_of(code)
    return true() if level == "city" else getattr(model, f"{level}_id") == int(code)


def _names(ids) -> dict[int, tuple[str, str]]:
    """(name, level) of areas by id, in one query."""
    ids = sorted({int(i) for i in ids if i})
    if not ids:
        return {}
    with unscoped():
        rows = db.session.execute(
            select(Area.id, Area.name, Area.level).where(Area.id.in_(ids))
        ).all()
    return {row.id: (row.name, row.level) for row in rows}


def _user_names(ids) -> dict[int, str]:
    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    with unscoped():
        rows = db.session.execute(
            select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)).where(
                User.id.in_(ids)
            )
        ).all()
    return dict(rows)


def _node(area_id: int, names: dict) -> dict:
    name, level = names.get(area_id, ("", level_of(str(area_id))))
    return {"code": str(area_id), "name": name, "level": level}


# -- periods ---------------------------------------------------------------------------------


def resolve_period(kind: str, start: date, end: date | None) -> tuple[date, date]:
    """The calendar month, quarter or year containing `start`, or an ad hoc range."""
    if kind == "month":
        first = start.replace(day=1)
        return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if kind == "quarter":
        month = 3 * ((start.month - 1) // 3) + 1
        first = date(start.year, month, 1)
        last_month = month + 2
        return first, date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])
    if kind == "year":
        return date(start.year, 1, 1), date(start.year, 12, 31)
    if end is None:
        raise ValidationFailed("自定义周期须填写结束日期", code="period_end_required")
    if end < start:
        raise ValidationFailed("结束日期不能早于开始日期", code="bad_period")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(f"报表周期最长 {MAX_PERIOD_DAYS} 天", code="period_too_long")
    return start, end


# -- definitions -----------------------------------------------------------------------------


def source_catalogue() -> list[sources.Source]:
    """The prefill sources a field may name."""
    return sources.catalogue()


def _owner_node(principal: Principal, area: str | None) -> Area:
    """The node a form is published for: the caller's own, or one below it they name."""
    scope = principal.scope
    if area is None:
        code = CITY_CODE if scope.everything else str(scope.area_id or "")
        if not code or level_of(code) not in OWNER_LEVELS:
            raise ValidationFailed("请指定发布报表的区域", code="form_area_required")
        area = code
    node = geo.get_area(code=area)  # a node the caller cannot see is not found
    if node.level not in OWNER_LEVELS:
        raise ValidationFailed("报表只能由市、区县或镇街发布", code="form_owner_level", area=area)
    if not (scope.everything or values_in_scope(scope, ancestry(node.code).get)):
        raise Forbidden("只能在本级及下级区域发布报表", code="out_of_scope")
    return node


def _definition(principal: Principal, data: dict) -> dict:
    """Checked column values for a form from the API's definition."""
    owner = _owner_node(principal, data.get("area"))
    fill_level = data["fill_level"]
    if _depth(fill_level) <= _depth(owner.level):
        raise ValidationFailed(
            f"{owner.name}发布的报表须由下级填报（填报层级应低于发布单位）",
            code="fill_level_invalid",
        )
    first, last = resolve_period(data["period_kind"], data["period_start"], data.get("period_end"))
    due_on = data["due_on"]
    if due_on < first:
        raise ValidationFailed("截止日期不能早于报表周期的开始日期", code="due_before_period")
    fields = field_rules.normalise_fields(data["field_defs"], sources=sources.keys())
    return {
        "title": data["title"].strip(),
        "description": (data.get("description") or "").strip(),
        "period_kind": data["period_kind"],
        "period_start": first,
        "period_end": last,
        "due_on": due_on,
        "due_at": sources.bounds(due_on, due_on)[1],
        "fill_level": fill_level,
        "fields": fields,
        "owner_area_id": owner.id,
        **ancestry(owner.code),
    }


def _get_form(form_id: int) -> Form:
    form = db.session.scalar(select(Form).where(Form.id == form_id))
    if form is None:
        raise NotFound("报表不存在", code="form_not_found")
    return form


def _manage(principal: Principal, form: Form) -> None:
    """Forms are managed at their owner's level or above, never from below."""
    scope = principal.scope
    if principal.role not in AUTHORS:
        raise Forbidden("您的角色不能管理报表", code="action_forbidden")
    if not (scope.everything or values_in_scope(scope, ancestry(str(form.owner_area_id)).get)):
        raise Forbidden("只能管理本级及下级发布的报表", code="action_forbidden")


def create_form(*, principal: Principal, **data) -> Form:
    """A new form, as a draft only its owner's level sees."""
    if not data["title"].strip():
        raise ValidationFailed("请填写报表名称", code="form_title_required")
    form = Form(**_definition(principal, data), created_by=principal.user_id)
    db.session.add(form)
    db.session.flush()
    return decorate([form], principal)[0]


def update_form(*, principal: Principal, form_id: int, **data) -> Form:
    """Replace a draft's whole definition (idempotent: the same body twice is one change)."""
    form = _get_form(form_id)
    _manage(principal, form)
    if form.status != FormStatus.DRAFT:
        raise Conflict("报表已发布，定义不能再修改", code="form_not_draft")
    if not data["title"].strip():
        raise ValidationFailed("请填写报表名称", code="form_title_required")
    for key, value in _definition(principal, data).items():
        setattr(form, key, value)
    db.session.flush()
    return decorate([form], principal)[0]


def delete_form(*, principal: Principal, form_id: int) -> None:
    """Throw away a draft; a published form is closed instead, never deleted."""
    form = _get_form(form_id)
    _manage(principal, form)
    if form.status != FormStatus.DRAFT:
        raise Conflict("已发布的报表不能删除，可结束填报", code="form_not_draft")
    db.session.delete(form)
    db.session.flush()


def publish_form(*, principal: Principal, form_id: int) -> Form:
    """Publish a draft: one filing per area at the filling level under the owner, and word to
    each of those areas."""
    form = _get_form(form_id)
    _manage(principal, form)
    if form.status != FormStatus.DRAFT:
        raise Conflict("报表已发布", code="form_not_draft")
    if form.due_at <= utcnow():
        raise ValidationFailed("截止日期已过，请修改后再发布", code="form_due_passed")
    owner = str(form.owner_area_id)
    with unscoped():
        areas = db.session.scalars(
            select(Area.id)
            .where(Area.level == form.fill_level, _inside(Area, owner))
            .order_by(Area.id)
        ).all()
    if not areas:
        raise ValidationFailed("该区域下没有需要填报的单位", code="form_no_fillers")
    # One INSERT for every filing: a district's grid-level form is thousands of rows.
    db.session.execute(
        insert(Filing),
        [
            {"form_id": form.id, "area_id": a, "status": FilingStatus.PENDING, "values": {}}
            | {"system": {}, **ancestry(str(a))}
            for a in areas
        ],
    )
    form.status, form.published_at = FormStatus.PUBLISHED, utcnow()
    db.session.flush()
    publish(
        "form_published",
        {"form_id": form.id, "title": form.title, "due_on": form.due_on.isoformat()},
        [rooms.area(form.owner_area_id), *(rooms.area(a) for a in areas)],
    )
    return decorate([form], principal)[0]


def close_form(*, principal: Principal, form_id: int) -> Form:
    """Stop taking filings 结束填报; what was submitted stays and still rolls up."""
    form = _get_form(form_id)
    _manage(principal, form)
    if form.status != FormStatus.PUBLISHED:
        raise Conflict("只有填报中的报表可以结束", code="form_not_published")
    form.status, form.closed_at = FormStatus.CLOSED, utcnow()
    db.session.flush()
    publish("form_closed", {"form_id": form.id}, [rooms.area(form.owner_area_id)])
    return decorate([form], principal)[0]


def get_form(*, principal: Principal, form_id: int) -> Form:
    return decorate([_get_form(form_id)], principal)[0]


def list_forms(*, principal: Principal, status: str | None, page: int, page_size: int) -> Page:
    """Forms the caller sees (their level's and those published above them), newest first."""
    stmt = select(Form)
    if status:
        stmt = stmt.where(Form.status == status)
    result = paginate(
        stmt.order_by(Form.created_at.desc(), Form.id.desc()), page=page, page_size=page_size
    )
    decorate(result.items, principal)
    return result


def _progress(form_ids: list[int]) -> dict[int, dict]:
    """Per form, the filings in the caller's scope by state, with late and overdue counts."""
    out = {i: dict.fromkeys(PROGRESS, 0) for i in form_ids}
    if not form_ids:
        return out
    now = utcnow()
    rows = db.session.execute(
        select(
            Filing.form_id,
            Filing.status,
            func.count(),
            func.count().filter(Filing.submitted_at > Form.due_at),
            func.count().filter(Form.due_at < now),
        )
        .join(Form, Form.id == Filing.form_id)
        .where(Filing.form_id.in_(form_ids))
        .group_by(Filing.form_id, Filing.status)
    ).all()
    for form_id, status, n, late, past_due in rows:
        p = out[form_id]
        p["expected"] += n
        if status == FilingStatus.SUBMITTED:
            p["submitted"] += n
            p["late"] += late
        else:
            p["outstanding"] += n
            p["overdue"] += past_due
            if status == FilingStatus.RETURNED:
                p["returned"] += n
    return out


def decorate(forms: list[Form], principal: Principal) -> list[Form]:
    """Give forms their owner's name, progress in the caller's scope and what the caller may do."""
    names = _names(f.owner_area_id for f in forms)
    progress = _progress([f.id for f in forms if f.status != FormStatus.DRAFT])
    scope = principal.scope
    for form in forms:
        form.owner = _node(form.owner_area_id, names)
        form.progress = progress.get(form.id) or _progress([])
        owns = scope.everything or values_in_scope(scope, ancestry(str(form.owner_area_id)).get)
        form.can_manage = principal.role in AUTHORS and owns
    return forms


# -- filings ---------------------------------------------------------------------------------


def _own_nodes(principal: Principal) -> set[int]:
    scope = principal.scope
    return set(scope.grid_ids) | ({scope.area_id} if scope.area_id else set())


def may_fill(principal: Principal, filing: Filing) -> bool:
    """The filing's own node's people, by role."""
    level = level_of(str(filing.area_id))
    return principal.role in FILLERS.get(level, ()) and filing.area_id in _own_nodes(principal)


def may_return(principal: Principal, filing: Filing) -> bool:
    """A reviewer at a node above the filing (the filing was already found in their scope)."""
    if principal.role not in REVIEWERS:
        return False
    scope = principal.scope
    if scope.everything:
        return True
    return bool(scope.level) and _depth(scope.level) < _depth(level_of(str(filing.area_id)))


def _get_filing(filing_id: int, *, lock: bool = False) -> tuple[Filing, Form]:
    stmt = select(Filing).where(Filing.id == filing_id)
    filing = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if filing is None:
        raise NotFound("填报记录不存在", code="filing_not_found")
    form = _get_form(filing.form_id)
    return filing, form


def list_filings(
    *,
    principal: Principal,
    form_id: int | None,
    area: str | None,
    status: str | None,
    mine: bool,
    open_only: bool,
    page: int,
    page_size: int,
) -> Page:
    """Filings in the caller's scope, or only those the caller must fill (`mine`)."""
    stmt = (
        select(Filing).join(Form, Form.id == Filing.form_id).where(Form.status != FormStatus.DRAFT)
    )
    if form_id is not None:
        _get_form(form_id)
        stmt = stmt.where(Filing.form_id == form_id)
    if area:
        stmt = stmt.where(_inside(Filing, geo.get_area(code=area).code))
    if status:
        stmt = stmt.where(Filing.status == status)
    if open_only:
        stmt = stmt.where(Filing.status.in_(OPEN_FILING), Form.status == FormStatus.PUBLISHED)
    if mine:
        nodes = sorted(_own_nodes(principal))
        levels = [lvl for lvl, roles in FILLERS.items() if principal.role in roles]
        stmt = stmt.where(Filing.area_id.in_(nodes), Form.fill_level.in_(levels))
    stmt = stmt.order_by(Form.due_at, Filing.form_id, Filing.area_id)
    result = paginate(stmt, page=page, page_size=page_size)
    _describe(result.items, principal)
    return result


def _describe(filings: list[Filing], principal: Principal, forms: dict | None = None) -> None:
    """Names, lateness and what the caller may do, for one page of filings."""
    if forms is None:
        ids = sorted({f.form_id for f in filings})
        forms = (
            {f.id: f for f in db.session.scalars(select(Form).where(Form.id.in_(ids)))}
            if ids
            else {}
        )
    names = _names(f.area_id for f in filings)
    people = _user_names(f.submitted_by for f in filings)
    now = utcnow()
    for filing in filings:
        form = forms[filing.form_id]
        filing.form_title = form.title
        filing.fill_level = form.fill_level
        filing.due_on = form.due_on
        filing.area = _node(filing.area_id, names)
        filing.submitted_by_name = people.get(filing.submitted_by, "")
        submitted = filing.status == FilingStatus.SUBMITTED
        filing.late = submitted and filing.submitted_at > form.due_at
        filing.overdue = not submitted and now > form.due_at
        filing.corrected = sorted(
            k for k, v in (filing.system or {}).items() if (filing.values or {}).get(k) != v
        ) if filing.status != FilingStatus.PENDING else []  # fmt: skip
        open_form = form.status == FormStatus.PUBLISHED
        filing.can_fill = open_form and not submitted and may_fill(principal, filing)
        filing.can_return = open_form and submitted and may_return(principal, filing)


def _system_values(form: Form, area_id: int) -> dict[str, int]:
    wanted = {f["source"] for f in form.fields if f.get("source")}
    figures = sources.values(
        wanted, area_code=str(area_id), first=form.period_start, last=form.period_end
    )
    return {f["key"]: figures.get(f["source"], 0) for f in form.fields if f.get("source")}


def get_filing(*, principal: Principal, filing_id: int) -> Filing:
    """One filing with its form, the system's figures and its history.

    Until it is submitted the figures are worked out afresh (the period may still be running);
    a submitted filing keeps those it was submitted with.
    """
    filing, form = _get_filing(filing_id)
    return _detail(filing, form, principal)


def _detail(
    filing: Filing, form: Form, principal: Principal, system_now: dict | None = None
) -> Filing:
    """get_filing's answer for a filing in hand; `system_now` when the figures were just
    worked out (a save), so they are not counted twice."""
    _describe([filing], principal, {form.id: form})
    filing.form = decorate([form], principal)[0]
    if filing.status == FilingStatus.SUBMITTED or form.status != FormStatus.PUBLISHED:
        filing.system_now = dict(filing.system or {})
    else:
        filing.system_now = system_now or _system_values(form, filing.area_id)
    filing.log = list(
        db.session.scalars(
            select(FilingLog)
            .where(FilingLog.filing_id == filing.id)
            .order_by(FilingLog.at, FilingLog.id)
        )
    )
    return filing


def _log(filing: Filing, principal: Principal, action: str, reason: str | None = None) -> None:
    db.session.add(
        FilingLog(
            filing_id=filing.id,
            actor_id=principal.user_id,
            actor_name=_user_names([principal.user_id]).get(principal.user_id, principal.username),
            action=action,
            reason=reason,
            **ancestry(str(filing.area_id)),
        )
    )


def save_filing(*, principal: Principal, filing_id: int, values: dict, submit: bool) -> Filing:
    """Save the whole filing (a draft, or submitted 上报). Idempotent, as the phone's offline
    queue resends: submitting the same values again changes nothing.

    A prefilled field missing from `values` takes the system's figure; an explicit null clears it.
    """
    filing, form = _get_filing(filing_id, lock=True)
    if not may_fill(principal, filing):
        raise Forbidden("只有本单位人员可以填报", code="action_forbidden")
    if form.status != FormStatus.PUBLISHED:
        raise Conflict("报表已结束填报", code="form_closed")
    system = _system_values(form, filing.area_id)
    given = {**{k: v for k, v in system.items() if k not in values}, **values}
    cleaned = field_rules.clean_values(form.fields, given, complete=submit)
    if filing.status == FilingStatus.SUBMITTED:
        if submit and cleaned == filing.values:
            return _detail(filing, form, principal)
        raise Conflict("已上报，如需修改请由上级退回", code="filing_submitted")
    now = utcnow()
    before = filing.status
    filing.values, filing.system = cleaned, system
    filing.updated_at, filing.updated_by = now, principal.user_id
    if submit:
        filing.status = FilingStatus.SUBMITTED
        filing.submitted_at, filing.submitted_by = now, principal.user_id
        _log(filing, principal, "resubmit" if before == FilingStatus.RETURNED else "submit")
    elif before == FilingStatus.PENDING:
        filing.status = FilingStatus.DRAFT
        _log(filing, principal, "save")
    db.session.flush()
    if submit:
        _tell_above(filing, form, "form_submitted")
    return _detail(filing, form, principal, system_now=system)


def _tell_above(filing: Filing, form: Form, kind: str) -> None:
    """The level above the filing (its parent node) and the form's owner hear of it."""
    columns = ancestry(str(filing.area_id))
    parent_level = LEVELS[_depth(level_of(str(filing.area_id))) - 1]
    parent = columns.get(f"{parent_level}_id") if parent_level != "city" else int(CITY_CODE)
    targets = [rooms.area(parent)] if parent else []
    payload = {
        "form_id": form.id,
        "filing_id": filing.id,
        "area": str(filing.area_id),
        "status": filing.status,
    }
    publish(kind, payload, [*targets, rooms.area(form.owner_area_id)])


def return_filing(*, principal: Principal, filing_id: int, reason: str) -> Filing:
    """Send a submitted filing back for correction 退回, with the reason; its fillers hear."""
    filing, form = _get_filing(filing_id, lock=True)
    if not may_return(principal, filing):
        raise Forbidden("只有上级可以退回填报", code="action_forbidden")
    if not reason.strip():
        raise ValidationFailed("请填写退回原因", code="return_reason_required")
    if form.status != FormStatus.PUBLISHED:
        raise Conflict("报表已结束填报", code="form_closed")
    if filing.status != FilingStatus.SUBMITTED:
        raise Conflict("只有已上报的填报可以退回", code="filing_not_submitted")
    filing.status = FilingStatus.RETURNED
    filing.returned_at, filing.returned_by = utcnow(), principal.user_id
    filing.return_reason = reason.strip()
    _log(filing, principal, "return", filing.return_reason)
    db.session.flush()
    publish(
        "form_returned",
        {
            "form_id": form.id,
            "filing_id": filing.id,
            "title": form.title,
            "reason": filing.return_reason,
        },
        [rooms.area(filing.area_id)],
    )
    _tell_above(filing, form, "form_filing_returned")
    return get_filing(principal=principal, filing_id=filing.id)


# -- rollup ----------------------------------------------------------------------------------


def _default_area(principal: Principal, form: Form) -> str:
    """The caller's own node when it lies under the owner at or above the filling level."""
    own = principal.scope.area_id
    owner = str(form.owner_area_id)
    if own:
        owner_level = level_of(owner)
        under = (
            owner_level == "city" or ancestry(str(own))[f"{owner_level}_id"] == form.owner_area_id
        )
        if under and _depth(level_of(str(own))) <= _depth(form.fill_level):
            return str(own)
    return owner


def rollup(*, principal: Principal, form_id: int, area: str | None) -> dict:
    """The submitted filings under a node, aggregated per child area, with a total row and how
    many filings are in and outstanding (docs/forms.md, Rollup).

    The database groups and sums (app.forms.tally); Python only merges the child rows into the
    total and finishes each value, so the cost follows the number of child areas, not filings.
    """
    form = _get_form(form_id)
    decorate([form], principal)
    node = geo.get_area(code=area or _default_area(principal, form))
    if _depth(node.level) > _depth(form.fill_level):
        raise ValidationFailed(
            "该区域低于报表的填报层级，无法汇总", code="area_below_fill_level", area=node.code
        )
    child_level = None if node.level == form.fill_level else LEVELS[_depth(node.level) + 1]
    # A filing's own area when the rows are at the filling level (or the node is), else its
    # ancestor at the child level: the ancestry columns hold it, so no join up the tree.
    if child_level in (None, form.fill_level):
        bucket = Filing.area_id
    else:
        bucket = getattr(Filing, f"{child_level}_id")
    where = and_(Filing.form_id == form.id, _inside(Filing, node.code))
    buckets = tally.tally(form=form, where=where, bucket=bucket)
    listed = {a for b in buckets.values() for p in b.parts.values() for a, _ in p.get("items", ())}
    names = _names([*buckets, *listed, node.id])
    for b in buckets.values():
        for p in b.parts.values():
            if "items" in p:
                p["items"] = [(names.get(a, ("", ""))[0], text) for a, text in p["items"]]
    now = utcnow()
    past_due = now > form.due_at

    def row(area_id: int, members: list[tally.Bucket]) -> dict:
        expected = sum(b.expected for b in members)
        submitted = sum(b.submitted for b in members)
        return {
            "area": _node(area_id, names),
            "expected": expected,
            "submitted": submitted,
            "outstanding": expected - submitted,
            "returned": sum(b.returned for b in members),
            "late": sum(b.late for b in members),
            "overdue": expected - submitted if past_due else 0,
            "values": {
                f["key"]: field_rules.finish(
                    f, field_rules.merge(f, (b.parts[f["key"]] for b in members))
                )
                for f in form.fields
            },
        }

    ordered = sorted(buckets)
    return {
        "form": form,
        "area": _node(node.id, names),
        "child_level": child_level or node.level,
        "rows": [row(area_id, [buckets[area_id]]) for area_id in ordered],
        # Child areas are contiguous ranges of codes, so their rows in code order are the
        # filings in area order: a list's first answers overall are among the rows' first.
        "total": row(node.id, [buckets[a] for a in ordered]),
        "generated_at": now,
    }


class FilingLine(NamedTuple):
    """One filing as the export's detail sheet shows it."""

    code: str
    name: str
    status: str
    submitted_at: datetime | None
    submitted_by_name: str
    late: bool
    values: dict
    system: dict
    return_reason: str | None


def filing_lines(*, result: dict) -> Iterator[FilingLine]:
    """Every filing behind a rollup (rollup's answer), in area order, read in batches: the
    export's second sheet. At the city this is every grid of the city."""
    form, node = result["form"], result["area"]["code"]
    where = and_(Filing.form_id == form.id, _inside(Filing, node))
    with unscoped():
        # Who submitted, looked up past the caller's scope as the filing's own page does; only
        # the names of these filings' submitters are read.
        people = dict(
            db.session.execute(
                select(
                    User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)
                ).where(User.id.in_(select(Filing.submitted_by).where(where)))
            ).all()
        )
    stmt = (
        select(
            Filing.area_id,
            Area.name,
            Filing.status,
            Filing.submitted_at,
            Filing.submitted_by,
            Filing.values,
            Filing.system,
            Filing.return_reason,
        )
        .join(Area, Area.id == Filing.area_id)
        .where(where)
        .order_by(Filing.area_id)
        .execution_options(yield_per=2000)
    )
    past_due = utcnow() > form.due_at
    for area_id, name, status, at, by, values, system, reason in db.session.execute(stmt):
        submitted = status == FilingStatus.SUBMITTED
        yield FilingLine(
            code=str(area_id),
            name=name,
            status=status,
            submitted_at=at,
            submitted_by_name=people.get(by, ""),
            late=(at > form.due_at) if submitted else past_due,
            values=values or {},
            system=system or {},
            return_reason=reason,
        )
