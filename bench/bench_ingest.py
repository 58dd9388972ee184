"""Report ingest end to end under gunicorn on PostgreSQL, against a bare one-INSERT floor.

    .venv/bin/python bench/bench_ingest.py [--seconds 15] [--warmup 4] [--rounds 3]
        [--concurrency 16] [--threads 16] [--workers 1] [--reporters 16] [--category-share 0.5]
        [--pg postgresql://postgres@127.0.0.1:5432/wangge_bench_ingest]
        [--redis redis://127.0.0.1:6379/14] [--geodata DIR] [--json]

The app runs as in production (README "Running in production"): `gunicorn -k gthread -w W
--threads T wsgi:app` with WANGGE_ENV=production, WEB_THREADS=T (the pool size), PostgreSQL +
PostGIS and a real Redis. Each request is POST /api/v1/events by one of --reporters grid workers
logged in through the API: a fresh client_uuid, a report text from the classifier's corpus, a
point uniform over the fixture district's grids, and the category for --category-share of them
(the rest are classified by the model). The whole path runs: token auth, schema validation,
locate, classify, dispatch rules, the event INSERT, its audit rows, SLA clock (with the timed
sweep jobs scheduled in Redis after commit) and the outbox row pushed through Redis.

The floor, measured in the same run with the same gunicorn settings and the same client, is
bench/floor_app.py: the same JSON body parsed and one INSERT + COMMIT through SQLAlchemy with
the app's engine settings, 201 JSON. Rounds alternate floor and ingest (order swapped every
round) so drift from other load on the machine hits both; the ratio is reported per round.

The load generator is asyncio with one keep-alive HTTP/1.1 connection per --concurrency, in this
process (its CPU share is reported: it shares the machine's cores with the servers). Afterwards
the database must hold exactly one event (with outbox and audit rows) per 201 answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT, fresh_postgres, make_app, report, temp_dir  # noqa: I001

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/wangge_bench_ingest"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
FIXTURE_DISTRICT = "500103000000"  # 渝中区, the test suite's fixture district
FIXTURE = ROOT / "instance" / "test-geodata" / FIXTURE_DISTRICT
TARGET_RATIO = 0.5
PASSWORD = "Bench@2026-ingest"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SKELETON_TOKEN_KEY = "bench:skeleton:token:"  # + sha256 of the bearer token -> user id
FLOOR_DDL = """
CREATE TABLE bench_floor_reports (
    id bigserial PRIMARY KEY,
    client_uuid uuid NOT NULL UNIQUE,
    description text NOT NULL,
    lon double precision NOT NULL,
    lat double precision NOT NULL,
    category varchar(24),
    received_at timestamptz NOT NULL DEFAULT now()
)
"""


# -- setup ----------------------------------------------------------------------------------


def prepare(
    url: str, instance: Path, geodata: Path, reporters: int, skeleton_reporters: int = 0
) -> dict:
    """Migrate, load geography, categories, demo accounts and the reporters; train the model.

    The skeleton's reporters are grid workers of their own, so its events are told apart."""
    import numpy as np
    import shapely
    from sqlalchemy import select, text

    app = make_app(url, instance)
    with app.app_context():
        if geodata == FIXTURE:  # the tests build it too; a first run here must not need them
            from app.geo.cli import ensure_built

            ensure_built(FIXTURE, (FIXTURE_DISTRICT,))
        from app.accounts import demo
        from app.accounts import service as accounts
        from app.accounts.roles import Role
        from app.categories.models import Subcategory
        from app.categories.service import seed_from_file
        from app.classify import service as classify
        from app.extensions import db
        from app.geo.loader import load
        from app.geo.models import Area, AreaLevel

        load(geodata)
        seed_from_file()
        demo.seed()
        grids = list(
            db.session.scalars(
                select(Area.code).where(Area.level == AreaLevel.GRID).order_by(Area.code)
            )
        )
        step = max(1, len(grids) // reporters)
        names: dict[str, list[str]] = {"ingest": [], "skeleton": []}
        for group, count in (("ingest", reporters), ("skeleton", skeleton_reporters)):
            for i in range(count):
                name = f"bench_{'worker' if group == 'ingest' else 'skeleton'}_{i:03d}"
                accounts.create_user(
                    username=name,
                    role=Role.GRID_WORKER,
                    node=str(grids[(i * step) % len(grids)]),
                    password=PASSWORD,
                    display_name=f"压测网格员{i}",
                )
                names[group].append(name)
        db.session.execute(text(FLOOR_DDL))
        db.session.commit()
        category_of = {
            code: top
            for code, top in db.session.execute(select(Subcategory.code, Subcategory.category_code))
        }
        classify.predict("楼道里堆满了杂物")  # trains and saves the model the server will load

    features = json.loads((geodata / "grids.geojson").read_text(encoding="utf-8"))["features"]
    polygons = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    union = shapely.union_all(polygons)
    shapely.prepare(union)
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = union.bounds
    points: list[tuple[float, float]] = []
    while len(points) < 20_000:
        x = rng.uniform(minx, maxx, 20_000)
        y = rng.uniform(miny, maxy, 20_000)
        keep = shapely.contains_xy(union, x, y)
        points += list(zip(x[keep].round(6).tolist(), y[keep].round(6).tolist(), strict=True))

    texts = []
    with (ROOT / "app" / "classify" / "data" / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append((row["text"], category_of.get(row["subcategory"])))
    return {
        "reporters": names["ingest"],
        "skeleton_reporters": names["skeleton"],
        "points": points,
        "texts": texts,
    }


# -- servers --------------------------------------------------------------------------------


def start_server(target: str, port: int, env: dict, args, chdir: Path, log: Path):
    """gunicorn gthread as in production, in its own process group."""
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        str(args.workers),
        "--threads",
        str(args.threads),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(chdir),
        "--no-control-socket",  # the default path is shared by every gunicorn on the machine
        target,
    ]
    return subprocess.Popen(
        cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(proc, port: int, path: str, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server on :{port} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server on :{port} not ready after {timeout:.0f} s")


def stop_server(proc) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def login(port: int, username: str) -> str:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["token"]


def skeleton_app_tokens(url: str, redis_url: str, names: list[str], tokens: list[str]) -> None:
    """The skeleton's sign-in is one Redis GET: token hash -> user id, written here."""
    import hashlib

    import psycopg
    import redis

    with psycopg.connect(url) as conn:
        ids = dict(conn.execute("SELECT username, id FROM users").fetchall())
    store = redis.Redis.from_url(redis_url)
    for name, token in zip(names, tokens, strict=True):
        store.set(SKELETON_TOKEN_KEY + hashlib.sha256(token.encode()).hexdigest(), ids[name])


def _cpu_ticks(pid: int) -> int:
    """utime + stime of a process, all threads, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _workers(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# -- the load generator ---------------------------------------------------------------------


class Bodies:
    """Request bytes: a fresh client_uuid each, a corpus text, a point, sometimes a category."""

    def __init__(self, data: dict, tokens: list[str], path: str, share: float, seed: int):
        self.rng = random.Random(seed)
        self.points, self.texts = data["points"], data["texts"]
        self.tokens, self.path, self.share = tokens, path, share
        self.now = datetime.now(UTC)

    def make(self, conn_no: int) -> bytes:
        rng = self.rng
        text, category = rng.choice(self.texts)
        lon, lat = rng.choice(self.points)
        body = {
            "client_uuid": str(uuid.uuid4()),
            "description": text,
            "location": {"type": "Point", "coordinates": [lon, lat]},
            "accuracy_m": rng.choice((5, 8, 10, 15, 30)),
            "occurred_at": (self.now - timedelta(minutes=rng.randint(1, 90))).isoformat(),
        }
        if category and rng.random() < self.share:
            body["category"] = category
        raw = json.dumps(body, ensure_ascii=False).encode()
        token = self.tokens[conn_no % len(self.tokens)]
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n"
        )
        return head.encode() + raw


async def _connection(port, conn_no, bodies, window, lat, statuses, samples) -> None:
    start, end = window
    reader = writer = None
    loop_time = time.perf_counter
    while True:
        if reader is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = bodies.make(conn_no)
        t0 = loop_time()
        if t0 >= end:
            break
        writer.write(data)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lower = head.lower()
            i = lower.find(b"content-length:")
            n = int(lower[i + 15 : lower.find(b"\r\n", i)]) if i >= 0 else 0
            body = await reader.readexactly(n)
            status = int(head[9:12])
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            status, body = 599, repr(exc).encode()
            head = b""
        t1 = loop_time()
        if t0 >= start:
            lat.append(t1 - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (200, 201) and len(samples) < 5:
                samples.append(f"{status}: {body[:300].decode(errors='replace')}")
        elif status not in (200, 201) and len(samples) < 5:
            samples.append(f"(warm-up) {status}: {body[:300].decode(errors='replace')}")
        if status == 201:
            statuses["created_total"] = statuses.get("created_total", 0) + 1
        if status == 599 or b"connection: close" in head.lower():
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def measure(port: int, bodies: Bodies, args, master: int) -> dict:
    """Warm up, then drive the server for --seconds with --concurrency connections."""
    lat: list[float] = []
    statuses: dict = {}
    samples: list[str] = []

    async def run() -> dict:
        now = time.perf_counter()
        window = (now + args.warmup, now + args.warmup + args.seconds)
        tasks = [
            asyncio.create_task(_connection(port, i, bodies, window, lat, statuses, samples))
            for i in range(args.concurrency)
        ]
        await asyncio.sleep(max(0.0, window[0] - time.perf_counter()))
        cpu0, server0, machine0 = time.process_time(), _server_ticks(master), _machine_ticks()
        wall0 = time.perf_counter()
        await asyncio.sleep(max(0.0, window[1] - time.perf_counter()))
        wall = time.perf_counter() - wall0
        cpu1, server1, machine1 = time.process_time(), _server_ticks(master), _machine_ticks()
        await asyncio.gather(*tasks)
        tick = os.sysconf("SC_CLK_TCK")
        return {
            "client_cpu": (cpu1 - cpu0) / wall,
            "server_cpu": (server1 - server0) / tick / wall,
            "machine_busy": (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1]),
        }

    cpu = asyncio.run(run())
    lat.sort()
    done = len(lat)
    ok = statuses.get(201, 0)
    return {
        "requests": done,
        "per_s": done / args.seconds,
        "p50_ms": 1000 * lat[done // 2] if done else None,
        "p99_ms": 1000 * lat[min(done - 1, int(done * 0.99))] if done else None,
        "created": ok,
        "created_total": statuses.get("created_total", 0),
        "errors": done - ok,
        "statuses": {str(k): v for k, v in statuses.items() if k != "created_total"},
        "error_samples": samples,
        **{k: round(v, 2) for k, v in cpu.items()},
    }


def _server_ticks(master: int) -> int:
    total = 0
    for pid in _workers(master):
        with contextlib.suppress(OSError):  # a worker that just exited
            total += _cpu_ticks(pid)
    return total


# -- the run --------------------------------------------------------------------------------


def check_database(url: str, created: dict[str, int]) -> dict:
    """What each phase left in the database: one event (with its outbox message and audit
    rows) per 201 for the app and the skeleton, told apart by their reporters; floor rows."""
    import psycopg

    def group(conn, prefix: str, answered: int) -> dict:
        mine = (
            "SELECT e.id FROM events e JOIN users u ON u.id = e.reporter_id"
            f" WHERE u.username LIKE '{prefix}%'"
        )
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "events": one(f"SELECT count(*) FROM ({mine}) m"),
            "answered_201": answered,
            "event_new_messages": one(
                "SELECT count(DISTINCT key) FROM outbox"
                f" WHERE kind = 'event_new' AND event_id IN ({mine})"
            ),
            "outbox_rows": one(f"SELECT count(*) FROM outbox WHERE event_id IN ({mine})"),
            "audit_rows": one(f"SELECT count(*) FROM event_audit WHERE event_id IN ({mine})"),
            "dispatched": one(
                f"SELECT count(*) FROM events WHERE handling_level IS NOT NULL AND id IN ({mine})"
            ),
        }

    with psycopg.connect(url) as conn:
        return {
            "ingest": group(conn, "bench_worker_", created["ingest"]),
            "skeleton": group(conn, "bench_skeleton_", created.get("skeleton", 0)),
            "floor_rows": conn.execute("SELECT count(*) FROM bench_floor_reports").fetchone()[0],
            "floor_201": created["floor"],
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured per phase")
    parser.add_argument("--warmup", type=float, default=4.0, help="unmeasured, before each")
    parser.add_argument("--rounds", type=int, default=3, help="floor + ingest (+ skeleton)")
    parser.add_argument("--concurrency", type=int, default=16, help="client connections")
    parser.add_argument("--threads", type=int, default=16, help="gunicorn --threads = WEB_THREADS")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn -w")
    parser.add_argument("--reporters", type=int, default=16, help="grid workers (tokens)")
    parser.add_argument("--category-share", type=float, default=0.5)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--geodata", type=Path, default=FIXTURE)
    parser.add_argument(
        "--port", type=int, default=18731, help="ingest; the floor uses +1, the skeleton +2"
    )
    parser.add_argument(
        "--no-skeleton", action="store_true", help="skip the bare-minimum phase (skeleton_app)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))

    url = fresh_postgres(args.pg)
    if url is None:
        raise SystemExit("PostgreSQL + PostGIS unavailable")
    import redis

    redis.Redis.from_url(args.redis).flushdb()  # our own database: old timed jobs go
    work = temp_dir("wangge-bench-ingest-")
    instance = work / "instance"
    os.environ["REDIS_URL"] = args.redis
    started = time.perf_counter()
    say(f"setup: {url}, geodata {args.geodata}, {args.reporters} reporters ...")
    skeleton = not args.no_skeleton
    data = prepare(url, instance, args.geodata, args.reporters, args.reporters if skeleton else 0)
    say(f"setup done in {time.perf_counter() - started:.1f} s")

    env = {
        **os.environ,
        "WANGGE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WANGGE_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "REDIS_URL": args.redis,
        "GEODATA_DIR": str(args.geodata),
        "WEB_THREADS": str(args.threads),
        "FLASK_APP": "wsgi.py",
    }
    results: dict = {
        "config": {
            k: getattr(args, k)
            for k in ("seconds", "warmup", "rounds", "concurrency", "threads", "workers")
        }
        | {"skeleton": skeleton}
        | {"reporters": args.reporters, "category_share": args.category_share},
        "rounds": [],
    }
    names = ["floor", "ingest"] + (["skeleton"] if skeleton else [])
    servers = {
        "ingest": ("wsgi:app", args.port, ROOT),
        "floor": ("floor_app:app", args.port + 1, ROOT / "bench"),
        "skeleton": ("skeleton_app:app", args.port + 2, ROOT / "bench"),
    }
    procs: dict = {}
    # A plain `kill` of the benchmark must still stop the servers (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for name in names:
            target, port, chdir = servers[name]
            procs[name] = start_server(target, port, env, args, chdir, work / f"{name}.log")
        for name in names:
            wait_ready(procs[name], servers[name][1], "/healthz", work / f"{name}.log")
        tokens = [login(args.port, name) for name in data["reporters"]]
        bodies = {
            "ingest": Bodies(data, tokens, "/api/v1/events", args.category_share, seed=1),
            "floor": Bodies(data, tokens, "/reports", args.category_share, seed=2),
        }
        if skeleton:
            skeleton_tokens = [login(args.port, name) for name in data["skeleton_reporters"]]
            skeleton_app_tokens(url, args.redis, data["skeleton_reporters"], skeleton_tokens)
            bodies["skeleton"] = Bodies(
                data, skeleton_tokens, "/reports", args.category_share, seed=3
            )
        created = dict.fromkeys(names, 0)
        for n in range(args.rounds):
            # Each phase goes first, middle and last in turn, so drift hits them alike.
            order = names[n % len(names) :] + names[: n % len(names)]
            row = {}
            for name in order:
                say(f"round {n + 1}/{args.rounds}: {name} ...")
                row[name] = measure(servers[name][1], bodies[name], args, procs[name].pid)
                created[name] += row[name]["created_total"]
                if row[name]["error_samples"]:
                    say("  errors: " + " | ".join(row[name]["error_samples"]))
            row["ratio"] = row["ingest"]["per_s"] / max(row["floor"]["per_s"], 1e-9)
            line = (
                f"  floor {row['floor']['per_s']:.0f}/s, ingest {row['ingest']['per_s']:.0f}/s, "
                f"ratio {row['ratio']:.2f}"
            )
            if skeleton:
                row["skeleton_ratio"] = row["skeleton"]["per_s"] / max(row["floor"]["per_s"], 1e-9)
                line += (
                    f"; skeleton {row['skeleton']['per_s']:.0f}/s, "
                    f"ratio {row['skeleton_ratio']:.2f}"
                )
            results["rounds"].append(row)
            say(line)
    finally:
        for proc in procs.values():
            stop_server(proc)
    results["check"] = check_database(url, created)
    redis.Redis.from_url(args.redis).flushdb()  # the timed SLA jobs of bench events

    _summarise(results)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print_table(results)
    if results["ok"]:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"server logs kept in {work}")
    return 0 if results["ok"] else 1


def _summarise(r: dict) -> None:
    rounds = r["rounds"]
    phases = [k for k in ("floor", "ingest", "skeleton") if k in rounds[0]]
    for key in ("ratio", "skeleton_ratio") if r["config"]["skeleton"] else ("ratio",):
        values = [row[key] for row in rounds]
        r[f"{key}_median"] = statistics.median(values)
        r[f"{key}_min"], r[f"{key}_max"] = min(values), max(values)
    errors = sum(row[k]["errors"] for row in rounds for k in phases)
    c = r["check"]
    groups = [c[k] for k in ("ingest", "skeleton") if k in phases]
    r["consistent"] = c["floor_rows"] == c["floor_201"] and all(
        g["events"] == g["answered_201"] == g["event_new_messages"]
        and g["audit_rows"] >= max(g["events"], 2 * g["dispatched"])
        for g in groups
    )
    r["ok"] = errors == 0 and r["consistent"]


def print_table(r: dict) -> None:
    cfg = r["config"]
    phases = ["floor", "ingest"] + (["skeleton"] if cfg["skeleton"] else [])
    rows = [
        (
            "setup",
            f"gunicorn -k gthread -w {cfg['workers']} --threads {cfg['threads']} "
            f"(WEB_THREADS={cfg['threads']}), {cfg['concurrency']} keep-alive connections, "
            f"{cfg['reporters']} grid workers, {cfg['category_share']:.0%} with a category; "
            f"{cfg['warmup']:g} s warm-up + {cfg['seconds']:g} s per phase",
        )
    ]
    for i, row in enumerate(r["rounds"], 1):
        for name in phases:
            m = row[name]
            rows.append(
                (
                    f"round {i} {name}",
                    f"{m['per_s']:>7,.0f} req/s  p50 {m['p50_ms']:6.1f} ms  "
                    f"p99 {m['p99_ms']:6.1f} ms  errors {m['errors']}  "
                    f"(CPU: server {m['server_cpu']:.0%}, client {m['client_cpu']:.0%}, "
                    f"machine {m['machine_busy']:.0%} busy)",
                )
            )
        ratios = f"{row['ratio']:.2f}"
        if cfg["skeleton"]:
            ratios += f" (skeleton {row['skeleton_ratio']:.2f})"
        rows.append((f"round {i} ratio", ratios))

    def spread(name: str, key: str) -> str:
        values = [row[name][key] for row in r["rounds"]]
        return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"

    for name in phases:
        rows.append(
            (
                f"{name} median (range)",
                f"{spread(name, 'per_s')} req/s, p50 {spread(name, 'p50_ms')} ms, "
                f"p99 {spread(name, 'p99_ms')} ms",
            )
        )
    ok = "ok" if r["ratio_median"] >= TARGET_RATIO else "BELOW TARGET"
    rows.append(
        (
            "ingest / floor",
            f"{r['ratio_median']:.2f} median ({r['ratio_min']:.2f}–{r['ratio_max']:.2f}) "
            f"(target >= {TARGET_RATIO}: {ok})",
        )
    )
    if cfg["skeleton"]:
        rows.append(
            (
                "skeleton / floor",
                f"{r['skeleton_ratio_median']:.2f} median "
                f"({r['skeleton_ratio_min']:.2f}–{r['skeleton_ratio_max']:.2f}): the least work "
                "a report needs (bench/skeleton_app.py), the ceiling of any implementation",
            )
        )
    c = r["check"]
    for name in ("ingest", "skeleton") if cfg["skeleton"] else ("ingest",):
        g = c[name]
        rows.append(
            (
                f"database check {name}",
                f"{g['events']:,} events for {g['answered_201']:,} × 201, "
                f"{g['event_new_messages']:,} event_new outbox messages "
                f"({g['outbox_rows']:,} rows), {g['audit_rows']:,} audit rows, "
                f"{g['dispatched']:,} dispatched",
            )
        )
    rows.append(
        (
            "database check",
            f"floor {c['floor_rows']:,} rows for {c['floor_201']:,} × 201; "
            + ("consistent" if r["consistent"] else "MISMATCH"),
        )
    )
    report("Report ingest under gunicorn on PostgreSQL vs one-INSERT floor", rows, r, False)


if __name__ == "__main__":
    raise SystemExit(main())
