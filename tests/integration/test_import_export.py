"""CSV import (preview, per-row errors, duplicates, all-or-nothing) and export, over HTTP."""

from __future__ import annotations

import csv
import io

import pytest

from tests.support import add_attendees, make_event

GOOD = "name,email,company,ticket_type,Dietary\nZoë Ærø,zoe@example.org,Acme,VIP,vegan\n김민준,minjun@example.org,,General,\n"


@pytest.fixture
def event(admin):
    return make_event(admin)


def post_csv(api, event_id, text: str | bytes, **params):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return api.post(
        f"/api/v1/events/{event_id}/attendees/import", content=data, params=params, headers={"content-type": "text/csv"}
    )


def test_dry_run_previews_and_writes_nothing(admin, event):
    r = post_csv(admin, event["id"], GOOD, dry_run="true")
    assert r.status_code == 200
    body = r.json()
    assert body["dry_run"] is True and body["applied"] is False
    assert body["to_create"] == 2 and body["errors"] == []
    assert admin.get(f"/api/v1/events/{event['id']}/attendees").json()["total"] == 0


def test_import_applies_and_assigns_numbers_and_secrets(admin, event):
    r = post_csv(admin, event["id"], GOOD)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    items = admin.get(f"/api/v1/events/{event['id']}/attendees").json()["items"]
    assert [a["registration_number"] for a in items] == [1, 2]
    assert items[0]["custom"] == {"Dietary": "vegan"}
    assert len({a["qr_secret"] for a in items}) == 2 and all(len(a["qr_secret"]) >= 16 for a in items)


def test_one_bad_row_means_nothing_is_imported(admin, event):
    text = GOOD + "No Email Problem,not-an-email,,,\n,empty@example.org,,,\n"
    r = post_csv(admin, event["id"], text)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "import_has_errors"
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(4, "email"), (5, "name")}
    assert admin.get(f"/api/v1/events/{event['id']}/attendees").json()["total"] == 0


def test_duplicates_by_email_skip_update_or_error(admin, event):
    add_attendees(admin, event["id"], [{"name": "Old Zoe", "email": "zoe@example.org"}])
    preview = post_csv(admin, event["id"], GOOD, dry_run="true").json()
    assert preview["to_create"] == 1
    assert preview["skipped_duplicates"][0]["existing"]["name"] == "Old Zoe"
    assert post_csv(admin, event["id"], GOOD, on_duplicate="error").status_code == 422
    r = post_csv(admin, event["id"], GOOD, on_duplicate="update")
    assert r.status_code == 200 and r.json()["to_update"] == 1
    names = {a["email"]: a["name"] for a in admin.get(f"/api/v1/events/{event['id']}/attendees").json()["items"]}
    assert names == {"zoe@example.org": "Zoë Ærø", "minjun@example.org": "김민준"}


def test_unreadable_files_get_a_clear_4xx(admin, event):
    latin1 = "name,email\nJos\xe9,jose@example.org\n".encode("latin-1")
    r = post_csv(admin, event["id"], latin1)
    assert r.status_code == 400 and r.json()["code"] == "invalid_csv"
    assert "UTF-8" in r.json()["message"] or "utf-8" in r.json()["message"]
    assert post_csv(admin, event["id"], latin1, encoding="latin-1").status_code == 200
    r = post_csv(admin, event["id"], "email,company\na@example.org,X\n")
    assert r.status_code == 400 and "name" in r.json()["message"]
    r = post_csv(admin, event["id"], GOOD, encoding="klingon")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.encoding"


def test_export_round_trips_through_import(admin, event):
    post_csv(admin, event["id"], GOOD)
    r = admin.get(f"/api/v1/events/{event['id']}/attendees/export")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["name"] for row in rows] == ["Zoë Ærø", "김민준"]
    assert rows[0]["Dietary"] == "vegan" and rows[0]["checked_in"] == "no"
    other = make_event(admin, "Copy")
    again = post_csv(admin, other["id"], r.content)
    assert again.status_code == 200 and again.json()["to_create"] == 2, again.text
