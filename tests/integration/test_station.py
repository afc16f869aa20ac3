"""The station engine against a real server: optimistic actions, the outbox, offline work, conflicts."""

from __future__ import annotations

import asyncio
import json

import pytest

from focusdesk.domain.errors import DomainError, ValidationFailed
from focusdesk.station.api import Transient
from focusdesk.station.outbox import STUCK_AFTER_ATTEMPTS
from tests.station_support import sign_in_desk
from tests.support import ADMIN_EMAIL, ADMIN_PASSWORD, Api, add_attendees, make_event


@pytest.fixture
def venue(server):
    api = Api(server.url)
    api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    event = make_event(api)
    people = add_attendees(
        api,
        event["id"],
        [
            {"name": "Anna Smith", "email": "anna@example.com", "company": "ACME"},
            {"name": "José Müller", "email": "jose@example.com"},
            {"name": "Kim Minjun", "email": "kim@example.com"},
        ],
    )
    yield server, api, event, people
    api.close()


def server_attendees(api: Api, event_id: int) -> dict[str, dict]:
    r = api.get("/api/v1/sync", params={"scope": f"event:{event_id}"})
    assert r.status_code == 200, r.text
    return {a["id"]: a for a in r.json()["state"]["attendees"]}


def replica_matches_server(desk, api: Api, event_id: int) -> None:
    truth = server_attendees(api, event_id)
    mine = {
        r["id"]: r
        for r in desk.station.db.conn.execute(
            "SELECT id, name, reg_no, checked_in, checkin_count, checked_in_station, local_only FROM attendees"
        )
    }
    assert set(mine) == set(truth)
    for attendee_id, a in truth.items():
        row = mine[attendee_id]
        got = (row["name"], row["reg_no"], bool(row["checked_in"]), row["checkin_count"], row["checked_in_station"])
        want = (a["name"], a["registration_number"], a["checked_in"], a["checkin_count"], a["checked_in_station"])
        assert got == want, attendee_id
        assert row["local_only"] == 0


def test_check_in_is_optimistic_then_confirmed(venue, tmp_path):
    server, api, event, people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        anna = people[0]["id"]
        result = desk.station.check_in(anna)
        assert result.attendee.checked_in and result.already_in is None
        assert result.message == "Anna Smith checked in"
        assert desk.station.status().queued == 1
        await desk.sync.sync_once()
        assert desk.station.status().queued == 0
        again = desk.station.check_in(anna)
        assert again.already_in is not None and again.already_in.station == "East"
        assert "already checked in at" in again.message and "East" in again.message
        await desk.sync.sync_once()
        undone = desk.station.undo(anna)
        assert not undone.attendee.checked_in
        await desk.sync.sync_once()
        replica_matches_server(desk, api, event["id"])
        history = desk.station.history(anna)
        assert [h.kind for h in history] == ["checkin", "checkin", "undo"] and all(h.confirmed for h in history)
        assert desk.station.attention() == []
        await desk.close()

    asyncio.run(go())


