"""Login, tokens, lockout, rate limiting, logout, revocation and password change."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User

PASSWORD = "Demo@2026"


def login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_login_gives_a_token_that_identifies_the_user(client):
    response = login(client, "demo_dispatcher")
    assert response.status_code == 200
    token = response.json["token"]
    # Times carry their zone on every database (SQLite would otherwise drop it).
    assert response.json["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["user"]["username"] == "demo_dispatcher"
    assert me.json["user"]["role"] == "township_dispatcher"
    assert me.json["scope"] == {
        "everything": False,
        "level": "township",
        "area": "500103003000",
        "grids": [],
        "department_id": None,
    }


def test_passwords_are_stored_with_argon2id(session):
    user = session.scalar(select(User).where(User.username == "demo_worker"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = login(client, "demo_dispatcher", "not-the-password")
    unknown = login(client, "nobody_here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["error"]["code"] == "invalid_credentials"
    assert wrong.json["error"]["message"] == "用户名或密码错误"


def test_api_refuses_missing_bad_and_malformed_tokens(client):
    assert client.get("/api/v1/auth/me").json["error"]["code"] == "unauthorized"
    for header in ("Bearer nonsense", "Basic abc", "Bearer "):
        response = client.get("/api/v1/auth/me", headers={"Authorization": header})
        assert response.status_code == 401


def test_five_failures_lock_the_account_until_an_admin_lifts_it(client, auth):
    for _ in range(5):
        assert login(client, "demo_village", "wrong-password").status_code == 401
    locked = login(client, "demo_village")  # even the right password is refused now
    assert locked.status_code == 423
    assert locked.json["error"]["code"] == "account_locked"
    assert "locked_until" in locked.json["error"]["details"]

    users = auth.get("demo_admin", "/api/v1/users?q=demo_village").json["items"]
    assert users[0]["locked"] is True
    unlocked = auth.post("demo_admin", f"/api/v1/users/{users[0]['id']}/unlock")
    assert unlocked.status_code == 200 and unlocked.json["locked"] is False
    assert login(client, "demo_village").status_code == 200


def test_a_success_resets_the_failure_count(client):
    for _ in range(4):
        login(client, "demo_leader", "wrong-password")
    assert login(client, "demo_leader").status_code == 200
    for _ in range(4):
        login(client, "demo_leader", "wrong-password")
    assert login(client, "demo_leader").status_code == 200


def test_many_failures_from_one_address_are_rate_limited(app, client):
    app.config["LOGIN_IP_LIMIT"] = 3
    try:
        for name in ("a1", "a2", "a3"):
            assert login(client, name, "x").status_code == 401
        limited = login(client, "demo_dispatcher")
        assert limited.status_code == 429
        assert limited.json["error"]["code"] == "login_rate_limited"
    finally:
        app.config["LOGIN_IP_LIMIT"] = 30


def test_logout_revokes_the_token(client):
    token = login(client, "demo_worker").json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_admin_can_sign_a_user_out_everywhere(client, auth):
    token = login(client, "demo_leader").json["token"]
    user_id = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json[
        "user"
    ]["id"]
    response = auth.post("demo_admin", f"/api/v1/users/{user_id}/revoke-tokens")
    assert response.status_code == 200 and response.json["count"] >= 1
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_password_change_signs_out_other_sessions(client):
    phone = login(client, "demo_board_party").json["token"]
    desk = login(client, "demo_board_party").json["token"]
    change = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "Xin-mima-2026"},
        headers={"Authorization": f"Bearer {desk}"},
    )
    assert change.status_code == 204
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {desk}"}).status_code
        == 200
    )
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {phone}"}).status_code
        == 401
    )
    assert login(client, "demo_board_party").status_code == 401
    assert login(client, "demo_board_party", "Xin-mima-2026").status_code == 200


def test_password_change_checks_the_current_password_and_the_policy(client):
    token = login(client, "demo_board_economy").json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    wrong = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "Xin-mima-2026"},
    )
    assert wrong.status_code == 401
    for weak in ("short", "12345678", "aaaaaaaaaa", "demo_board_economy-1"):
        response = client.post(
            "/api/v1/auth/password",
            headers=headers,
            json={"current_password": PASSWORD, "new_password": weak},
        )
        assert response.status_code == 422, weak
        assert response.json["error"]["code"] == "weak_password"
