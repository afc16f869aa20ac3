"""A desk whose server was restored from a backup: what it re-sends, what it shows, what it says — on a
real station file, with the server's answers and snapshots played by the test."""

from __future__ import annotations

import logging

import pytest

from focusdesk.domain.timeutil import to_iso
from focusdesk.station import outbox
from focusdesk.station.db import StationDB
from focusdesk.station.desk import DeskConfig
from focusdesk.station.engine import Station

STATION = "desk-requeue-test"
EVENT = {
    "id": 1,
    "name": "Expo",
    "starts_on": "2026-11-24",
    "ends_on": "2026-11-24",
    "timezone": "UTC",
    "status": "open",
}


class Wall:
    def __init__(self, t: float = 1_795_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def person(attendee_id: str, name: str, *, checked_in: bool = False, at: float | None = None) -> dict:
    return {
        "id": attendee_id,
        "event_id": 1,
        "registration_number": int(attendee_id[1:]),
        "name": name,
        "email": None,
        "company": "",
        "ticket_type": "",
        "custom": {},
        "status": "registered",
        "qr_secret": f"qr-{attendee_id}",
        "checked_in": checked_in,
        "checked_in_at": to_iso(at) if checked_in else None,
        "checked_in_station": "Desk" if checked_in else None,
        "checkin_count": 1 if checked_in else 0,
        "updated_at": None,
    }


def fact(attendee_id: str, cmd_seq: int, at: float) -> dict:
    return {
        "attendee_id": attendee_id,
        "kind": "checkin",
        "at": to_iso(at),
        "recorded_at": to_iso(at),
        "station_id": STATION,
        "station_name": "Desk",
        "cmd_seq": cmd_seq,
    }


def open_station(tmp_path, wall: Wall, **kw) -> Station:
    return Station(
        StationDB(tmp_path / "desk.db"), station_id=STATION, station_name="Desk", event_id=1, wall=wall, **kw
    )


def applied(cmd_seq: int, record: dict) -> dict:
    return {"cmd_seq": cmd_seq, "status": "applied", "attendee": record, "lost": False, "message": "ok"}


def restored_notices(station: Station) -> list:
    return [a for a in station.attention() if a.code == "server_restored"]


def outbox_states(station: Station) -> dict[int, tuple[str, int]]:
    return {r[0]: (r[1], r[2]) for r in station.db.conn.execute("SELECT cmd_seq, state, delivered FROM outbox")}


@pytest.fixture
def desk(tmp_path):
    """Anna and Ben checked in and confirmed (cmd 1, 2); Cleo's check-in (cmd 3) refused by the server."""
    wall = Wall()
    station = open_station(tmp_path, wall)
    people = [person("a1", "Anna"), person("a2", "Ben"), person("a3", "Cleo")]
    station.apply_snapshot("epoch-1", 0, {"event": EVENT, "attendees": people, "checkins": []})
    for p in people:
        station.check_in(p["id"])
    now = wall()
    station.record_answers(
        [
            applied(1, person("a1", "Anna", checked_in=True, at=now)),
            applied(2, person("a2", "Ben", checked_in=True, at=now)),
            {"cmd_seq": 3, "status": "rejected", "code": "event_closed", "message": "no more check-ins"},
        ]
    )
    station.apply_changes(
        [
            (
                1,
                "checkin.recorded",
                {"fact": fact("a1", 1, now), "attendee": person("a1", "Anna", checked_in=True, at=now)},
            ),
            (
                2,
                "checkin.recorded",
                {"fact": fact("a2", 2, now), "attendee": person("a2", "Ben", checked_in=True, at=now)},
            ),
        ]
    )
    wall.t += 60
    yield station, wall
    station.close()


def test_a_watermark_that_has_everything_changes_nothing(desk):
    station, _wall = desk
    assert station.on_server_watermark(3) is None
    assert outbox_states(station) == {1: ("applied", 0), 2: ("applied", 0), 3: ("rejected", 0)}
    assert restored_notices(station) == []


def test_lost_commands_are_queued_again_shown_and_said_once(desk):
    station, _wall = desk
    refusals_before = [a for a in station.attention() if a.kind == "rejected"]
    assert len(refusals_before) == 1

    # The server came back from a backup that has only command 1.
    assert station.on_server_watermark(1) == 2
    assert outbox_states(station) == {1: ("applied", 0), 2: ("queued", 0), 3: ("rejected", 0)}
    (notice,) = restored_notices(station)
    assert notice.kind == "notice"
    assert notice.message == (
        "The server was restored from a backup; this desk is re-sending 2 actions it had made since."
    )
    assert station.status().queued == 1

    # Its fresh snapshot (new epoch) knows Anna's check-in only; Ben stays checked in on this desk.
    snap = {
        "event": EVENT,
        "attendees": [person("a1", "Anna", checked_in=True, at=0), person("a2", "Ben"), person("a3", "Cleo")],
        "checkins": [fact("a1", 1, 0)],
    }
    station.apply_snapshot("epoch-2", 1, snap)
    assert station.get("a1").checked_in and station.get("a2").checked_in
    assert not station.get("a3").checked_in  # refused before, still refused: not shown as in

    # A second welcome before the re-send: re-send again from 2 (the refusal too), but say nothing new.
    assert station.on_server_watermark(1) == 2
    assert len(restored_notices(station)) == 1
    resent = station.next_batch(10, from_seq=2)
    assert [r.cmd_seq for r in resent] == [2, 3]

    # The new answers: the refusal comes again and is not listed twice.
    station.record_answers(
        [
            applied(2, person("a2", "Ben", checked_in=True, at=0)),
            {"cmd_seq": 3, "status": "rejected", "code": "event_closed", "message": "no more check-ins"},
        ]
    )
    assert [a for a in station.attention() if a.kind == "rejected"] == refusals_before
    assert outbox_states(station)[2] == ("applied", 0)
    assert station.on_server_watermark(3) is None


def test_only_answers_from_before_the_hello_prove_a_loss(desk):
    station, wall = desk
    # Commands 1-3 were answered at the fixture's time; a hello sent before that proves nothing.
    hello_at = wall.t - 3600
    assert station.on_server_watermark(0, answered_before=hello_at) is None
    assert outbox_states(station)[1] == ("applied", 0) and restored_notices(station) == []
    assert station.on_server_watermark(0, answered_before=wall.t) == 1
    assert outbox_states(station)[1] == ("queued", 0)


def test_a_delivered_command_the_server_lost_is_sent_as_new(desk):
    station, _wall = desk
    result = station.check_in("a3")  # cmd 4: the server's watermark showed it arrived, answer unfetched
    station.on_server_watermark(4)
    assert outbox_states(station)[result.cmd_seq] == ("queued", 1)
    assert station.on_server_watermark(3) == 4
    assert outbox_states(station)[result.cmd_seq] == ("queued", 0)
    assert "re-sending 1 action it had made since" in restored_notices(station)[0].message


def test_a_walk_in_the_server_lost_stays_on_the_desk_through_the_fresh_snapshot(desk):
    station, wall = desk
    walkin = station.walk_in("Dana Late")
    record = {**person("a9", "Dana Late", checked_in=True, at=wall.t), "id": walkin.attendee.id}
    station.record_answers([applied(walkin.cmd_seq, record)])
    station.apply_changes([(3, "attendee.upserted", {"attendee": record})])
    assert not station.get(walkin.attendee.id).pending

    wall.t += 1
    assert station.on_server_watermark(3) == 4
    station.apply_snapshot("epoch-2", 2, {"event": EVENT, "attendees": [person("a1", "Anna")], "checkins": []})
    kept = station.get(walkin.attendee.id)
    assert kept is not None and kept.checked_in and kept.pending


def test_prune_keeps_what_the_server_may_ask_for_again(desk):
    station, wall = desk
    wall.t += 2 * outbox.RETENTION_S
    # The server's watermark is 1: commands 2 and 3 are not pruned, however old.
    with station.db.tx() as conn:
        outbox.prune(conn, wall(), outbox.RETENTION_S, server_has=1)
    assert sorted(outbox_states(station)) == [2, 3]


def test_retention_comes_from_the_desk_setting_or_the_environment(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(outbox.RETENTION_ENV, "2")
    assert outbox.retention_from_env() == 7200
    station = open_station(tmp_path, Wall())
    assert station.retention_s == 7200
    station.close()
    assert open_station(tmp_path, Wall(), retention_s=60).retention_s == 60
    for bad in ("two", "0", "-3", "inf"):
        monkeypatch.setenv(outbox.RETENTION_ENV, bad)
        with caplog.at_level(logging.WARNING):
            assert outbox.retention_from_env() == outbox.RETENTION_S
        assert outbox.RETENTION_ENV in caplog.text
    monkeypatch.delenv(outbox.RETENTION_ENV)
    assert outbox.retention_from_env() == outbox.RETENTION_S

    config = DeskConfig(outbox_retention_h=6)
    config.save(tmp_path)
    assert DeskConfig.load(tmp_path).retention_s() == 6 * 3600
    assert DeskConfig().retention_s() is None and DeskConfig(outbox_retention_h=-1).retention_s() is None


def test_answered_actions_are_pruned_after_the_retention_window_and_not_before(tmp_path):
    wall = Wall()
    station = open_station(tmp_path, wall, retention_s=2 * 3600)
    station.apply_snapshot("epoch-1", 0, {"event": EVENT, "attendees": [person("a1", "Anna")], "checkins": []})
    station.check_in("a1")
    station.record_answers([applied(1, person("a1", "Anna", checked_in=True, at=wall.t))])
    station.apply_changes(
        [(1, "checkin.recorded", {"fact": fact("a1", 1, wall.t), "attendee": person("a1", "Anna", checked_in=True)})]
    )
    wall.t += 2 * 3600 - 10
    station.on_server_watermark(1)
    assert outbox_states(station) == {1: ("applied", 0)}  # still inside the window: kept for a restore
    wall.t += 20
    station.on_server_watermark(1)
    assert outbox_states(station) == {}
    station.close()