def test_two_offline_desks_converge_exactly_once_and_the_loser_is_told(venue, tmp_path):
    server, api, event, people = venue
    anna, jose, kim = (p["id"] for p in people)

    async def go():
        east = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        west = await sign_in_desk(server.url, tmp_path, event["id"], "West")
        for desk in (east, west):
            await desk.sync.sync_once()
            desk.net.down = True
        # Twenty minutes without Wi-Fi, compressed: both desks keep working, some on the same people.
        east.station.check_in(anna)
        west.station.check_in(anna)
        east.station.check_in(jose)
        west.station.check_in(kim)
        await asyncio.sleep(0.01)
        west.station.undo(kim)
        walkin = east.station.walk_in("Lee Walker", email="lee@example.com", company="Walk-in Co")
        assert walkin.attendee.pending and walkin.attendee.registration_number is None
        for desk in (east, west):
            with pytest.raises(Transient):
                await desk.sync.send_pending()
            assert desk.station.status().queued >= 2
        # The network returns; each desk sends twice (the first answer is lost after the server acted).
        for desk in (east, west):
            desk.net.down = False
            desk.net.lose_next = 1
            with pytest.raises(Transient):
                await desk.sync.send_pending()
            await desk.sync.sync_once()
        for desk in (east, west):
            await desk.sync.sync_once()
            replica_matches_server(desk, api, event["id"])
            assert desk.station.status().queued == 0
        truth = server_attendees(api, event["id"])
        assert truth[anna]["checkin_count"] == 2 and truth[anna]["checked_in"]
        assert truth[jose]["checkin_count"] == 1
        assert not truth[kim]["checked_in"]
        lee = east.station.get(walkin.attendee.id)
        assert lee is not None and not lee.pending and lee.registration_number == truth[lee.id]["registration_number"]
        # Exactly once: the server's facts are one per command.
        facts = api.get(f"/api/v1/events/{event['id']}/attendees/{anna}").json()["checkins"]
        assert len(facts) == 2
        # The desk whose check-in of Anna came second was not told "lost" (both stuck: she is in),
        # but is told she was already in when it did not know.
        second = west if facts[1]["station_name"] == "West" else east
        notices = [a for a in second.station.attention() if a.code == "already_checked_in"]
        assert len(notices) == 1 and "Anna Smith" in notices[0].message
        await east.close()
        await west.close()

    asyncio.run(go())


def test_a_rejected_command_needs_attention_and_is_not_retried(venue, tmp_path):
    server, api, event, people = venue
    kim = people[2]["id"]

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        desk.net.down = True
        result = desk.station.check_in(kim)
        assert result.attendee.checked_in
        # Meanwhile an organizer removes Kim.
        r = await asyncio.to_thread(api.delete, f"/api/v1/events/{event['id']}/attendees/{kim}")
        assert r.status_code == 204, r.text
        desk.net.down = False
        sent_before = desk.net.sent
        await desk.sync.sync_once()
        items = desk.station.attention()
        assert [(a.kind, a.code) for a in items] == [("rejected", "unknown_attendee")]
        assert "Check-in of Kim Minjun was refused" in items[0].message
        assert desk.station.get(kim) is None
        status = desk.station.status()
        assert status.queued == 0 and status.attention == 1
        # Not retried: further syncs send nothing.
        await desk.sync.send_pending()
        await desk.sync.send_pending()
        assert desk.net.sent == sent_before + 2  # the one command batch and the one /sync
        desk.station.dismiss(items[0].id)
        assert desk.station.status().attention == 0
        await desk.close()

    asyncio.run(go())


def test_a_refused_walk_in_is_removed_from_the_desk_and_explained(venue, tmp_path):
    server, api, event, _people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        desk.net.down = True
        result = desk.station.walk_in("Pat Late", email="pat@example.com")
        assert desk.station.search("pat late")[0].id == result.attendee.id
        # Someone registers the same address at the server first.
        add_attendees(api, event["id"], [{"name": "Pat Early", "email": "pat@example.com"}])
        desk.net.down = False
        await desk.sync.sync_once()
        assert desk.station.get(result.attendee.id) is None
        assert [a.name for a in desk.station.search("pat")] == ["Pat Early"]
        (item,) = desk.station.attention()
        assert item.code == "already_registered" and "Walk-in registration of Pat Late" in item.message
        replica_matches_server(desk, api, event["id"])
        await desk.close()

    asyncio.run(go())


