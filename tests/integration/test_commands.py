"""Check-ins as exactly-once commands, against a real server on loopback."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from focusdesk.server.store.changelog import read_changes
from tests.support import Api, add_attendees, add_user, make_event

STAFF_PW = "staff-password-1"


@pytest.fixture
def event(admin):
    return make_event(admin)


@pytest.fixture
def people(admin, event):
    return add_attendees(
        admin,
        event["id"],
        [
            {"name": "Zoë Ærøskøbing", "email": "zoe@example.org", "ticket_type": "VIP"},
            {"name": "김민준", "email": "minjun@example.org"},
            {"name": "Ada Lovelace", "email": "ada@example.org", "company": "Analytical"},
        ],
    )


def desk(server, admin, event, name: str) -> Api:
    email = f"{name.lower().replace(' ', '')}@test.example"
    add_user(admin, email, "staff", event["id"], STAFF_PW)
    api = Api(server.url)
    api.login(email, STAFF_PW, desk=name)
    return api


def iso(dt: datetime) -> str:
    return dt.isoformat()


def test_checkin_applies_once_and_counts_move(server, admin, event, people):
    d = desk(server, admin, event, "Desk 1")
    result = d.checkin(event["id"], people[0]["id"])
    assert result["status"] == "applied"
    assert result["attendee"]["checked_in"] is True
    assert result["attendee"]["checked_in_station"] == "Desk 1"
    assert "checked in" in result["message"]

    counts = admin.get(f"/api/v1/events/{event['id']}/counts").json()
    assert counts["checked_in"] == 1
    assert counts["registered"] == 3
    assert counts["by_ticket_type"]["VIP"] == {"registered": 1, "checked_in": 1}


def test_resent_command_is_answered_from_the_store_with_no_second_effect(server, admin, event, people):
    d = desk(server, admin, event, "Desk 1")
    batch = [{"cmd_seq": 1, "type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[1]["id"]}}]
    first = d.post("/api/v1/commands", json={"commands": batch})
    again = d.post("/api/v1/commands", json={"commands": batch})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    detail = admin.get(f"/api/v1/events/{event['id']}/attendees/{people[1]['id']}").json()
    assert detail["checkin_count"] == 1
    assert len(detail["checkins"]) == 1


def test_a_gap_is_answered_resend_from(server, admin, event, people):
    d = desk(server, admin, event, "Desk 1")
    d.checkin(event["id"], people[0]["id"])  # cmd 1
    r = d.post(
        "/api/v1/commands",
        json={
            "commands": [
                {"cmd_seq": 4, "type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[1]["id"]}}
            ]
        },
    )
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "resend_from"
    assert body["resend_from"] == 2
    assert body["last_cmd_seq"] == 1
    # Nothing of the refused batch was applied.
    assert admin.get(f"/api/v1/events/{event['id']}/attendees/{people[1]['id']}").json()["checked_in"] is False


def test_a_batch_overlapping_the_watermark_replays_then_applies(server, admin, event, people):
    d = desk(server, admin, event, "Desk 1")
    one = d.checkin(event["id"], people[0]["id"])
    batch = [
        {"cmd_seq": 1, "type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[0]["id"]}},
        {"cmd_seq": 2, "type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[1]["id"]}},
    ]
    r = d.post("/api/v1/commands", json={"commands": batch})
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0] == one
    assert results[1]["status"] == "applied"
    assert r.json()["last_cmd_seq"] == 2


def test_refusal_is_final_advances_the_watermark_and_replays_identically(server, admin, event, people):
    d = desk(server, admin, event, "Desk 1")
    r = d.send({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": "no-such-person-123"}})
    res = r.json()["results"][0]
    assert res["status"] == "rejected"
    assert res["code"] == "unknown_attendee"
    assert r.json()["last_cmd_seq"] == 1
    replay = d.post(
        "/api/v1/commands",
        json={
            "commands": [
                {
                    "cmd_seq": 1,
                    "type": "checkin",
                    "args": {"event_id": event["id"], "attendee_id": "no-such-person-123"},
                }
            ]
        },
    )
    assert replay.json()["results"][0] == res
    # The next command goes through: a refusal never blocks the queue.
    assert d.checkin(event["id"], people[0]["id"])["status"] == "applied"


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"type": "teleport", "args": {}}, "unknown_command"),
        ({"type": "checkin", "args": {"event_id": "one", "attendee_id": "x"}}, "invalid_input"),
        ({"type": "checkin", "args": {"event_id": 1, "attendee_id": "abcdefgh", "extra": 1}}, "invalid_input"),
        ({"type": "walkin", "args": {"event_id": 1, "attendee": {"name": ""}}}, "invalid_input"),
    ],
)
def test_malformed_commands_are_rejected_with_a_code(server, admin, event, command, code):
    d = desk(server, admin, event, "Desk 1")
    res = d.send(command).json()["results"][0]
    assert res["status"] == "rejected"
    assert res["code"] == code
    assert res["message"]


def test_cross_event_checkin_is_refused(server, admin, event, people):
    other = make_event(admin, "Other Conf")
    d = desk(server, admin, event, "Desk 1")
    res = d.send({"type": "checkin", "args": {"event_id": other["id"], "attendee_id": people[0]["id"]}}).json()[
        "results"
    ][0]
    assert res["code"] == "forbidden"
    # The attendee id of this event used with the wrong event id is unknown there, not checked in.
    admin_desk = Api(server.url)
    admin_desk.login("admin@test.example", "admin-password-1", desk="Admin desk")
    res = admin_desk.send(
        {"type": "checkin", "args": {"event_id": other["id"], "attendee_id": people[0]["id"]}}
    ).json()["results"][0]
    assert res["code"] == "unknown_attendee"


def test_second_checkin_is_recorded_and_flagged_with_first_time_and_desk(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    b = desk(server, admin, event, "Desk 2")
    first_at = datetime(2026, 11, 23, 8, 14, tzinfo=UTC)  # 09:14 in Berlin
    a.checkin(event["id"], people[0]["id"], device_time=iso(first_at))
    res = b.checkin(event["id"], people[0]["id"], device_time=iso(first_at + timedelta(minutes=3)))
    assert res["status"] == "applied"
    assert res["already_checked_in"]["station"] == "Desk 1"
    assert res["message"].endswith("already checked in at 09:14 at Desk 1")
    detail = admin.get(f"/api/v1/events/{event['id']}/attendees/{people[0]['id']}").json()
    assert detail["checkin_count"] == 2
    assert detail["checked_in_station"] == "Desk 1"


def test_checkin_beats_an_undo_within_5s_on_another_desk(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    b = desk(server, admin, event, "Desk 2")
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    a.checkin(event["id"], people[1]["id"], device_time=iso(t0))
    b.checkin(event["id"], people[1]["id"], device_time=iso(t0 + timedelta(seconds=1)))
    undo = a.undo(event["id"], people[1]["id"], device_time=iso(t0 + timedelta(seconds=4)))
    assert undo["lost"] is True
    assert undo["message"].startswith("changed on another desk")
    assert undo["attendee"]["checked_in"] is True


def test_undo_on_the_same_desk_applies(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    a.checkin(event["id"], people[1]["id"], device_time=iso(t0))
    undo = a.undo(event["id"], people[1]["id"], device_time=iso(t0 + timedelta(seconds=2)))
    assert undo["lost"] is False
    assert undo["attendee"]["checked_in"] is False
    assert admin.get(f"/api/v1/events/{event['id']}/counts").json()["checked_in"] == 0


def test_late_arriving_offline_facts_are_ordered_by_device_time(server, admin, event, people):
    """Desk 2 was offline: its earlier check-in arrives after Desk 1's later undo; the undo still wins."""
    a = desk(server, admin, event, "Desk 1")
    b = desk(server, admin, event, "Desk 2")
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    a.checkin(event["id"], people[2]["id"], device_time=iso(t0))
    a.undo(event["id"], people[2]["id"], device_time=iso(t0 + timedelta(minutes=10)))
    late = b.checkin(event["id"], people[2]["id"], device_time=iso(t0 + timedelta(minutes=2)))
    assert late["lost"] is True
    assert late["message"].startswith("changed on another desk")
    assert late["attendee"]["checked_in"] is False


