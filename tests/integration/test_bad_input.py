"""Bad input gets a clear 4xx naming the field and the reason — never a 500, never a partial write."""

from __future__ import annotations

import pytest

from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, make_event


@pytest.fixture
def event(admin):
    return make_event(admin)


def test_malformed_json_is_400(admin, event):
    r = admin.post(
        f"/api/v1/events/{event['id']}/attendees",
        content=b'{"name": "Ann"',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["code"] == "malformed_json"


def test_wrong_type_names_the_field(admin, event):
    r = admin.post(f"/api/v1/events/{event['id']}/attendees", json={"name": ["not", "text"]})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input"
    assert body["errors"][0]["field"] == "name"


def test_unknown_field_is_refused_by_name(admin, event):
    r = admin.post(f"/api/v1/events/{event['id']}/attendees", json={"name": "Ann", "shoe_size": 42})
    assert r.status_code == 422
    assert {"field": "shoe_size", "reason": "is not a known field"} in r.json()["errors"]


def test_every_bad_field_is_reported_at_once(admin):
    r = admin.post(
        "/api/v1/events",
        json={"name": "X", "starts_on": "2026-13-01", "ends_on": "tomorrow", "timezone": "Mars/Olympus"},
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"starts_on", "ends_on", "timezone"}


def test_ends_before_start_is_refused(admin):
    r = admin.post(
        "/api/v1/events", json={"name": "X", "starts_on": "2026-11-24", "ends_on": "2026-11-23", "timezone": "UTC"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "ends_on"


def test_bad_email_is_named(admin, event):
    r = admin.post(f"/api/v1/events/{event['id']}/attendees", json={"name": "Ann", "email": "ann-at-example"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "email"


def test_oversized_body_is_413_and_writes_nothing(admin, event):
    big = {"commands": [{"cmd_seq": 1, "type": "checkin", "args": {"pad": "x" * (2 << 20)}}]}
    r = admin.post("/api/v1/commands", json=big)
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"


def test_chunked_oversized_body_is_413(admin, event):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = admin.post(
        f"/api/v1/events/{event['id']}/attendees", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


def test_unknown_ids_are_404(admin, event):
    assert admin.get("/api/v1/events/999").json()["code"] == "not_found"
    r = admin.get(f"/api/v1/events/{event['id']}/attendees/doesnotexist")
    assert r.status_code == 404
    assert "doesnotexist" in r.json()["message"]


def test_another_events_attendee_is_404_through_this_event(admin, event):
    other = make_event(admin, "Other")
    person = add_attendees(admin, other["id"], [{"name": "Elsewhere"}])[0]
    r = admin.get(f"/api/v1/events/{event['id']}/attendees/{person['id']}")
    assert r.status_code == 404
    r = admin.patch(f"/api/v1/events/{event['id']}/attendees/{person['id']}", json={"name": "Hijacked"})
    assert r.status_code == 404
    assert admin.get(f"/api/v1/events/{other['id']}/attendees/{person['id']}").json()["name"] == "Elsewhere"


def test_duplicate_email_is_409_and_adds_nobody(admin, event):
    add_attendees(admin, event["id"], [{"name": "Ann", "email": "ann@example.org"}])
    r = admin.post(f"/api/v1/events/{event['id']}/attendees", json={"name": "Ann 2", "email": "ANN@example.org"})
    assert r.status_code == 409
    assert r.json()["code"] == "duplicate_email"
    assert admin.get(f"/api/v1/events/{event['id']}/attendees").json()["total"] == 1


def test_unknown_endpoint_and_method(admin):
    r = admin.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = admin.http.put("/api/v1/events")
    assert r.status_code == 405


def test_health_reports_version_and_database(server):
    r = Api(server.url).get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["version"]


def test_text_with_a_nul_character_is_refused_by_field_on_every_database(server, admin, event):
    """PostgreSQL cannot store U+0000 in text; the answer must not depend on the database."""
    ev = event["id"]
    r = admin.post(f"/api/v1/events/{ev}/attendees", json={"name": "Ann\u0000Lee"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "body.name", "reason": "must not contain the NUL character (\\u0000)"}]
    r = Api(server.url).post("/api/v1/auth/login", json={"email": "a\u0000@example.org", "password": "x" * 8})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.email", r.text
    r = admin.get(f"/api/v1/events/{ev}/attendees", params={"q": "An\u0000"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.q", r.text
    # A desk's command goes the same way (the commands fast path hands it over).
    desk = Api(server.url)
    desk.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Desk 1")
    r = desk.send({"type": "walkin", "args": {"event_id": ev, "attendee": {"name": "Bo\u0000"}}})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.commands.0.args.attendee.name"
    # Nothing was written.
    assert admin.get(f"/api/v1/events/{ev}/attendees").json()["total"] == 0
    # The six characters \u0000 typed as text are just text.
    r = admin.post(f"/api/v1/events/{ev}/attendees", json={"name": "Ann \\u0000 Lee"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Ann \\u0000 Lee"
