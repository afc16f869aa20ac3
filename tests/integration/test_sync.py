"""`GET /api/v1/sync`: a delta when continuity is provable, else a snapshot read in one transaction."""

from __future__ import annotations

from tests.support import Api, add_attendees, make_event


def sync(api: Api, event_id: int, **params):
    r = api.get("/api/v1/sync", params={"scope": f"event:{event_id}", **params})
    assert r.status_code == 200, r.text
    return r.json()


def apply(state: dict, payload: dict) -> dict:
    """A minimal replica: what a desk does with sub_ok payloads."""
    if payload["mode"] == "snapshot":
        return {
            "epoch": payload["epoch"],
            "seq": payload["seq"],
            "attendees": {a["id"]: a for a in payload["state"]["attendees"]},
        }
    for change in payload["changes"]:
        assert change["seq"] == state["seq"] + 1, "delta must be contiguous"
        state["seq"] = change["seq"]
        if change["kind"] in ("attendee.upserted", "checkin.recorded"):
            a = change["data"]["attendee"]
            state["attendees"][a["id"]] = a
        elif change["kind"] == "attendee.deleted":
            state["attendees"].pop(change["data"]["id"], None)
    return state


def test_first_sync_is_a_snapshot_then_deltas_follow(admin):
    event = make_event(admin)
    people = add_attendees(admin, event["id"], [{"name": f"P{i}"} for i in range(3)])
    first = sync(admin, event["id"])
    assert first["mode"] == "snapshot"
    assert first["seq"] == first["head"] == 4  # event created + 3 attendees
    assert {a["name"] for a in first["state"]["attendees"]} == {"P0", "P1", "P2"}
    replica = apply({}, first)

    admin.patch(f"/api/v1/events/{event['id']}/attendees/{people[0]['id']}", json={"company": "Acme"})
    admin.delete(f"/api/v1/events/{event['id']}/attendees/{people[1]['id']}")
    delta = sync(admin, event["id"], epoch=replica["epoch"], since=replica["seq"])
    assert delta["mode"] == "delta"
    assert [c["kind"] for c in delta["changes"]] == ["attendee.upserted", "attendee.deleted"]
    replica = apply(replica, delta)
    fresh = apply({}, sync(admin, event["id"]))
    assert replica == fresh


def test_wrong_epoch_or_since_past_head_gets_a_snapshot(admin):
    event = make_event(admin)
    head = sync(admin, event["id"])
    assert sync(admin, event["id"], epoch="0000000000000000", since=head["seq"])["mode"] == "snapshot"
    assert sync(admin, event["id"], epoch=head["epoch"], since=head["seq"] + 10)["mode"] == "snapshot"
    caught_up = sync(admin, event["id"], epoch=head["epoch"], since=head["seq"])
    assert caught_up["mode"] == "delta" and caught_up["changes"] == [] and caught_up["more"] is False


def test_large_deltas_come_in_pages(admin):
    event = make_event(admin)
    start = sync(admin, event["id"])
    add_attendees(admin, event["id"], [{"name": f"Q{i}"} for i in range(7)])
    seen, since, pages = [], start["seq"], 0
    while True:
        page = sync(admin, event["id"], epoch=start["epoch"], since=since, limit=3)
        pages += 1
        seen += [c["seq"] for c in page["changes"]]
        if not page["more"]:
            break
        since = page["changes"][-1]["seq"]
    assert seen == list(range(start["seq"] + 1, start["seq"] + 8))
    assert pages == 3


def test_unknown_scope_is_404(admin):
    r = admin.get("/api/v1/sync", params={"scope": "event:999"})
    assert r.status_code in (403, 404)
    r = admin.get("/api/v1/sync", params={"scope": "room:1"})
    assert r.status_code == 404
    assert "event:<id>" in r.json()["message"]
