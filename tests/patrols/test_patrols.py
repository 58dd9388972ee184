"""Patrols 巡查: idempotent start / fixes / stop from the phone's offline queue, validation with
reasons, scope, and the distance and coverage figures against hand-worked ones."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import shapely
from sqlalchemy import func, select

from app.core.scope import unscoped
from app.geo.models import Area
from app.patrols.models import Patrol, PatrolCoverage, PatrolPoint
from app.realtime.models import OutboxMessage

GRID = "500103003013001"  # the demo worker's grid, in 解放碑街道
OTHER_VILLAGE_GRID = "500103003016001"
TOWNSHIP = "500103003000"
OTHER_TOWNSHIP = "500103001000"  # 七星岗街道
LOCAL = ZoneInfo("Asia/Shanghai")


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude: the textbook series for WGS84, written out
    here independently of the app's own (ellipsoid) formula."""
    phi = math.radians(lat)
    lat_m = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    lon_m = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    return lon_m, lat_m


def walk_east(lon: float, lat: float, metres: float, step: float) -> list[tuple[float, float]]:
    """Points every `step` metres along a parallel, `metres` in all, starting at (lon, lat)."""
    kx, _ = metres_per_degree(lat)
    n = round(metres / step)
    return [(lon + i * step / kx, lat) for i in range(n + 1)]


def grid_shape(session, code: str):
    with unscoped():
        return session.scalar(select(Area.geom).where(Area.id == int(code)))


def area_m2(geom) -> float:
    """A small polygon's area, scaled by the series above at its centroid."""
    kx, ky = metres_per_degree(geom.centroid.y)
    return geom.area * kx * ky


def fixes(coords, *, start: datetime, every: float = 15.0, accuracy: float = 8.0) -> list[dict]:
    return [
        {
            "at": (start + timedelta(seconds=i * every)).isoformat(),
            "lon": lon,
            "lat": lat,
            "accuracy_m": accuracy,
        }
        for i, (lon, lat) in enumerate(coords)
    ]


