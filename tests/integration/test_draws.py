"""Prize draws through the real server: only the eligible win, the seed reproduces the result, confirm
and redraw, results exported, desks see them."""

from __future__ import annotations

import asyncio
import csv
import io

import pytest

from focusdesk.domain import draws as rule
from focusdesk.domain.errors import DomainError
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, add_user, make_event

PW = "draw-password-1"


@pytest.fixture
def venue(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="Admin desk")
    event = make_event(api)
    people = add_attendees(api, event["id"], [{"name": f"Person {i:02d}"} for i in range(30)])
    checked_in = {p["id"] for p in people[:12]}
    for attendee_id in sorted(checked_in):
        assert api.checkin(event["id"], attendee_id)["status"] == "applied"
    cancelled = people[0]["id"]  # checked in, then cancelled: never wins
    r = api.patch(f"/api/v1/events/{event['id']}/attendees/{cancelled}", json={"status": "cancelled"})
    assert r.status_code == 200, r.text
    add_user(api, "staff@draws.example", "staff", event["id"], PW)
    yield server, api, event, people, checked_in - {cancelled}
    api.close()


def test_draws_pick_only_the_eligible_and_can_be_audited(venue):
    _server, api, event, people, eligible = venue
    base = f"/api/v1/events/{event['id']}/draws"
    won: set[str] = set()
    for round_no in range(5):
        r = api.post(base, json={"prize": f"Prize {round_no}", "count": 2})
        assert r.status_code == 201, r.text
        draw = r.json()
        assert draw["status"] == "proposed" and draw["pool_size"] == len(eligible) - len(won)
        ids = [w["attendee_id"] for w in draw["winners"]]
        assert len(set(ids)) == 2 and set(ids) <= eligible - won  # checked in, not cancelled, not a winner yet
        assert all(w["name"].startswith("Person ") and w["registration_number"] for w in draw["winners"])
        audit = api.get(f"{base}/{draw['id']}/audit").json()
        assert audit["reproducible"] and audit["recomputed_winners"] == ids
        assert rule.draw(audit["pool"], 2, draw["seed"]) == ids  # anyone can re-run it
        assert api.post(f"{base}/{draw['id']}/confirm").json()["status"] == "confirmed"
        won |= set(ids)
    # 11 eligible, 10 won: one left, so two more cannot be drawn.
    r = api.post(base, json={"prize": "Last", "count": 2})
    assert r.status_code == 409 and r.json()["code"] == "not_enough_people"
    assert "Only 1 people can win" in r.json()["message"]
    # Among everyone (not only the checked in) there are more.
    r = api.post(base, json={"prize": "Last", "count": 2, "checked_in_only": False})
    assert r.status_code == 201
    assert not {w["attendee_id"] for w in r.json()["winners"]} & won
    assert people[0]["id"] not in {w["attendee_id"] for w in r.json()["winners"]}


def test_redraw_discards_and_draws_again_with_a_new_seed(venue):
    _server, api, event, _people, eligible = venue
    base = f"/api/v1/events/{event['id']}/draws"
    first = api.post(base, json={"prize": "Headphones"}).json()
    again = api.post(f"{base}/{first['id']}/redraw")
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["seed"] != first["seed"] and second["prize"] == "Headphones"
    # The discarded winner is back in the pool: the redraw drew from everyone eligible.
    assert second["pool_size"] == len(eligible)
    listed = {d["id"]: d["status"] for d in api.get(base).json()}
    assert listed == {first["id"]: "discarded", second["id"]: "proposed"}
    r = api.post(f"{base}/{first['id']}/confirm")
    assert r.status_code == 409 and r.json()["code"] == "not_proposed"
    assert api.post(f"{base}/{second['id']}/confirm").status_code == 200
    r = api.post(f"{base}/{second['id']}/redraw")
    assert r.status_code == 409 and "only a proposed draw" in r.json()["message"]

    exported = api.get(f"{base}/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["draw_id"], r["status"], r["place"]) for r in rows] == [(second["id"], "confirmed", "1")]
    assert rows[0]["seed"] == second["seed"] and rows[0]["name"] == second["winners"][0]["name"]


def test_desks_see_draws_and_only_organizers_run_them(venue, tmp_path):
    server, _api, event, _people, eligible = venue

    async def go():
        organizer = await sign_in_desk(server.url, tmp_path, event["id"], "Stage laptop")
        staff = await sign_in_desk(server.url, tmp_path, event["id"], "Door", email="staff@draws.example", password=PW)
        await organizer.sync.sync_once()
        from focusdesk.station.draws import Draws

        draws = Draws(organizer.station, organizer.api)
        draw = await draws.run("T-shirt", count=3)
        assert draw.status == "proposed" and len(draw.winners) == 3 and draw.pool_size == len(eligible)
        confirmed = await draws.confirm(draw.id)
        assert confirmed.status == "confirmed" and confirmed.decided_at is not None

        await staff.sync.sync_once()
        seen = Draws(staff.station, staff.api).list()
        assert [(d.id, d.status, d.winners) for d in seen] == [(draw.id, "confirmed", draw.winners)]
        with pytest.raises(DomainError, match="may not run prize draws"):
            await Draws(staff.station, staff.api).run("Mug")
        exported = Draws(staff.station, staff.api).export_csv()
        assert exported.count("\n") == 4 and draw.seed in exported

        organizer.net.down = True
        with pytest.raises(DomainError, match="needs the server"):
            await draws.run("Mug")
        await organizer.close()
        await staff.close()

    asyncio.run(go())
