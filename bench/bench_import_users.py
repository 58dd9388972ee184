"""Import 260,000 field accounts (4 per grid, the city's "1+3+N" grid force) from CSV.

Floor, measured in the same run: inserting the same 260,000 rows (same columns, already
validated) straight through the database driver, with no parsing, checks or codes.

    .venv/bin/python bench/bench_import_users.py [--accounts 260000] [--pg URL] [--json]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from common import DEFAULT_PG, ROOT, fresh_postgres, make_app, report, temp_dir, timed  # noqa: I001


def ensure_geodata(path: Path) -> Path:
    if not (path / "manifest.json").exists():
        from geodata.build import build

        path.mkdir(parents=True, exist_ok=True)
        build(path)
    return path


def write_csv(path: Path, grids: list[int], accounts: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["username", "role", "node", "display_name", "phone"])
        for n in range(accounts):
            grid = grids[n % len(grids)]
            writer.writerow([f"gw{n:06d}", "grid_worker", grid, f"网格员{n}", f"139{n:08d}"])


def run(database_url: str, key: str, geodata: Path, csv_path: Path, work: Path, results: dict):
    from sqlalchemy import select, text

    from app.accounts import bulk
    from app.extensions import db
    from app.geo.loader import load
    from app.geo.models import Area

    app = make_app(database_url, work / f"instance-{key}")
    with app.app_context():
        load(geodata)
        db.session.commit()
        grids = list(
            db.session.scalars(select(Area.id).where(Area.level == "grid").order_by(Area.id))
        )
        if not csv_path.exists():
            write_csv(csv_path, grids, results["accounts"])
        with csv_path.open(encoding="utf-8") as fh, timed(results, f"import_{key}_s"):
            outcome = bulk.import_users(csv.DictReader(fh), codes_out=work / f"codes-{key}.csv")
        assert outcome.created == results["accounts"] and not outcome.errors, outcome.errors[:3]

        # Floor: the same rows straight into a copy of the users table.
        db.session.execute(text("CREATE TABLE floor_users AS SELECT * FROM users WHERE 1=0"))
        db.session.commit()
        rows = db.session.execute(
            text(
                "SELECT username, display_name, phone, role, activation_hash, area_id, "
                "district_id, township_id, village_id, grid_id, created_at FROM users"
            )
        ).all()
        conn = db.session.connection()
        started = time.perf_counter()
        conn.execute(
            text(
                "INSERT INTO floor_users (id, username, display_name, phone, role, "
                "activation_hash, is_active, failed_logins, area_id, district_id, township_id, "
                "village_id, grid_id, created_at) "
                "VALUES (:id, :u, :d, :p, :r, :a, true, 0, :area, :di, :t, :v, :g, :c)"
            ),
            [
                dict(
                    id=i,
                    u=r[0],
                    d=r[1],
                    p=r[2],
                    r=r[3],
                    a=r[4],
                    area=r[5],
                    di=r[6],
                    t=r[7],
                    v=r[8],
                    g=r[9],
                    c=r[10],
                )
                for i, r in enumerate(rows, 1)
            ],
        )
        db.session.commit()
        results[f"import_{key}_floor_s"] = round(time.perf_counter() - started, 3)
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=260_000)
    parser.add_argument("--geodata", type=Path, default=ROOT / "instance" / "geodata")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict = {"accounts": args.accounts}
    work = temp_dir("wangge-bench-import-")
    geodata = ensure_geodata(args.geodata)
    csv_path = work / "accounts.csv"
    run(f"sqlite:///{work / 'bench.db'}", "sqlite", geodata, csv_path, work, results)
    pg = fresh_postgres(args.pg)
    if pg:
        run(pg, "postgres", geodata, csv_path, work, results)

    lines = []
    for key, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if f"import_{key}_s" in results:
            total, floor = results[f"import_{key}_s"], results[f"import_{key}_floor_s"]
            lines.append(
                (
                    f"import into {label}",
                    f"{total:.1f} s = {args.accounts / total:,.0f} accounts/s; "
                    f"bare INSERT floor {floor:.1f} s → {total / floor:.1f}× floor",
                )
            )
        else:
            lines.append((f"import into {label}", "not measured: database unavailable"))
    report(
        f"CSV import of {args.accounts:,} accounts (activation codes, grid bindings)",
        lines,
        results,
        args.json,
    )


if __name__ == "__main__":
    main()
