""" "一表通" at city scale: one grid-level city form (65,000 filings, ~90 % submitted), rolled up
and exported to Excel through the API, against floors measured in the same run.

    .venv/bin/python bench/bench_forms_rollup.py [--geodata DIR] [--rounds 3]
        [--pg postgresql://postgres@127.0.0.1:5432/wangge_h2_bench] [--no-pg] [--sqlite] [--json]

Setup: the full city (DIR, default instance/geodata as `flask geodata build` makes it; built into
a temporary directory when missing, ~70 s) is loaded into a fresh PostgreSQL + PostGIS database
(and with --sqlite, a fresh SQLite file), with one grid worker account per grid and an
administrator at the city. The administrator defines and publishes, through the API, one
grid-level city form of 8 fields covering every aggregation (sum, avg, min, max, count_yes,
count_each, list, count_filled): 65,000 filings. Then, in bulk SQL, 90 % are submitted by their
grid's worker with varied values (a few answers left empty), 2 % returned, 3 % saved as drafts,
the rest untouched.

Measured, through the Flask test client with the administrator's token (the same request the
console makes: auth, scope, JSON or xlsx), the median of --rounds (exports: --rounds - 1, at
least one):
  rollup      at the city (38 district rows), at the district with the most grids (township
              rows), at its largest township (village rows) and at that township's largest
              village (grid rows);
  export      export.xlsx at the city and at that district (summary, every filing, fields);
  memory      peak Python allocation of one city rollup and one city export (tracemalloc).
Floors, same nodes, same run, alternated with the measured calls so that the machine's load
hits both alike:
  rollup      the bare database read every rollup needs: SELECT area_id, values FROM the
              form's submitted filings under the node, fetched through SQLAlchemy Core (JSON
              decoded); its tracemalloc peak for the memory ratio. A rollup that lets the
              database add up comes in under it (below 1×): it never fetches the rows;
  export      the same Core read of every filing under the node with the columns the detail
              sheet shows, written as plain values to a write-only openpyxl workbook: what any
              exporter of that sheet must do.
Each answer is checked against the floor's rows (submitted count, sum of a field) so a fast
wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from common import DEFAULT_PG, city_geodata, fresh_postgres, make_app, report, temp_dir  # noqa: I001

PASSWORD = "Bench@2026-forms"
ADMIN = "bench_forms_admin"
DEFAULT_PG_FORMS = DEFAULT_PG.rsplit("/", 1)[0] + "/wangge_h2_bench"
CITY = "500000000000"
STATES = ["平稳", "一般", "紧张"]
FIELDS = [
    {"key": "patrols", "label": "巡查次数", "type": "integer", "unit": "次", "aggregate": "sum"},
    {"key": "satisfaction", "label": "群众满意度", "type": "decimal", "unit": "分",
     "aggregate": "avg", "decimals": 1, "min": 0, "max": 100},
    {"key": "hazards", "label": "最少隐患数", "type": "integer", "aggregate": "min"},
    {"key": "funds", "label": "最大单笔经费", "type": "decimal", "unit": "万元",
     "aggregate": "max"},
    {"key": "safe", "label": "是否完成消防检查", "type": "yesno", "aggregate": "count_yes"},
    {"key": "state", "label": "总体态势", "type": "choice", "choices": STATES,
     "aggregate": "count_each"},
    {"key": "note", "label": "情况说明", "type": "text", "aggregate": "list"},
    {"key": "remark", "label": "备注", "type": "text", "aggregate": "count_filled"},
]  # fmt: skip
NOTES = [
    "巡查发现占道经营{n}处，已劝离",
    "排查独居老人{n}户，均已走访",
    "清理楼道堆物{n}处",
    "调解邻里纠纷{n}起，均已化解",
    "发现井盖破损{n}处，已上报市政",
    "宣传防汛知识{n}次",
]


def answer(n: int, area_id: int) -> tuple[str, dict]:
    """(status, values) of the n-th filing: 90 % submitted, 2 % returned, 3 % drafts."""
    k = (n * 7919) % 100
    status = "submitted" if k < 90 else "returned" if k < 92 else "draft" if k < 95 else "pending"
    if status == "pending":
        return status, {}
    values = {
        "patrols": 4 + (n * 31) % 40,
        # About 5 % leave the satisfaction empty.
        "satisfaction": None if n % 20 == 3 else (600 + (n * 137) % 401) / 10,
        "hazards": (n * 13) % 6,
        "funds": round(((n * 7727) % 200000) / 100, 2),
        "safe": n % 9 != 0,
        "state": STATES[0] if n % 10 < 7 else STATES[1] if n % 10 < 9 else STATES[2],
        "note": NOTES[n % len(NOTES)].format(n=1 + n % 5) + f"（网格{str(area_id)[-3:]}）",
        "remark": "需街道协调" if n % 4 == 0 else None,
    }
    return status, values


def populate(form_id: int) -> dict:
    """One grid worker per grid, and the filings submitted, returned or saved by them."""
    from sqlalchemy import bindparam, insert, select, update

    from app.accounts.models import User
    from app.core.db import utcnow
    from app.extensions import db
    from app.forms.models import Filing
    from app.geo.codes import ancestry
    from app.geo.models import Area

    grids = db.session.scalars(select(Area.id).where(Area.level == "grid").order_by(Area.id)).all()
    db.session.execute(
        insert(User),
        [
            {
                "username": f"gw{g}",
                "display_name": f"网格员{n:05d}",
                "role": "grid_worker",
                "area_id": g,
                "password_hash": None,
                **ancestry(str(g)),
            }
            for n, g in enumerate(grids)
        ],
    )
    workers = dict(
        db.session.execute(select(User.area_id, User.id).where(User.role == "grid_worker")).all()
    )
    filings = db.session.execute(
        select(Filing.id, Filing.area_id).where(Filing.form_id == form_id).order_by(Filing.area_id)
    ).all()
    now = utcnow()
    rows, counts = [], {}
    for n, (filing_id, area_id) in enumerate(filings):
        status, values = answer(n, area_id)
        counts[status] = counts.get(status, 0) + 1
        if status == "pending":
            continue
        done = status in ("submitted", "returned")
        rows.append(
            {
                "b_id": filing_id,
                "status": status,
                "values": values,
                "system": {},
                "updated_at": now - timedelta(minutes=n % 5000),
                "updated_by": workers[area_id],
                "submitted_at": now - timedelta(minutes=n % 5000) if done else None,
                "submitted_by": workers[area_id] if done else None,
                "returned_at": now if status == "returned" else None,
                "return_reason": "数字有误，请核实" if status == "returned" else None,
            }
        )
    table = Filing.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("b_id")),
        rows,
    )
    db.session.commit()
    return counts


def floor_rows(form_id: int, node: str, *, every: bool = False) -> list:
    """The bare read: the form's submitted filings under the node (every filing, with the
    detail sheet's columns, for the export floor), through SQLAlchemy Core."""
    from sqlalchemy import select

    from app.extensions import db
    from app.forms.models import Filing
    from app.geo.codes import level_of

    t = Filing.__table__
    if every:
        stmt = select(
            t.c.area_id, t.c.status, t.c.submitted_at, t.c.submitted_by, t.c["values"],
            t.c.system, t.c.return_reason,
        )  # fmt: skip
    else:
        stmt = select(t.c.area_id, t.c["values"]).where(t.c.status == "submitted")
    stmt = stmt.where(t.c.form_id == form_id)
    level = level_of(node)
    if level != "city":
        stmt = stmt.where(t.c[f"{level}_id"] == int(node))
    with db.engine.connect() as conn:
        return conn.execute(stmt.order_by(t.c.area_id)).all()


