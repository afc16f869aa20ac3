"""What a desk remembers: a different server makes it a new desk, so nothing queued goes to the wrong one."""

from __future__ import annotations

from focusdesk.station.desk import DeskConfig


def test_pointing_a_desk_at_another_server_forgets_its_station_and_event(tmp_path):
    config = DeskConfig("http://a.test:8765", "desk-1", "Desk 2", 7, "Expo", "x@example.com")
    assert not config.use_server("http://a.test:8765/")  # the same server, spelled with a slash
    assert (config.station_id, config.event_id) == ("desk-1", 7)
    assert config.use_server("http://b.test:8765")
    assert (config.server_url, config.station_id, config.event_id, config.event_name) == (
        "http://b.test:8765",
        "",
        None,
        "",
    )
    assert config.station_name == "Desk 2" and config.email == "x@example.com"  # still pre-fill the form
    assert config.ensure_station_id().startswith("desk-") and config.station_id != "desk-1"
    config.save(tmp_path)
    assert DeskConfig.load(tmp_path) == config


def test_a_first_server_is_not_a_change():
    config = DeskConfig()
    assert not config.use_server(" http://a.test:8765/ ")
    assert config.server_url == "http://a.test:8765"
