"""Sign-in, tokens, rate limits and revocation."""

from __future__ import annotations

import time

from sqlalchemy import select

from focusdesk.server.db import Database
from focusdesk.server.schema import tokens, users
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, LiveServer, add_user, make_event


def test_login_gives_a_desk_token_and_me_names_the_desk(server, admin):
    event = make_event(admin)
    add_user(admin, "staff@example.org", "staff", event["id"], "staff-pass-1")
    api = Api(server.url)
    out = api.login("Staff@Example.org ", "staff-pass-1", desk="North door", station_id="north-door-1")
    assert out["station"] == {"id": "north-door-1", "name": "North door", "last_cmd_seq": 0}
    me = api.get("/api/v1/auth/me").json()
    assert me["user"]["email"] == "staff@example.org"
    assert me["user"]["grants"] == [{"role": "staff", "event_id": event["id"]}]
    assert me["station"]["name"] == "North door"


def test_wrong_password_is_401_and_says_nothing_about_which_part(server):
    api = Api(server.url)
    for email in (ADMIN_EMAIL, "nobody@example.org"):
        r = api.post("/api/v1/auth/login", json={"email": email, "password": "wrong-password"})
        assert r.status_code == 401
        assert r.json() == {"code": "bad_credentials", "message": "Wrong email or password."}


def test_repeated_failures_are_rate_limited_with_retry_after(server):
    api = Api(server.url)
    for _ in range(5):
        assert api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "nope-nope"}).status_code == 401
    r = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60


def test_passwords_and_tokens_are_stored_hashed(server, admin):
    def read(conn):
        pw = conn.execute(select(users.c.password_hash).where(users.c.email == ADMIN_EMAIL)).scalar_one()
        return pw, list(conn.execute(select(tokens.c.token_hash)).scalars())

    db = Database(server.database_url)
    try:
        stored_pw, token_hashes = db.read_sync(read)
    finally:
        db.close()
    assert stored_pw.startswith("scrypt$") and ADMIN_PASSWORD not in stored_pw
    assert admin.token not in token_hashes
    assert all(len(h) == 64 for h in token_hashes)


def test_logout_revokes_the_token(server, admin):
    assert admin.post("/api/v1/auth/logout").status_code == 204
    r = admin.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["code"] == "token_revoked"


def test_revoking_a_desk_signs_out_only_that_desk(server, admin):
    lost = Api(server.url)
    lost.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Lost laptop")
    kept = Api(server.url)
    kept.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Main desk")
    r = admin.post(f"/api/v1/stations/{lost.station_id}/revoke")
    assert r.json() == {"revoked": 1}
    assert lost.get("/api/v1/auth/me").json()["code"] == "token_revoked"
    assert kept.get("/api/v1/auth/me").status_code == 200
    stations = {s["name"] for s in admin.get("/api/v1/stations").json()}
    assert {"Lost laptop", "Main desk"} <= stations


def test_tokens_expire(server_database):
    srv = LiveServer.configured(server_database, token_ttl_s=1.0).start()
    try:
        api = Api(srv.url)
        api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert api.get("/api/v1/auth/me").status_code == 200
        time.sleep(1.2)
        r = api.get("/api/v1/auth/me")
        assert r.status_code == 401
        assert r.json()["code"] == "token_expired"
    finally:
        srv.stop()


def test_garbage_bearer_token_is_401(server):
    api = Api(server.url)
    r = api.get("/api/v1/events", headers={"Authorization": "Bearer not-a-real-token"})
    assert r.status_code == 401
    assert r.json()["code"] == "token_unknown"