def test_actions_refuse_bad_input_at_once_and_queue_nothing(venue, tmp_path):
    server, _api, event, people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        st = desk.station
        with pytest.raises(DomainError) as exc:
            st.check_in("no-such-person-id")
        assert exc.value.code == "unknown_attendee"
        with pytest.raises(DomainError) as exc:
            st.undo(people[0]["id"])
        assert exc.value.code == "not_checked_in"
        with pytest.raises(ValidationFailed) as bad:
            st.walk_in("", email="not-an-email")
        assert {p.field for p in bad.value.problems} == {"name", "email"}
        with pytest.raises(DomainError) as exc:
            st.walk_in("Anna Again", email="ANNA@example.com")
        assert exc.value.code == "already_registered" and "Anna Smith" in exc.value.message
        with pytest.raises(DomainError) as exc:
            st.check_in_by_qr("nobody-has-this-code")
        assert exc.value.code == "unknown_qr"
        assert st.status().queued == 0
        scanned = st.check_in_by_qr(people[1]["qr_secret"])
        assert scanned.attendee.name == "José Müller"
        undone = st.undo_last()
        assert undone.attendee.id == people[1]["id"] and not undone.attendee.checked_in
        with pytest.raises(DomainError):
            st.undo_last()
        await desk.close()

    asyncio.run(go())


def test_failed_sends_become_stuck_but_stay_queued_until_they_get_through(venue, tmp_path):
    server, api, event, people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        desk.net.down = True
        desk.station.check_in(people[0]["id"])
        for attempt in range(1, STUCK_AFTER_ATTEMPTS + 1):
            with pytest.raises(Transient):
                await desk.sync.send_pending()
            status = desk.station.status()
            assert status.queued == 1
            assert status.stuck == (1 if attempt >= STUCK_AFTER_ATTEMPTS else 0)
        assert "network is down" in (desk.station.status().problem or "")
        (stuck,) = desk.station.stuck_commands()
        assert stuck.type == "checkin" and stuck.attempts == STUCK_AFTER_ATTEMPTS
        assert stuck.label == people[0]["name"] and "network is down" in (stuck.last_error or "")
        desk.net.down = False
        await desk.sync.sync_once()
        status = desk.station.status()
        assert (status.queued, status.stuck) == (0, 0)
        assert server_attendees(api, event["id"])[people[0]["id"]]["checked_in"]
        await desk.close()

    asyncio.run(go())


def test_live_desks_see_each_other_and_a_crashed_desk_resends_what_it_queued(venue, tmp_path):
    server, api, event, people = venue
    anna, jose, _ = (p["id"] for p in people)

    async def go():
        east = await sign_in_desk(server.url, tmp_path, event["id"], "East", live=True)
        west = await sign_in_desk(server.url, tmp_path, event["id"], "West", live=True)
        for desk in (east, west):
            desk.sync.start()
        # Both desks hold the event before east acts (a desk checks in only people its replica knows).
        await wait_for(
            lambda: west.station.get(anna) is not None and east.station.get(anna) is not None,
            "both desks' first snapshot",
        )
        east.station.check_in(anna)
        await wait_for(lambda: west.station.get(anna).checked_in, "east's check-in to reach west")
        assert west.station.counts().checked_in == 1
        # West queues a check-in offline and crashes before sending it.
        west.net.down = True
        await west.sync.stop()
        west.station.check_in(jose)
        west = await west.reopen(live=True)
        assert west.station.status().queued == 1 and west.station.get(jose).checked_in
        west.sync.start()
        await wait_for(lambda: west.station.status().queued == 0, "the queued check-in to be sent")
        await wait_for(lambda: east.station.get(jose).checked_in, "west's check-in to reach east")
        await wait_for(lambda: east.station.cursor() == west.station.cursor(), "both desks at the same seq")
        assert west.station.status().connection == "online" and west.station.status().via == "live"
        assert west.station.clock.error_s is not None
        replica_matches_server(east, api, event["id"])
        replica_matches_server(west, api, event["id"])
        await east.close()
        await west.close()

    asyncio.run(go())


