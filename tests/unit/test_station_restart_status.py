"""A desk restarted without its server still says how old its list is."""

from __future__ import annotations

from focusdesk.station.engine import Station


def test_last_sync_survives_a_restart_as_the_replicas_age(tmp_path):
    path = tmp_path / "s.db"
    station = Station.open(station_id="desk-r", station_name="Desk", event_id=1, path=path)
    assert station.status().last_sync_at is None  # a new desk has never synced
    state = {
        "event": {"id": 1, "name": "Expo", "timezone": "UTC", "status": "open"},
        "attendees": [],
    }
    station.apply_snapshot("e1", 3, state)
    station.close()
    again = Station.open(station_id="desk-r", station_name="Desk", event_id=1, path=path)
    try:
        assert again.status().connection == "starting"
        assert again.status().last_sync_at is not None
    finally:
        again.close()