def test_device_time_far_in_the_future_is_clamped(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    future = datetime.now(UTC) + timedelta(hours=3)
    res = a.checkin(event["id"], people[0]["id"], device_time=iso(future))
    stamped = datetime.fromisoformat(res["attendee"]["checked_in_at"].replace("Z", "+00:00"))
    assert stamped < datetime.now(UTC) + timedelta(seconds=61)


def test_walkin_registers_checks_in_and_refuses_a_known_email(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    r = a.send(
        {
            "type": "walkin",
            "args": {
                "event_id": event["id"],
                "attendee": {
                    "id": "walkin-0001-abcd",
                    "name": "Łukasz Nowak",
                    "email": "LUKASZ@example.org",
                    "company": "Nowak",
                },
            },
        }
    ).json()["results"][0]
    assert r["status"] == "applied"
    assert r["attendee"]["id"] == "walkin-0001-abcd"
    assert r["attendee"]["checked_in"] is True
    assert r["attendee"]["email"] == "lukasz@example.org"
    assert r["attendee"]["registration_number"] == 4
    assert r["message"] == "Łukasz Nowak registered as #4 and checked in"
    # The walk-in can be undone by id in a later command (ids are minted by the desk, offline).
    assert a.undo(event["id"], "walkin-0001-abcd")["attendee"]["checked_in"] is False

    dup = a.send(
        {
            "type": "walkin",
            "args": {"event_id": event["id"], "attendee": {"name": "Zoe again", "email": "zoe@example.org"}},
        }
    ).json()["results"][0]
    assert dup["status"] == "rejected"
    assert dup["code"] == "already_registered"
    assert "Zoë Ærøskøbing (#1)" in dup["message"]


def test_cancelled_registration_is_refused_at_the_desk(server, admin, event, people):
    r = admin.patch(f"/api/v1/events/{event['id']}/attendees/{people[0]['id']}", json={"status": "cancelled"})
    assert r.status_code == 200
    a = desk(server, admin, event, "Desk 1")
    res = a.send({"type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[0]["id"]}}).json()[
        "results"
    ][0]
    assert res["code"] == "registration_cancelled"


def test_a_token_without_a_desk_cannot_send_commands(server, admin, event, people):
    r = admin.post(
        "/api/v1/commands",
        json={
            "commands": [
                {"cmd_seq": 1, "type": "checkin", "args": {"event_id": event["id"], "attendee_id": people[0]["id"]}}
            ]
        },
    )
    assert r.status_code == 400
    assert r.json()["code"] == "not_a_desk"


def test_batch_must_be_consecutive(server, admin, event, people):
    a = desk(server, admin, event, "Desk 1")
    args = {"event_id": event["id"], "attendee_id": people[0]["id"]}
    r = a.post(
        "/api/v1/commands",
        json={
            "commands": [
                {"cmd_seq": 1, "type": "checkin", "args": args},
                {"cmd_seq": 3, "type": "checkin", "args": args},
            ]
        },
    )
    assert r.status_code == 422
    assert "consecutive" in r.json()["message"]


def test_many_desks_at_once_lose_nothing_and_the_log_is_gap_free(server, admin, event):
    people = add_attendees(admin, event["id"], [{"name": f"Person {i}"} for i in range(120)])
    desks = [desk(server, admin, event, f"Desk {i}") for i in range(6)]
    errors: list[str] = []

    def work(i: int, d: Api) -> None:
        mine = people[i :: len(desks)]
        for k in range(0, len(mine), 5):
            r = d.send(
                *[
                    {"type": "checkin", "args": {"event_id": event["id"], "attendee_id": p["id"]}}
                    for p in mine[k : k + 5]
                ]
            )
            if r.status_code != 200 or any(x["status"] != "applied" for x in r.json()["results"]):
                errors.append(r.text)

    threads = [threading.Thread(target=work, args=(i, d)) for i, d in enumerate(desks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert admin.get(f"/api/v1/events/{event['id']}/counts").json()["checked_in"] == 120

    changes = server.state.db.read_sync(lambda c: read_changes(c, f"event:{event['id']}", 0, 10_000))
    seqs = [c.seq for c in changes]
    assert seqs == list(range(1, len(seqs) + 1))
    checked = {c.entity_id for c in changes if c.kind == "checkin.recorded"}
    assert checked == {p["id"] for p in people}
