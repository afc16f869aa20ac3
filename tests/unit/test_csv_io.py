"""Attendee CSV parsing and export: the shapes organisers send, and the errors they get back."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from focusdesk.domain.csv_io import (
    EXPORT_COLUMNS,
    CsvFormatError,
    export_attendees_csv,
    parse_attendee_csv,
)


def parse(text: str, **kw):
    return parse_attendee_csv(text.encode("utf-8"), **kw)


def test_plain_file_with_custom_columns():
    p = parse("name,email,company,ticket_type,Dietary\nZoë Ærø,ZOE@Example.org,Acme,VIP,vegan\n")
    assert p.errors == [] and p.total_rows == 1
    f = p.rows[0].fields
    assert (p.rows[0].row, f.name, f.email, f.company, f.ticket_type) == (
        2,
        "Zoë Ærø",
        "zoe@example.org",
        "Acme",
        "VIP",
    )
    assert f.custom == {"Dietary": "vegan"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed_from_the_header(delimiter):
    text = (
        delimiter.join(["Full Name", "E-Mail", "Organisation"])
        + "\n"
        + delimiter.join(["Ann Lee", "ann@example.org", "Acme, Inc"])
        + "\n"
    )
    if delimiter == ",":
        text = text.replace("Acme, Inc", '"Acme, Inc"')
    p = parse(text)
    assert p.errors == []
    assert (p.rows[0].fields.name, p.rows[0].fields.email, p.rows[0].fields.company) == (
        "Ann Lee",
        "ann@example.org",
        "Acme, Inc",
    )


def test_bom_and_crlf_and_blank_lines_are_accepted():
    data = "\ufeffname,email\r\nAnn,ann@example.org\r\n\r\nBo,bo@example.org\r\n\r\n".encode()
    p = parse_attendee_csv(data)
    assert [r.fields.name for r in p.rows] == ["Ann", "Bo"]
    assert [r.row for r in p.rows] == [2, 4]  # spreadsheet row numbers, blank line counted


def test_first_and_last_name_columns_are_joined():
    p = parse("First Name,Last Name,email\nAnn,Lee,ann@example.org\n")
    assert p.rows[0].fields.name == "Ann Lee"


def test_export_server_columns_are_ignored_not_custom():
    p = parse("registration_number,name,status,checked_in,checkin_count\n7,Ann,registered,yes,1\n")
    assert p.errors == [] and p.rows[0].fields.custom == {}


def test_every_bad_row_is_reported_with_row_field_and_reason():
    p = parse("name,email,qr_secret\nAnn,not-an-email,\n,bo@example.org,\nCy,cy@example.org,bad secret!\n")
    got = {(e.row, e.field) for e in p.errors}
    assert got == {(2, "email"), (3, "name"), (4, "qr_secret")}
    assert all(e.reason for e in p.errors) and p.rows == []


def test_duplicates_inside_the_file_name_the_first_row():
    p = parse("name,email\nAnn,ann@example.org\nAnn again,ANN@example.org\n")
    assert [r.row for r in p.rows] == [2]
    assert p.errors[0].row == 3 and p.errors[0].field == "email"
    assert "duplicates row 2" in p.errors[0].reason


def test_extra_cells_are_an_error_but_trailing_empty_ones_are_not():
    p = parse("name,email\nAnn,ann@example.org,,\nBo,bo@example.org,surprise\n")
    assert [r.fields.name for r in p.rows] == ["Ann"]
    assert (p.errors[0].row, p.errors[0].field) == (3, "file")


def test_wrong_encoding_says_what_to_do():
    with pytest.raises(CsvFormatError) as info:
        parse_attendee_csv("name\nAnn\nJos\xe9\n".encode("latin-1"))
    assert info.value.row == 3 and "UTF-8" in info.value.reason and "--encoding" in info.value.reason
    ok = parse_attendee_csv("name\nJos\xe9\n".encode("latin-1"), encoding="latin-1")
    assert ok.rows[0].fields.name == "José"


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("email,company\na@example.org,X\n", "name", "no name column"),
        ("name,Name\nAnn,Ann\n", "header", "appears twice"),
        ("name,full_name\nAnn,Ann\n", "header", "two columns"),
        ("", "file", "empty"),
    ],
)
def test_unreadable_headers(text, field, words):
    with pytest.raises(CsvFormatError) as info:
        parse(text)
    assert info.value.field == field and words in info.value.reason


def test_row_limit():
    with pytest.raises(CsvFormatError) as info:
        parse("name\n" + "x\n" * 4, max_rows=3)
    assert info.value.row == 5 and "more than 3" in info.value.reason


def test_export_has_fixed_columns_then_sorted_custom_and_guards_formulas():
    rows = [
        {
            "registration_number": 1,
            "name": '=HYPERLINK("x")',
            "email": "a@example.org",
            "company": "-Acme",
            "ticket_type": "VIP",
            "status": "registered",
            "checked_in": True,
            "checked_in_at": "2026-11-23T09:14:00Z",
            "checked_in_station": "Desk 2",
            "checkin_count": 1,
            "qr_secret": "abcdefgh1234",
            "custom": {"b": "2", "a": "@x"},
        },
        {
            "registration_number": 2,
            "name": "Bo",
            "email": None,
            "company": "",
            "ticket_type": "General",
            "status": "registered",
            "checked_in": False,
            "checked_in_at": None,
            "checked_in_station": None,
            "checkin_count": 0,
            "qr_secret": "ijklmnop5678",
            "custom": {},
        },
    ]
    text = export_attendees_csv(rows)
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [*EXPORT_COLUMNS, "a", "b"]
    first = dict(zip(table[0], table[1], strict=True))
    assert first["name"].startswith("'=") and first["company"] == "'-Acme" and first["a"] == "'@x"
    assert first["checked_in"] == "yes" and dict(zip(table[0], table[2], strict=True))["checked_in"] == "no"
    # and the guard is undone on the way back in
    back = parse(text)
    assert (
        back.errors == [] and back.rows[0].fields.name == '=HYPERLINK("x")' and back.rows[0].fields.company == "-Acme"
    )


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=30).filter(
    lambda s: s.strip()
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_text, _text, st.dictionaries(st.sampled_from(["Dietary", "Track"]), _text, max_size=2)),
        min_size=1,
        max_size=8,
    )
)
def test_export_then_import_round_trips(people):
    rows = [
        {
            "registration_number": i,
            "name": n,
            "email": f"p{i}@example.org",
            "company": c,
            "ticket_type": "General",
            "status": "registered",
            "checked_in": False,
            "checkin_count": 0,
            "qr_secret": f"secret-{i:04d}",
            "custom": cu,
        }
        for i, (n, c, cu) in enumerate(people)
    ]
    back = parse(export_attendees_csv(rows))
    assert back.errors == []
    from focusdesk.domain.attendees import clean_text

    assert [r.fields.name for r in back.rows] == [clean_text(n) for n, _c, _cu in people]
    assert [r.fields.company for r in back.rows] == [clean_text(c) for _n, c, _cu in people]
    assert [r.fields.custom for r in back.rows] == [
        {k: v.strip() for k, v in cu.items() if v.strip()} for *_x, cu in people
    ]
