"""Every endpoint × every role: allowed or denied exactly as the role table says, and scoped per event.

The matrix below is written out by hand (not derived from the code under test) and must cover every
route the app serves, so a new endpoint cannot ship without a decision about who may call it.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from tests.pg_support import server_database
from tests.support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Api,
    LiveServer,
    add_attendees,
    add_user,
    make_event,
)

A, O, S, T = "admin", "organizer", "staff", "technician"  # noqa: E741 -- one-letter role names keep the permission matrix readable
EVERYONE = {A, O, S, T}

# (method, path template) -> roles allowed. Paths use {event}, {attendee}, {station}.
MATRIX: dict[tuple[str, str], set[str]] = {
    ("POST", "/api/v1/auth/login"): EVERYONE,
    ("POST", "/api/v1/auth/logout"): EVERYONE,
    ("GET", "/api/v1/auth/me"): EVERYONE,
    ("GET", "/api/v1/users"): {A},
    ("POST", "/api/v1/users"): {A},
    ("GET", "/api/v1/stations"): {A},
    ("POST", "/api/v1/stations/{station_id}/revoke"): {A},
    ("GET", "/api/v1/events"): EVERYONE,
    ("POST", "/api/v1/events"): {A},
    ("GET", "/api/v1/events/{event_id}"): EVERYONE,
    ("PATCH", "/api/v1/events/{event_id}"): {A, O},
    ("GET", "/api/v1/events/{event_id}/counts"): EVERYONE,
    ("GET", "/api/v1/events/{event_id}/attendees"): {A, O, S},
    ("POST", "/api/v1/events/{event_id}/attendees"): {A, O},
    ("GET", "/api/v1/events/{event_id}/attendees/export"): {A, O},
    ("POST", "/api/v1/events/{event_id}/attendees/import"): {A, O},
    ("GET", "/api/v1/events/{event_id}/attendees/{attendee_id}"): {A, O, S},
    ("PATCH", "/api/v1/events/{event_id}/attendees/{attendee_id}"): {A, O},
    ("DELETE", "/api/v1/events/{event_id}/attendees/{attendee_id}"): {A, O},
    ("GET", "/api/v1/events/{event_id}/rooms"): EVERYONE,
    ("POST", "/api/v1/events/{event_id}/rooms"): {A, O},
    ("PATCH", "/api/v1/events/{event_id}/rooms/{room_id}"): {A, O},
    ("DELETE", "/api/v1/events/{event_id}/rooms/{room_id}"): {A, O},
    ("POST", "/api/v1/events/{event_id}/rooms/{room_id}/timer"): {A, O},
    ("GET", "/api/v1/events/{event_id}/notices"): EVERYONE,
    ("POST", "/api/v1/events/{event_id}/notices"): {A, O},
    ("GET", "/api/v1/events/{event_id}/draws"): {A, O, S},
    ("POST", "/api/v1/events/{event_id}/draws"): {A, O},
    ("GET", "/api/v1/events/{event_id}/draws/export"): {A, O},
    ("POST", "/api/v1/events/{event_id}/draws/{draw_id}/confirm"): {A, O},
    ("POST", "/api/v1/events/{event_id}/draws/{draw_id}/redraw"): {A, O},
    ("GET", "/api/v1/events/{event_id}/draws/{draw_id}/audit"): {A, O},
    ("GET", "/api/v1/events/{event_id}/resources"): EVERYONE,
    ("POST", "/api/v1/events/{event_id}/resources"): {A, O},
    ("PATCH", "/api/v1/events/{event_id}/resources/{resource_id}"): {A, O},
    ("DELETE", "/api/v1/events/{event_id}/resources/{resource_id}"): {A, O},
    ("POST", "/api/v1/events/{event_id}/resources/{resource_id}/status"): EVERYONE,
    ("GET", "/api/v1/events/{event_id}/resources/{resource_id}/status-history"): EVERYONE,
    ("GET", "/api/v1/events/{event_id}/resources/{resource_id}/bookings.ics"): EVERYONE,
    ("GET", "/api/v1/events/{event_id}/reservations"): EVERYONE,
    ("POST", "/api/v1/events/{event_id}/reservations"): {A, O, S},
    ("GET", "/api/v1/events/{event_id}/reservations.ics"): EVERYONE,
    ("POST", "/api/v1/events/{event_id}/reservations/{reservation_id}/approve"): {A, O},
    ("POST", "/api/v1/events/{event_id}/reservations/{reservation_id}/reject"): {A, O},
    ("POST", "/api/v1/events/{event_id}/reservations/{reservation_id}/cancel"): {A, O, S},
    ("POST", "/api/v1/events/{event_id}/reservations/{reservation_id}/checkin"): {A, O, S},
    ("POST", "/api/v1/events/{event_id}/reservations/{reservation_id}/complete"): {A, O, S},
    ("POST", "/api/v1/commands"): {A, O, S},
    ("GET", "/api/v1/events/{event_id}/operations"): {A, O, T},
    ("GET", "/api/v1/events/{event_id}/desks/{station_id}/history"): {A, O, T},
    ("GET", "/api/v1/sync"): {A, O, S},
    ("GET", "/health"): EVERYONE,
    ("GET", "/api/v1/time"): EVERYONE,  # the server's clock: public, like /health
}
# Endpoints whose answer does not depend on an event: excluded from the cross-event walk.
NOT_EVENT_SCOPED = {k for k in MATRIX if "{event_id}" not in k[1] and k[1] not in ("/api/v1/commands", "/api/v1/sync")}
PW = "role-password-1"


@pytest.fixture(scope="module")
def world(backend, tmp_path_factory):
    with server_database(backend, tmp_path_factory.mktemp("rbac")) as url:
        yield from _world(LiveServer(database_url=url).start())


def _world(srv: LiveServer):
    admin = Api(srv.url)
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Admin desk")
    home = make_event(admin, "Home")
    away = make_event(admin, "Away")
    for role in (O, S, T):
        add_user(admin, f"{role}@rbac.example", role, home["id"], PW)
    # A desk whose tokens the revoke endpoint may kill without signing the test's admin out.
    victim = Api(srv.url)
    victim.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Victim desk")
    victim.close()
    admin.victim_station = victim.station_id
    yield srv, admin, home, away
    admin.close()
    srv.stop()


def test_matrix_covers_every_route():
    from focusdesk.server.app import create_app

    paths = create_app().openapi()["paths"]
    served = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert served == set(MATRIX)


def _login(srv, role: str) -> Api:
    api = Api(srv.url)
    if role == A:
        api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk=f"{role} desk")
    else:
        api.login(f"{role}@rbac.example", PW, desk=f"{role} desk")
    return api


def _call(api: Api, admin: Api, method: str, template: str, event_id: int, role: str):
    """Make a well-formed call to the endpoint so that only permission can refuse it."""
    attendee = add_attendees(admin, event_id, [{"name": "Target", "email": f"t-{uuid.uuid4().hex[:8]}@example.org"}])[0]
    path = (
        template.replace("{event_id}", str(event_id))
        .replace("{attendee_id}", attendee["id"])
        .replace("{station_id}", admin.victim_station)
    )
    if "{room_id}" in template:
        room = admin.post(f"/api/v1/events/{event_id}/rooms", json={"name": f"Room {uuid.uuid4().hex[:8]}"})
        path = path.replace("{room_id}", room.json()["id"])
    resource = None
    if "{resource_id}" in template or "{reservation_id}" in template or template.endswith("/reservations"):
        gated = template.endswith(("/approve", "/reject"))
        resource = admin.post(
            f"/api/v1/events/{event_id}/resources",
            json={"kind": "device", "name": f"Device {uuid.uuid4().hex[:8]}", "needs_approval": gated},
        ).json()
        path = path.replace("{resource_id}", resource["id"])
    if "{reservation_id}" in template:
        # A booking in the state the verb needs: pending to decide, approved to cancel or check in,
        # checked in to complete. It starts in five minutes, inside the check-in window.
        soon = time.time() + 300
        made = admin.post(
            f"/api/v1/events/{event_id}/reservations",
            json={
                "resource_id": resource["id"],
                "holder_name": "Holder",
                "start": _iso(soon),
                "end": _iso(soon + 1800),
            },
        ).json()["reservations"][0]
        if template.endswith("/complete"):
            admin.post(f"/api/v1/events/{event_id}/reservations/{made['id']}/checkin")
        path = path.replace("{reservation_id}", made["id"])
    if "{draw_id}" in template:
        draw = admin.post(f"/api/v1/events/{event_id}/draws", json={"prize": "Mug", "checked_in_only": False})
        path = path.replace("{draw_id}", draw.json()["id"])
    bodies = {
        "/api/v1/auth/login": {
            "email": ADMIN_EMAIL if role == A else f"{role}@rbac.example",
            "password": ADMIN_PASSWORD if role == A else PW,
        },
        "/api/v1/users": {
            "email": f"u-{uuid.uuid4().hex[:8]}@example.org",
            "password": "password-123",
            "grants": [{"role": "staff", "event_id": event_id}],
        },
        "/api/v1/events": {"name": "New", "starts_on": "2026-12-01", "ends_on": "2026-12-02", "timezone": "UTC"},
        "/api/v1/events/{event_id}/rooms": {"name": f"Room {uuid.uuid4().hex[:8]}"},
        "/api/v1/events/{event_id}/rooms/{room_id}/timer": {"op": "start"},
        "/api/v1/events/{event_id}/notices": {"body": "Hello"},
        "/api/v1/events/{event_id}/draws": {"prize": "Mug", "checked_in_only": False},
    }
    if template == "/api/v1/events/{event_id}/resources":
        bodies[template] = {"kind": "room", "name": f"Resource {uuid.uuid4().hex[:8]}"}
    if template.endswith("/status"):
        bodies[template] = {"status": "maintenance", "note": "checking"}
    if template.endswith("/reservations") and method == "POST":
        start = time.time() + 3600
        bodies[template] = {
            "resource_id": resource["id"],
            "holder_name": "H",
            "start": _iso(start),
            "end": _iso(start + 900),
        }
    if template.endswith("/reservations.ics"):
        return api.get(path, params={"holder": "Holder"})
    if method == "GET" and template == "/api/v1/sync":
        return api.get(path, params={"scope": f"event:{event_id}"})
    if template == "/api/v1/commands":
        return api.send({"type": "checkin", "args": {"event_id": event_id, "attendee_id": attendee["id"]}})
    if template.endswith("/import"):
        return api.post(path, content=f"name,email\nImported,i-{uuid.uuid4().hex[:8]}@example.org\n".encode())
    if method == "PATCH":
        return api.patch(path, json={"name": f"Renamed {uuid.uuid4().hex[:8]}"})
    if method == "DELETE":
        return api.delete(path)
    if method == "POST" and template == "/api/v1/events/{event_id}/attendees":
        return api.post(path, json={"name": "Added"})
    if method == "POST":
        return api.post(path, json=bodies.get(template, {}))
    return api.get(path)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _denied(template: str, response) -> bool:
    if template == "/api/v1/commands":
        assert response.status_code == 200, response.text
        return response.json()["results"][0].get("code") == "forbidden"
    assert response.status_code < 500, response.text
    return response.status_code == 403


@pytest.mark.parametrize("role", [A, O, S, T])
@pytest.mark.parametrize(("method", "template"), sorted(MATRIX), ids=lambda v: str(v))
def test_role_at_its_own_event(world, role, method, template):
    srv, admin, home, _away = world
    api = _login(srv, role)
    try:
        response = _call(api, admin, method, template, home["id"], role)
        allowed = role in MATRIX[(method, template)]
        assert _denied(template, response) is (not allowed), (
            f"{role} {method} {template}: {response.status_code} {response.text}"
        )
        if allowed and template != "/api/v1/commands":
            assert response.status_code in (200, 201, 204), response.text
    finally:
        api.close()


@pytest.mark.parametrize("role", [O, S, T])
@pytest.mark.parametrize(
    ("method", "template"), sorted(k for k in MATRIX if k not in NOT_EVENT_SCOPED), ids=lambda v: str(v)
)
def test_role_at_another_event_is_denied(world, role, method, template):
    srv, admin, _home, away = world
    api = _login(srv, role)
    try:
        response = _call(api, admin, method, template, away["id"], role)
        assert _denied(template, response), (
            f"{role} {method} {template} at another event: {response.status_code} {response.text}"
        )
    finally:
        api.close()


def test_event_list_shows_only_events_with_a_role(world):
    srv, _admin, home, _away = world
    api = _login(srv, S)
    try:
        assert [e["id"] for e in api.get("/api/v1/events").json()] == [home["id"]]
    finally:
        api.close()


def test_no_token_is_401_everywhere(world):
    srv, _admin, home, _away = world
    anon = Api(srv.url)
    try:
        for method, template in MATRIX:
            if template in ("/api/v1/auth/login", "/health", "/api/v1/time"):
                continue
            path = (
                template.replace("{event_id}", str(home["id"]))
                .replace("{attendee_id}", "abcdefgh1")
                .replace("{station_id}", "abcdefgh1")
                .replace("{room_id}", "abcdefgh1")
                .replace("{draw_id}", "abcdefgh1")
            )
            r = anon.http.request(method, path, params={"scope": f"event:{home['id']}"} if "sync" in path else None)
            assert r.status_code == 401, f"{method} {path}: {r.status_code}"
            assert r.json()["code"] == "not_authenticated"
            assert r.headers["www-authenticate"] == "Bearer"
    finally:
        anon.close()
