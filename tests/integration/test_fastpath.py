"""The commands fast path answers exactly as the FastAPI route does, and hands everything unusual to it."""

from __future__ import annotations

import json

from focusdesk.server.fastpath import CommandsFastPath
from tests.support import Api, add_attendees, add_user, make_event


def _desk(server, admin, event_id: int) -> Api:
    add_user(admin, "fast@test.example", "staff", event_id, "staff-password-1")
    d = Api(server.url)
    d.login("fast@test.example", "staff-password-1", desk="Fast desk")
    return d


def test_cached_desk_requests_take_the_fast_path_with_the_same_answers(server, admin):
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(4)])
    d = _desk(server, admin, event["id"])
    fast = server.middleware(CommandsFastPath)
    assert fast is not None

    server.state.tokens.clear()  # first request: token unknown to the cache, so the route answers
    slow_answer = d.checkin(event["id"], people[0]["id"])
    assert fast.served == 0
    fast_answer = d.checkin(event["id"], people[1]["id"])  # the route cached the token
    assert fast.served == 1
    assert set(slow_answer) == set(fast_answer)
    assert set(slow_answer["attendee"]) == set(fast_answer["attendee"])

    # A replay is answered from the store by either path, byte for byte the same result.
    d.next_seq -= 1
    again = d.checkin(event["id"], people[1]["id"])
    assert again == fast_answer
    assert fast.served == 2


def test_bad_requests_are_handed_to_the_route_and_get_its_errors(server, admin):
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": "Ann"}])
    d = _desk(server, admin, event["id"])
    d.checkin(event["id"], people[0]["id"])  # caches the token
    fast = server.middleware(CommandsFastPath)
    served = fast.served

    r = d.post("/api/v1/commands", content=b'{"commands": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = d.post("/api/v1/commands", json={"commands": [{"cmd_seq": 2, "type": "checkin", "args": {}, "extra": 1}]})
    assert r.status_code == 422 and any(e["field"].endswith("extra") for e in r.json()["errors"])

    def chunks():
        yield b'{"commands":[{"cmd_seq":2,"type":"checkin",'
        yield json.dumps({"args": {"event_id": event["id"], "attendee_id": people[0]["id"]}}).encode()[1:-1] + b"}]}"

    r = d.post("/api/v1/commands", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["status"] == "applied"
    assert fast.served == served  # none of these went the fast way


def test_a_cached_token_that_is_not_a_desk_still_gets_not_a_desk(server, admin):
    admin.get("/api/v1/events")  # admin's token is now cached
    r = admin.post("/api/v1/commands", json={"commands": [{"cmd_seq": 1, "type": "checkin", "args": {}}]})
    assert r.status_code == 400 and r.json()["code"] == "not_a_desk"


def test_desk_check_ins_are_written_the_two_statement_way_on_postgresql(server, admin, backend):
    """On PostgreSQL a group of check-ins goes store/checkins_pg.py's way; the answers are the same."""
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(3)])
    d = _desk(server, admin, event["id"])
    answers = [d.checkin(event["id"], p["id"]) for p in people] + [d.checkin(event["id"], people[0]["id"])]
    assert [a["status"] for a in answers] == ["applied"] * 4
    assert answers[-1]["already_checked_in"]["station"] == "Fast desk"
    assert answers[-1]["attendee"]["checkin_count"] == 2
    stats = server.state.db.writer_stats
    if backend == "postgresql":
        assert stats["fast_groups"] >= 1 and stats["units"] >= 4
    else:  # SQLite's single writer has no such way
        assert "fast_groups" not in stats