@pytest.fixture
def patrol(auth, point_in):
    """Start a patrol as a user (the demo worker in their grid by default); returns its JSON."""

    def make(user="demo_worker", *, at=None, where=GRID, uid=None, expect=201):
        body = {
            "uuid": str(uid or uuid.uuid4()),
            "started_at": (at or datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "interval_s": 15,
        }
        if where:
            body["location"] = {"type": "Point", "coordinates": point_in(where)}
            body["accuracy_m"] = 6
        response = auth.post(user, "/api/v1/patrols", json=body)
        assert response.status_code == expect, response.json
        return response.json

    return make


def send(auth, patrol, points, user="demo_worker"):
    return auth.post(user, f"/api/v1/patrols/{patrol['uuid']}/points", json={"points": points})


def stop(auth, patrol, at, user="demo_worker"):
    return auth.post(
        user, f"/api/v1/patrols/{patrol['uuid']}/stop", json={"ended_at": at.isoformat()}
    )


def stored(session, model, **where):
    with unscoped():
        stmt = select(func.count()).select_from(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return session.scalar(stmt)


def inscribed(session, code: str) -> tuple[float, float, float]:
    """The centre of a grid's largest inscribed circle and its radius in metres."""
    geom = grid_shape(session, code)
    line = shapely.maximum_inscribed_circle(geom)
    (cx, cy), (ex, ey) = line.coords
    kx, ky = metres_per_degree(cy)
    return cx, cy, math.hypot((ex - cx) * kx, (ey - cy) * ky)


# -- the phone's writes -----------------------------------------------------------------------


def test_a_start_sent_twice_is_one_patrol_in_the_grid_it_starts_in(auth, patrol, session):
    uid = uuid.uuid4()
    first = patrol(uid=uid)
    assert first["grid"] == GRID and first["status"] == "active"
    assert first["user_name"] == "张网格" and first["area_name"]
    again = patrol(uid=uid, expect=200)
    assert again["id"] == first["id"]
    assert stored(session, Patrol, uuid=uid) == 1
    # The consoles of the grid's places heard of it once.
    with unscoped():
        rooms = set(
            session.scalars(
                select(OutboxMessage.room).where(OutboxMessage.kind == "patrol_started")
            )
        )
    assert {f"area:{GRID}", f"area:{TOWNSHIP}", "area:500103003013"} <= rooms


def test_only_field_roles_patrol(auth, point_in):
    body = {"uuid": str(uuid.uuid4()), "started_at": datetime.now(UTC).isoformat()}
    refused = auth.post("demo_dispatcher", "/api/v1/patrols", json=body)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "role_forbidden"
    assert "角色" in refused.json["error"]["message"]


def test_bad_starts_are_refused_with_reasons(auth, patrol):
    late = patrol(at=datetime.now(UTC) + timedelta(hours=1), expect=422)
    assert late["error"]["code"] == "start_in_future" and "晚于" in late["error"]["message"]
    old = patrol(at=datetime.now(UTC) - timedelta(days=8), expect=422)
    assert old["error"]["code"] == "start_too_old"
    broken = auth.post("demo_worker", "/api/v1/patrols", json={"uuid": "not-a-uuid"})
    assert broken.status_code == 422
    assert broken.json["error"]["code"] == "validation_error"
    assert broken.json["error"]["details"]["json"]["uuid"] == ["不是有效的 UUID"]
    assert broken.json["error"]["details"]["json"]["started_at"] == ["缺少必填字段"]
    # Someone else's uuid is not theirs to reuse.
    mine = patrol()
    taken = patrol("demo_leader", uid=mine["uuid"], expect=409)
    assert taken["error"]["code"] == "patrol_uuid_taken"


def test_a_batch_keeps_its_good_fixes_and_lists_the_bad_ones_with_reasons(
    auth, patrol, point_in, session
):
    started = datetime.now(UTC) - timedelta(hours=1)
    p = patrol(at=started)
    lon, lat = point_in(GRID)
    good = fixes([(lon, lat), (lon + 0.0001, lat)], start=started + timedelta(minutes=1))
    poor = fixes([(lon + 0.0002, lat)], start=started + timedelta(minutes=2), accuracy=300)
    batch = [
        good[0],
        {"at": (started + timedelta(minutes=3)).isoformat(), "lon": lon, "lat": 100},
        {"at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(), "lon": lon, "lat": lat},
        {"at": (started - timedelta(hours=1)).isoformat(), "lon": lon, "lat": lat},
        good[1],
        poor[0],
        {"at": "yesterday", "lon": lon, "lat": lat},
    ]
    response = send(auth, p, batch)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    reasons = {r["index"]: r for r in body["rejected"]}
    assert {i: r["code"] for i, r in reasons.items()} == {
        1: "invalid_point",
        2: "point_in_future",
        3: "point_before_start",
        6: "invalid_point",
    }
    assert reasons[1]["errors"] == {"lat": ["应大于或等于 -90 且小于或等于 90"]}
    assert reasons[2]["message"] == "定位时间晚于当前时间"
    assert reasons[3]["message"] == "定位时间早于巡查开始"
    assert reasons[6]["errors"] == {"at": ["日期时间格式无效"]}
    # The poor fix is kept for the record but not counted.
    assert body["patrol"]["point_count"] == 3 and body["patrol"]["counted_points"] == 2
    assert stored(session, PatrolPoint, patrol_id=p["id"]) == 3
    assert stored(session, PatrolPoint, patrol_id=p["id"], counted=False) == 1

    empty = send(auth, p, [])
    assert empty.status_code == 422 and empty.json["error"]["code"] == "validation_error"
    assert "1 到 500" in str(empty.json["error"]["details"])
    huge = send(auth, p, fixes([(lon, lat)] * 501, start=started, every=1))
    assert huge.status_code == 422
    elsewhere = send(auth, {"uuid": str(uuid.uuid4())}, good)
    assert elsewhere.status_code == 404
    assert elsewhere.json["error"] == {
        "code": "patrol_not_found",
        "message": "找不到该巡查",
        "details": {},
    }


def test_fixes_and_stop_sent_twice_are_stored_once(auth, patrol, point_in, session):
    started = datetime.now(UTC) - timedelta(hours=1)
    p = patrol(at=started)
    lon, lat = point_in(GRID)
    batch = fixes(walk_east(lon, lat, 60, 20), start=started + timedelta(seconds=30))
    first = send(auth, p, batch).json
    assert (first["accepted"], first["duplicates"]) == (4, 0)
    again = send(auth, p, batch + fixes([(lon, lat)], start=started + timedelta(minutes=5)))
    assert (again.json["accepted"], again.json["duplicates"]) == (1, 4)
    assert again.json["duplicate_indexes"] == [0, 1, 2, 3]
    assert stored(session, PatrolPoint, patrol_id=p["id"]) == 5

    ended = started + timedelta(minutes=10)
    one = stop(auth, p, ended)
    assert one.status_code == 200 and one.json["status"] == "stopped"
    two = stop(auth, p, ended + timedelta(minutes=3))  # a retry, later: the first stop stands
    assert two.status_code == 200 and two.json["ended_at"] == one.json["ended_at"]
    assert stored(session, OutboxMessage, kind="patrol_stopped") >= 1
    with unscoped():
        sent = session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.kind == "patrol_stopped")
        ).all()
    assert len(set(sent)) == 1  # told once
    late = send(auth, p, fixes([(lon, lat)], start=ended + timedelta(minutes=1)))
    assert late.json["accepted"] == 0
    assert late.json["rejected"][0]["code"] == "point_after_stop"


def test_a_new_patrol_stops_the_one_left_running(auth, patrol, session):
    earlier = patrol(at=datetime.now(UTC) - timedelta(hours=3))
    patrol()
    with unscoped():
        old = session.get(Patrol, earlier["id"])
        assert (old.status, old.stopped_by) == ("stopped", "restart")


def test_nobody_writes_to_someone_elses_patrol(auth, patrol, point_in):
    p = patrol()
    lon, lat = point_in(GRID)
    points = send(auth, p, fixes([(lon, lat)], start=datetime.now(UTC)), user="demo_leader")
    assert points.status_code == 404
    ended = stop(auth, p, datetime.now(UTC), user="demo_leader")
    assert ended.status_code == 404 and ended.json["error"]["code"] == "patrol_not_found"


# -- figures ---------------------------------------------------------------------------------


def test_distance_and_coverage_of_a_short_walk_inside_one_grid(app, auth, patrol, session):
    """A 60 m walk through the middle of a grid and 30 m back, counted within 10 m: the covered
    shape is a 60 × 20 m rectangle with two half-discs of 10 m, 1200 + π·100 = 1514.2 m²."""
    app.config["PATROL_COVER_RADIUS_M"] = 10.0
    try:
        cx, cy, room = inscribed(session, GRID)
        assert room > 45  # the walk and its 10 m band fit inside the grid
        kx, _ = metres_per_degree(cy)
        started = datetime.now(UTC) - timedelta(hours=1)
        p = patrol(at=started)
        coords = walk_east(cx - 30 / kx, cy, 60, 10)
        back = coords[::-1][1:4]  # and 30 m back along the same street
        assert send(auth, p, fixes(coords + back, start=started, every=10)).status_code == 200
        done = stop(auth, p, started + timedelta(minutes=2)).json
        assert done["distance_m"] == pytest.approx(90, rel=1e-3)
        assert done["walked_s"] == 90 and done["duration_s"] == 120

        day = started.astimezone(LOCAL).date().isoformat()
        report = auth.get("demo_worker", f"/api/v1/patrols/coverage?area={GRID}&day={day}")
        assert report.status_code == 200, report.json
        [item] = report.json["items"]
        expected_area = area_m2(grid_shape(session, GRID))
        assert item["area_m2"] == pytest.approx(expected_area, rel=0.01)
        assert item["covered_m2"] == pytest.approx(1200 + math.pi * 100, rel=0.01)
        assert item["ratio"] == pytest.approx((1200 + math.pi * 100) / expected_area, rel=0.02)
        # Walked there and back: the band is covered once, the street walked twice.
        assert item["distance_m"] == pytest.approx(90, rel=0.01)
        assert item["walked_s"] == 90
        assert (item["patrols"], item["people"]) == (1, 1)
        assert report.json["radius_m"] == 10
    finally:
        app.config["PATROL_COVER_RADIUS_M"] = 30.0


def test_a_200_m_walk_across_grids_counts_in_each(auth, patrol, point_in, session):
    """A straight 200 m walk, counted within 30 m: the band is 200 × 60 m plus two half-discs,
    12,000 + π·900 = 14,827 m², shared out among the grids it crosses (they tile the ground, so
    the shares add up to the whole), and so are the 200 m walked."""
    lon, lat = point_in(GRID)
    started = datetime.now(UTC) - timedelta(hours=2)
    p = patrol(at=started)
    coords = walk_east(lon - 0.0009, lat, 200, 10)  # about 90 m west of the middle, then east
    assert send(auth, p, fixes(coords, start=started, every=8)).json["accepted"] == 21
    done = stop(auth, p, started + timedelta(minutes=5)).json
    assert done["distance_m"] == pytest.approx(200, rel=1e-3)

    day = started.astimezone(LOCAL).date()
    with unscoped():
        rows = session.scalars(select(PatrolCoverage).where(PatrolCoverage.day == day)).all()
    assert len(rows) >= 2
    assert sum(r.covered_m2 for r in rows) == pytest.approx(12000 + math.pi * 900, rel=0.01)
    assert sum(r.distance_m for r in rows) == pytest.approx(200, rel=0.01)
    assert sum(r.walked_s for r in rows) == pytest.approx(160)
    assert all(r.patrol_ids == [p["id"]] for r in rows)
    assert GRID in {str(r.grid_id) for r in rows}
    # The township's centre sees its grids' share, every grid listed, and the totals.
    report = auth.get("demo_dispatcher", f"/api/v1/patrols/coverage?day={day}").json
    assert report["area"]["code"] == TOWNSHIP
    by_code = {i["code"]: i for i in report["items"]}
    assert len(by_code) > len(rows)  # unpatrolled grids are listed too, at zero
    township_rows = [r for r in rows if str(r.grid_id).startswith(TOWNSHIP[:9])]
    for row in township_rows:
        assert by_code[str(row.grid_id)]["covered_m2"] == pytest.approx(row.covered_m2)
    totals = report["totals"]
    assert totals["patrols"] == 1 and totals["people"] == 1
    assert totals["patrolled_grids"] == len(township_rows)
    assert totals["area_m2"] == pytest.approx(sum(i["area_m2"] for i in report["items"]))
    assert totals["ratio"] == pytest.approx(totals["covered_m2"] / totals["area_m2"])
    assert all(i["area_m2"] > 0 for i in report["items"])


def test_two_patrols_on_one_street_cover_it_once_but_walk_it_twice(app, auth, patrol, session):
    app.config["PATROL_COVER_RADIUS_M"] = 10.0
    try:
        cx, cy, _ = inscribed(session, GRID)
        kx, _ = metres_per_degree(cy)
        coords = walk_east(cx - 30 / kx, cy, 60, 10)
        started = datetime.now(UTC) - timedelta(hours=3)
        for user, offset in (("demo_worker", 0), ("demo_leader", 20)):
            at = started + timedelta(minutes=offset)
            p = patrol(user, at=at)
            send(auth, p, fixes(coords, start=at, every=10), user=user)
            stop(auth, p, at + timedelta(minutes=5), user=user)
        day = started.astimezone(LOCAL).date().isoformat()
        [item] = auth.get(
            "demo_dispatcher", f"/api/v1/patrols/coverage?area={GRID}&day={day}"
        ).json["items"]
        assert item["covered_m2"] == pytest.approx(1200 + math.pi * 100, rel=0.01)
        assert item["distance_m"] == pytest.approx(120, rel=0.01)
        assert (item["patrols"], item["people"]) == (2, 2)
    finally:
        app.config["PATROL_COVER_RADIUS_M"] = 30.0


def test_gaps_and_gps_jumps_add_no_distance(auth, patrol, point_in):
    lon, lat = point_in(GRID)
    started = datetime.now(UTC) - timedelta(hours=1)
    p = patrol(at=started)
    kx, _ = metres_per_degree(lat)
    walked = fixes(walk_east(lon, lat, 40, 20), start=started)  # 40 m in 30 s
    # Ten minutes later, 20 m on: the app was closed in between (a gap, not a walk).
    later = fixes([(lon + 60 / kx, lat)], start=started + timedelta(minutes=10))
    # Then a fix 2 km away 15 s later: a GPS jump (133 m/s), and back.
    jump = fixes([(lon + 2000 / kx, lat)], start=started + timedelta(minutes=10, seconds=15))
    back = fixes(
        [(lon + 60 / kx, lat), (lon + 80 / kx, lat)],
        start=started + timedelta(minutes=10, seconds=30),
    )
    result = send(auth, p, walked + later + jump + back).json
    assert result["accepted"] == 7
    assert result["patrol"]["distance_m"] == pytest.approx(60, rel=1e-3)  # 40 + 20
    detail = auth.get("demo_worker", f"/api/v1/patrols/{p['id']}").json
    assert detail["track"]["type"] == "LineString"
    assert len(detail["track"]["coordinates"]) == 7
    assert detail["gaps"] == 1


def test_fixes_without_a_stop_are_counted_by_the_background_job(
    auth, patrol, point_in, session, redis_client
):
    from rq import Queue

    from app.patrols.tasks import recompute_coverage

    lon, lat = point_in(GRID)
    started = datetime.now(UTC) - timedelta(minutes=30)
    p = patrol(at=started)
    send(auth, p, fixes(walk_east(lon, lat, 40, 10), start=started))
    send(auth, p, fixes(walk_east(lon, lat + 0.0001, 40, 10), start=started + timedelta(minutes=1)))
    queued = Queue("default", connection=redis_client).job_ids
    assert queued.count(f"patrol-coverage-{p['id']}") >= 1
    day = started.astimezone(LOCAL).date()
    assert stored(session, PatrolCoverage, day=day) == 0  # not yet

    def figures():
        session.expire_all()
        with unscoped():
            rows = session.scalars(select(PatrolCoverage).where(PatrolCoverage.day == day)).all()
            return sorted((r.grid_id, r.covered_m2, r.distance_m, r.walked_s) for r in rows)

    assert recompute_coverage(p["id"]) >= 1
    first = figures()
    assert first
    assert recompute_coverage(p["id"]) >= 1
    assert figures() == first  # twice changes nothing
    with unscoped():
        row = session.scalar(
            select(PatrolCoverage).where(
                PatrolCoverage.grid_id == int(GRID), PatrolCoverage.day == day
            )
        )
    assert row is not None and row.patrol_ids == [p["id"]] and 0 < row.ratio <= 1


def test_a_patrol_left_running_is_stopped_at_its_last_fix_and_can_still_grow(
    app, auth, patrol, point_in, session
):
    from app.patrols.tasks import stop_abandoned_patrols

    lon, lat = point_in(GRID)
    started = datetime.now(UTC) - timedelta(hours=20)
    p = patrol(at=started)
    send(auth, p, fixes(walk_east(lon, lat, 20, 10), start=started))
    assert stop_abandoned_patrols() == 1
    assert stop_abandoned_patrols() == 0
    with unscoped():
        row = session.get(Patrol, p["id"])
        assert (row.status, row.stopped_by) == ("stopped", "auto")
        assert row.ended_at == started + timedelta(seconds=30)  # three fixes, 15 s apart
    # The phone was offline, not gone: its later fixes extend the patrol, and its stop stands.
    later = started + timedelta(hours=1)
    assert send(auth, p, fixes([(lon, lat)], start=later)).json["accepted"] == 1
    ended = stop(auth, p, later + timedelta(minutes=1)).json
    assert ended["stopped_by"] == "user"
    assert ended["ended_at"].startswith((later + timedelta(minutes=1)).isoformat()[:19])


# -- who sees what ---------------------------------------------------------------------------


def test_another_township_sees_nothing(auth, patrol, point_in, session):
    from app.accounts.service import create_user

    with unscoped():
        create_user(
            username="qxg_dispatcher",
            password="Qixinggang-2026",
            role="township_dispatcher",
            node=OTHER_TOWNSHIP,
        )
        session.flush()
    auth.token("qxg_dispatcher", "Qixinggang-2026")
    started = datetime.now(UTC) - timedelta(hours=1)
    p = patrol(at=started)
    lon, lat = point_in(GRID)
    send(auth, p, fixes(walk_east(lon, lat, 40, 10), start=started))
    stop(auth, p, started + timedelta(minutes=5))
    day = started.astimezone(LOCAL).date().isoformat()

    assert auth.get("demo_dispatcher", f"/api/v1/patrols?day={day}").json["total"] == 1
    assert auth.get("qxg_dispatcher", f"/api/v1/patrols?day={day}").json["total"] == 0
    assert auth.get("qxg_dispatcher", f"/api/v1/patrols/{p['id']}").status_code == 404
    away = auth.get("qxg_dispatcher", f"/api/v1/patrols/coverage?area={TOWNSHIP}&day={day}")
    assert away.status_code == 404 and away.json["error"]["code"] == "area_not_found"
    own = auth.get("qxg_dispatcher", f"/api/v1/patrols/coverage?day={day}").json
    assert own["area"]["code"] == OTHER_TOWNSHIP and own["totals"]["patrols"] == 0
    # A grid worker of another village sees neither the patrol nor its grid's figures.
    with unscoped():
        create_user(
            username="lhc_worker",
            password="Lianhuachi-2026",
            role="grid_worker",
            node=OTHER_VILLAGE_GRID,
        )
        session.flush()
    auth.token("lhc_worker", "Lianhuachi-2026")
    assert auth.get("lhc_worker", "/api/v1/patrols").json["total"] == 0
    assert auth.get("lhc_worker", f"/api/v1/patrols/coverage?area={GRID}").status_code == 404
    # A district's coverage is read township by township.
    wide = auth.get("demo_admin", "/api/v1/patrols/coverage?area=500103000000")
    assert wide.status_code == 422 and wide.json["error"]["code"] == "area_too_large"


def test_the_console_lists_the_days_patrols_with_their_people(auth, patrol, point_in):
    today = datetime.now(UTC).astimezone(LOCAL)
    started = datetime.now(UTC) - timedelta(minutes=10)
    mine = patrol(at=started)
    theirs = patrol("demo_leader", at=started + timedelta(minutes=1))
    listed = auth.get(
        "demo_dispatcher", f"/api/v1/patrols?day={today.date().isoformat()}&status=active"
    ).json
    assert [i["id"] for i in listed["items"]] == [theirs["id"], mine["id"]]
    assert {i["user_name"] for i in listed["items"]} == {"张网格", "李网格长"}
    only = auth.get("demo_dispatcher", f"/api/v1/patrols?user_id={mine['user_id']}").json
    assert [i["id"] for i in only["items"]] == [mine["id"]]
    own = auth.get("demo_leader", "/api/v1/patrols?mine=true").json
    assert [i["id"] for i in own["items"]] == [theirs["id"]]
    long_ago = auth.get("demo_dispatcher", "/api/v1/patrols?day=2001-01-01").json
    assert long_ago["total"] == 0
    bad = auth.get("demo_dispatcher", "/api/v1/patrols?day=1900-01-01")
    assert bad.status_code == 422


def test_a_patrol_started_outside_ones_grids_stays_home(auth, patrol):
    away = patrol(where="500103001003001")  # 七星岗: not the worker's grid
    assert away["grid"] == GRID
    village = patrol("demo_leader", where=None)
    assert village["grid"] is None and village["area"] == "500103003013"


def test_a_village_patrol_moves_to_the_grid_of_its_first_good_fix(auth, patrol, point_in):
    started = datetime.now(UTC) - timedelta(minutes=20)
    p = patrol("demo_leader", at=started, where=None)
    lon, lat = point_in("500103003013002")
    result = send(auth, p, fixes([(lon, lat)], start=started), user="demo_leader").json
    assert result["patrol"]["grid"] == "500103003013002"


# -- the two implementations -----------------------------------------------------------------


@pytest.mark.postgres
def test_postgis_and_shapely_agree(session, point_in):
    from app.geo import coverage

    lon, lat = point_in(GRID)
    line = shapely.LineString(walk_east(lon - 0.001, lat, 250, 25))
    zig = shapely.LineString([(lon, lat - 0.0005), (lon + 0.0003, lat), (lon, lat + 0.0005)])
    for grid in (GRID, "500103003013002"):
        pg = coverage.cover_grid_postgis(grid_id=int(grid), lines=[line, zig], radius_m=30)
        py = coverage.cover_grid_shapely(grid_id=int(grid), lines=[line, zig], radius_m=30)
        assert pg.area_m2 == pytest.approx(py.area_m2, rel=0.005)
        assert pg.covered_m2 == pytest.approx(py.covered_m2, rel=0.01)
        assert pg.touching == py.touching
        assert pg.length_m == pytest.approx(py.length_m, rel=0.01, abs=0.5)
    near_pg = coverage.grids_near(geom=line, radius_m=30)
    assert int(GRID) in near_pg


def test_tracks_split_at_local_midnight():
    from app.patrols.track import Fix, day_tracks

    midnight = datetime(2026, 3, 1, 0, 0, tzinfo=LOCAL).astimezone(UTC)
    track = [
        Fix(midnight + timedelta(seconds=s), 106.57 + s * 1e-5, 29.56, True, 1)
        for s in (-30, -15, 0, 15, 30)
    ]
    days = day_tracks(track, zone=LOCAL, max_gap_s=300, max_speed=15)
    assert sorted(days) == [date(2026, 2, 28), date(2026, 3, 1)]
    assert days[date(2026, 2, 28)].walked_s == 30 and days[date(2026, 3, 1)].walked_s == 30
    assert sum(d.distance_m for d in days.values()) == pytest.approx(
        60 * 1e-5 * metres_per_degree(29.56)[0], rel=1e-3
    )