async def wait_for(condition, what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_stored_answers_keep_results_json(venue, tmp_path):
    server, _api, event, people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        seq = desk.station.check_in(people[0]["id"]).cmd_seq
        await desk.sync.sync_once()
        row = desk.station.db.conn.execute("SELECT state, result FROM outbox WHERE cmd_seq = ?", (seq,)).fetchone()
        assert row["state"] == "applied" and json.loads(row["result"])["status"] == "applied"
        await desk.close()

    asyncio.run(go())


def test_retry_after_is_honoured(venue, tmp_path):
    server, _api, event, people = venue

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East")
        await desk.sync.sync_once()
        desk.net.busy_next = 1
        desk.net.busy_retry_after = "0.6"
        desk.sync.start()  # backoff base is 10 ms here: only Retry-After can make it wait longer
        desk.station.check_in(people[0]["id"])
        await wait_for(lambda: desk.station.status().queued == 0, "the check-in to get through")
        first, second = desk.net.command_times[-2:]
        assert second - first >= 0.6
        await desk.close()

    asyncio.run(go())


def test_without_the_live_channel_the_desk_polls_and_still_sees_everything(venue, tmp_path):
    server, _api, event, people = venue

    def no_websockets(url):
        raise OSError("WebSockets are blocked on this network (test)")

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "East", live=True, connector=no_websockets)
        desk.sync.start()
        await wait_for(lambda: desk.station.get(people[0]["id"]) is not None, "a snapshot by polling")
        other = Api(server.url)
        other.login(ADMIN_EMAIL, ADMIN_PASSWORD, desk="West")
        await asyncio.to_thread(other.checkin, event["id"], people[1]["id"])
        await wait_for(lambda: desk.station.get(people[1]["id"]).checked_in, "west's check-in, by polling")
        status = desk.station.status()
        assert (status.connection, status.via) == ("online", "polling")
        assert status.clock_error_s is not None  # measured from GET /time round trips
        desk.net.down = True
        await wait_for(lambda: desk.station.status().connection == "offline", "the desk to notice")
        assert "network is down" in desk.station.status().problem
        other.close()
        await desk.close()

    asyncio.run(go())


def test_a_desk_with_a_wrong_clock_measures_its_offset_and_stamps_server_time(venue, tmp_path):
    server, api, event, people = venue
    import time as _time

    from focusdesk.station.clock import Clock

    async def go():
        desk = await sign_in_desk(server.url, tmp_path, event["id"], "Fast clock", live=True)
        desk.station.clock = Clock(wall=lambda: _time.time() + 300)  # five minutes ahead
        desk.sync.start()
        await wait_for(lambda: desk.station.clock.error_s is not None, "a clock sample")
        assert desk.station.clock.offset_s == pytest.approx(-300, abs=1)
        # The clock is measured from the welcome; the attendee list follows the subscription.
        await wait_for(lambda: desk.station.get(people[0]["id"]) is not None, "the attendee list")
        desk.station.check_in(people[0]["id"])
        await wait_for(lambda: desk.station.status().queued == 0, "the check-in to be sent")
        await desk.close()

    asyncio.run(go())
    fact = api.get(f"/api/v1/events/{event['id']}/attendees/{people[0]['id']}").json()["checkins"][0]
    from focusdesk.domain.timeutil import from_iso

    assert abs(from_iso(fact["at"]) - __import__("time").time()) < 30  # corrected, not five minutes ahead


def test_sign_in_keeps_the_token_out_of_plain_files_where_a_keyring_exists(venue, tmp_path):
    server, _api, _event, _people = venue
    import keyring

    from focusdesk.station.credentials import TokenStore
    from focusdesk.station.signin import sign_in
    from tests.unit.test_station_parts import MemoryKeyring

    before = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        store = TokenStore(tmp_path)
        signed = asyncio.run(
            sign_in(
                server.url,
                ADMIN_EMAIL,
                ADMIN_PASSWORD,
                station_id="desk-sign-in-1",
                station_name="North",
                store=store,
            )
        )
        assert signed.stored_in == "keyring" and signed.warning is None
        assert store.load(server.url, "desk-sign-in-1") == signed.token
        assert signed.last_cmd_seq == 0 and signed.station_name == "North"
        from focusdesk.station.api import Refused, SignedOutError

        with pytest.raises((SignedOutError, Refused)) as exc:
            asyncio.run(
                sign_in(server.url, ADMIN_EMAIL, "wrong", station_id="desk-sign-in-1", station_name="N", store=store)
            )
        assert exc.value.message
    finally:
        keyring.set_keyring(before)
