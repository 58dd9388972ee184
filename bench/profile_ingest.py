"""Where a report's time goes: POST /api/v1/events through the test client, in one process,
on PostgreSQL + Redis, with SQL statements counted and an optional cProfile.

    .venv/bin/python bench/profile_ingest.py [--n 300] [--profile] [--pg URL] [--redis URL]
    .venv/bin/python bench/profile_ingest.py --versus [--n 300]

Not a benchmark (bench_ingest.py is, under gunicorn against its floor): a microscope for the
per-request cost that bench_ingest.py's ratio is made of. --versus puts the floor
(floor_app.py) and the least work a report needs (skeleton_app.py) through the same test
client in the same process, alternating with the app, and prints CPU per request of each:
bench_ingest.py's three phases without the HTTP server and its threads.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import time
import uuid
from datetime import UTC, datetime

from bench_ingest import FIXTURE, PASSWORD, prepare  # noqa: I001
from common import fresh_postgres, temp_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", help="write the cProfile stats to this file")
    parser.add_argument("--sort", default="cumulative", help="pstats key: cumulative, tottime")
    parser.add_argument(
        "--cpu", action="store_true", help="profile CPU time, not wall time (waits cost nothing)"
    )
    parser.add_argument("--sql", action="store_true", help="print one report's SQL statements")
    parser.add_argument(
        "--versus", action="store_true", help="CPU per request: floor vs skeleton vs the app"
    )
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/wangge_prof_ingest")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    args = parser.parse_args()
    url = fresh_postgres(args.pg)
    if url is None:
        raise SystemExit("needs PostgreSQL + PostGIS")
    os.environ["REDIS_URL"] = args.redis
    os.environ["WANGGE_ENV"] = "production"
    os.environ.setdefault("SECRET_KEY", "cHJvZmlsZS1pbmdlc3Qtbm90LWEtcmVhbC1rZXktMTIzNDU2")
    instance = temp_dir("wangge-prof-")
    url = url.replace("postgresql://", "postgresql+psycopg://")
    data = prepare(url, instance, FIXTURE, 4, 1 if args.versus else 0)
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app({})
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/login", json={"username": data["reporters"][0], "password": PASSWORD}
    ).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    statements = [0]
    shown: list[str] = []

    def counted(conn, cursor, statement, *rest) -> None:
        statements[0] += 1
        if args.sql and len(shown) < 60:
            shown.append(" ".join(statement.split())[:150])

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counted)

    def one() -> None:
        response = client.post("/api/v1/events", json=report_body(rng, data), headers=headers)
        assert response.status_code == 201, response.json

    if args.versus:
        versus(url, instance, data, client, one, args.n)
        return
    for _ in range(30):
        one()
    if args.sql:
        shown.clear()
        statements[0] = 0
        one()
        print("\n".join(shown))
    statements[0] = 0
    profiler = (
        (cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile())
        if args.profile
        else None
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    for _ in range(args.n):
        one()
    if profiler:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU time is this process's own (the app and the test client, not PostgreSQL): steadier
    # than wall time when the machine is busy.
    print(
        f"{args.n} reports: {elapsed / args.n * 1000:.2f} ms each, "
        f"{cpu / args.n * 1000:.2f} ms of CPU, {statements[0] / args.n:.1f} SQL statements each"
    )
    if profiler and args.dump:
        profiler.dump_stats(args.dump)
    if profiler:
        stats = pstats.Stats(profiler).sort_stats(args.sort)
        stats.print_stats(*([] if args.sort == "tottime" else [r"/app/"]), 60)


def report_body(rng: random.Random, data: dict) -> dict:
    """A fresh report: a corpus text, a point in the fixture, half of them with a category."""
    text, category = rng.choice(data["texts"])
    lon, lat = rng.choice(data["points"])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "description": text,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "accuracy_m": 10,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if category and rng.random() < 0.5:
        body["category"] = category
    return body


def versus(url: str, instance, data: dict, client, one, n: int) -> None:
    """CPU per request of the floor, the skeleton and the app, each run in turn three times."""
    from bench_ingest import FLOOR_DDL, skeleton_app_tokens
    from sqlalchemy import create_engine, text

    with create_engine(url).begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_floor_reports"))
        conn.execute(text(FLOOR_DDL))
    # What floor_app and skeleton_app read when imported, as gunicorn's environment gives them.
    os.environ |= {
        "DATABASE_URL": url,
        "WANGGE_INSTANCE": str(instance),
        "GEODATA_DIR": str(FIXTURE),
    }
    import floor_app
    import skeleton_app

    name = data["skeleton_reporters"][0]
    token = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    token = token.json["token"]
    skeleton_app_tokens(url.replace("+psycopg", ""), os.environ["REDIS_URL"], [name], [token])
    floor, skeleton = floor_app.app.test_client(), skeleton_app.app.test_client()
    rng = random.Random(5)

    def post(test_client, headers=None):
        def go() -> None:
            response = test_client.post("/reports", json=report_body(rng, data), headers=headers)
            assert response.status_code == 201, response.json

        return go

    phases = {
        "floor": post(floor),
        "skeleton": post(skeleton, {"Authorization": f"Bearer {token}"}),
        "app": one,
    }
    cpu: dict[str, list[float]] = {name: [] for name in phases}
    for _ in range(3):
        for name, go in phases.items():
            for _ in range(20):
                go()
            started = time.process_time()
            for _ in range(n):
                go()
            cpu[name].append((time.process_time() - started) / n * 1000)
    floor_ms = min(cpu["floor"])
    for name, values in cpu.items():
        best = min(values)
        print(
            f"{name:9s} {best:6.2f} ms of CPU per request (best of 3; runs "
            f"{', '.join(f'{v:.2f}' for v in values)}): {best / floor_ms:.1f}x the floor"
        )


if __name__ == "__main__":
    main()