def floor_export(form_id: int, node: str) -> int:
    """The bare export: every filing's row as plain values in a write-only workbook."""
    from openpyxl import Workbook

    rows = floor_rows(form_id, node, every=True)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("填报明细")
    keys = [f["key"] for f in FIELDS]
    for area_id, status, at, by, values, _system, reason in rows:
        sheet.append([area_id, status, at and at.replace(tzinfo=None), by,
                      *(values.get(k) for k in keys), reason])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return len(out.getvalue())


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        value = fn()
        return tracemalloc.get_traced_memory()[1], value
    finally:
        tracemalloc.stop()


def nodes(form_id: int) -> dict[str, str]:
    """The nodes measured: the city, the district with most grids, its largest township and that
    township's largest village."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.forms.models import Filing

    def largest(column, where=None):
        stmt = select(column, func.count()).where(Filing.form_id == form_id)
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.group_by(column).order_by(func.count().desc(), column)
        return db.session.execute(stmt.limit(1)).one()[0]

    district = largest(Filing.district_id)
    township = largest(Filing.township_id, Filing.district_id == district)
    village = largest(Filing.village_id, Filing.township_id == township)
    return {"city": CITY, "district": str(district), "township": str(township),
            "village": str(village)}  # fmt: skip


def run_backend(key: str, url: str, instance: Path, geodata: Path, rounds: int) -> dict:
    """Load the city, publish and fill the form, then time rollups and exports and their
    floors."""
    import openpyxl

    app = make_app(
        url,
        instance,
        GEODATA_DIR=str(geodata),
        ARGON2_TIME_COST=1,
        ARGON2_MEMORY_KIB=1024,
        ARGON2_PARALLELISM=1,
    )
    out: dict = {}
    with app.app_context():
        from app.accounts import service as accounts
        from app.accounts.roles import Role
        from app.extensions import db
        from app.geo.loader import load

        out["load_s"] = round(timed(lambda: load(geodata, force=True))[0], 1)
        db.session.commit()
        accounts.create_user(username=ADMIN, role=Role.ADMIN, node=CITY, password=PASSWORD)
        db.session.commit()
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json={"username": ADMIN, "password": PASSWORD})
    assert login.status_code == 200, login.json
    headers = {"Authorization": f"Bearer {login.json['token']}"}
    today = date.today()
    body = {
        "title": "网格月度治理情况表",
        "description": "请各网格如实填报。",
        "period_kind": "month",
        "period_start": today.replace(day=1).isoformat(),
        "due_on": (today + timedelta(days=20)).isoformat(),
        "fill_level": "grid",
        "area": CITY,
        "fields": FIELDS,
    }
    created = client.post("/api/v1/forms", json=body, headers=headers)
    assert created.status_code == 201, created.json
    form_id = created.json["id"]
    publish_s, published = timed(
        lambda: client.post(f"/api/v1/forms/{form_id}/publish", headers=headers)
    )
    assert published.status_code == 200, published.json
    out["publish_s"] = round(publish_s, 2)
    out["filings"] = published.json["progress"]["expected"]
    with app.app_context():
        populate_s, out["statuses"] = timed(lambda: populate(form_id))
        out["populate_s"] = round(populate_s, 1)
        where = nodes(form_id)
    out["nodes"] = where
    print(f"  {key}: {out['filings']:,} filings ready", file=sys.stderr, flush=True)

    def rollup(node: str):
        response = client.get(f"/api/v1/forms/{form_id}/rollup?area={node}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response

    def export(node: str):
        response = client.get(f"/api/v1/forms/{form_id}/export.xlsx?area={node}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response

    def floor(node: str, *, every: bool = False):
        with app.app_context():
            return floor_rows(form_id, node, every=every)

    def floor_xlsx(node: str):
        with app.app_context():
            return floor_export(form_id, node)

    out["rollup"], out["export"] = {}, {}
    for level, node in where.items():
        times, floors = [], []
        for _ in range(rounds):
            t, response = timed(lambda n=node: rollup(n))
            f, rows = timed(lambda n=node: floor(n))
            times.append(t)
            floors.append(f)
        total = response.json["total"]
        # A fast wrong answer must not pass: the floor's rows give the same figures.
        assert total["submitted"] == len(rows), (total["submitted"], len(rows))
        assert total["values"]["patrols"] == sum(v["patrols"] for _, v in rows)
        out["rollup"][level] = {
            "s": statistics.median(times),
            "floor_s": statistics.median(floors),
            "rows": len(response.json["rows"]),
            "child_level": response.json["child_level"],
            "submitted": len(rows),
            "json_bytes": len(response.get_data()),
            "list_entries": len(total["values"]["note"]),
        }
        print(f"  {key}: rollup at {level} done", file=sys.stderr, flush=True)
    for level in ("city", "district"):
        node = where[level]
        times, floors = [], []
        for _ in range(max(1, rounds - 1)):
            t, response = timed(lambda n=node: export(n))
            f, _ = timed(lambda n=node: floor_xlsx(n))
            times.append(t)
            floors.append(f)
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        detail = sum(1 for _ in book["填报明细"].iter_rows(values_only=True)) - 1
        out["export"][level] = {
            "s": statistics.median(times),
            "floor_s": statistics.median(floors),
            "xlsx_bytes": len(response.data),
            "detail_rows": detail,
        }
        print(f"  {key}: export at {level} done", file=sys.stderr, flush=True)
    out["memory"] = {
        "rollup_peak": peak(lambda: rollup(CITY))[0],
        "floor_peak": peak(lambda: floor(CITY))[0],
        "export_peak": peak(lambda: export(CITY))[0],
        "export_floor_peak": peak(lambda: floor_xlsx(CITY))[0],
    }
    with app.app_context():
        db.engine.dispose()
    return out


def summarise(results: dict, key: str) -> list[tuple[str, str]]:
    backend = results[key]
    s = backend["statuses"]
    lines = [
        (
            f"{key} setup",
            f"load {backend['load_s']} s; publish {backend['publish_s']} s "
            f"({backend['filings']:,} filings); fill {backend['populate_s']} s "
            f"(submitted {s.get('submitted', 0):,}, returned {s.get('returned', 0):,}, "
            f"draft {s.get('draft', 0):,}, pending {s.get('pending', 0):,})",
        )
    ]
    for level, r in backend["rollup"].items():
        lines.append(
            (
                f"{key} rollup at {level}",
                f"{r['s'] * 1000:.0f} ms ({r['rows']} {r['child_level']} rows, "
                f"{r['submitted']:,} submitted, {r['json_bytes'] / 1024:.0f} KB JSON, "
                f"{r['list_entries']:,} list entries in the total); "
                f"floor {r['floor_s'] * 1000:.0f} ms "
                f"→ {r['s'] / max(r['floor_s'], 1e-6):.1f}× floor",
            )
        )
    for level, r in backend["export"].items():
        lines.append(
            (
                f"{key} export at {level}",
                f"{r['s']:.2f} s ({r['detail_rows']:,} filings, {r['xlsx_bytes'] / 1024:.0f} KB); "
                f"floor {r['floor_s']:.2f} s → {r['s'] / max(r['floor_s'], 1e-6):.1f}× floor",
            )
        )
    m = backend["memory"]
    mb = 1024 * 1024
    lines.append(
        (
            f"{key} peak memory, city",
            f"rollup {m['rollup_peak'] / mb:.1f} MB, floor {m['floor_peak'] / mb:.1f} MB → "
            f"{m['rollup_peak'] / max(m['floor_peak'], 1):.1f}× floor; export "
            f"{m['export_peak'] / mb:.1f} MB, floor {m['export_floor_peak'] / mb:.1f} MB → "
            f"{m['export_peak'] / max(m['export_floor_peak'], 1):.1f}× floor",
        )
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--geodata", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=DEFAULT_PG_FORMS)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="also on the embedded SQLite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    geodata, built = city_geodata(args.geodata, "wangge-bench-forms-geodata-")
    work = temp_dir("wangge-bench-forms-")
    results: dict = {"geodata": str(geodata)}
    lines: list[tuple[str, str]] = []
    try:
        pg = None if args.no_pg else fresh_postgres(args.pg)
        if pg:
            results["postgres"] = run_backend(
                "postgres", pg, work / "instance-pg", geodata, args.rounds
            )
            lines += summarise(results, "postgres")
        elif not args.no_pg:
            lines.append(("postgres", "not measured: PostgreSQL + PostGIS unavailable"))
        if args.sqlite:
            results["sqlite"] = run_backend(
                "sqlite",
                f"sqlite:///{work / 'bench.db'}",
                work / "instance-sqlite",
                geodata,
                args.rounds,
            )
            lines += summarise(results, "sqlite")
    finally:
        from app.core.redis import stop_embedded

        stop_embedded()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        if built:
            shutil.rmtree(geodata, ignore_errors=True)
    report("一表通 rollup and export, grid-level city form (full city)", lines, results, args.json)


if __name__ == "__main__":
    main()
