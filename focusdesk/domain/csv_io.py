"""Attendee CSV files: read what organisers actually send, write what spreadsheets open safely.

Reading is forgiving about *shape* (BOM, ``,``/``;``/tab, common header spellings, first+last name
columns, our own export's extra columns) and strict about *content*: every bad row is reported with its
row number (the header is row 1, as in a spreadsheet), the field and the reason, so a person can fix the
file in one pass. Nothing here touches a database; duplicates against existing attendees are the
server's business.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from focusdesk.domain.attendees import (
    AttendeeFields,
    clean_text,
    normalise_email,
    validate_attendee,
)
from focusdesk.domain.errors import ValidationFailed

# Header spellings seen in registration tools, mapped to our field names. Compared after folding
# case, spaces, dashes and dots to "_".
_ALIASES: dict[str, str] = {
    "name": "name",
    "full_name": "name",
    "fullname": "name",
    "attendee": "name",
    "attendee_name": "name",
    "first_name": "first_name",
    "firstname": "first_name",
    "given_name": "first_name",
    "last_name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "email": "email",
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "company": "company",
    "organisation": "company",
    "organization": "company",
    "org": "company",
    "ticket_type": "ticket_type",
    "ticket": "ticket_type",
    "ticket_class": "ticket_type",
    "qr_secret": "qr_secret",
}
# Columns our own export writes that belong to the server, not to the person: ignored on import so an
# export can be imported into another event as is.
SERVER_COLUMNS = frozenset(
    {"id", "registration_number", "status", "checked_in", "checked_in_at", "checked_in_station", "checkin_count"}
)
EXPORT_COLUMNS = (
    "registration_number",
    "name",
    "email",
    "company",
    "ticket_type",
    "status",
    "checked_in",
    "checked_in_at",
    "checked_in_station",
    "checkin_count",
    "qr_secret",
)
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DELIMITERS = ",;\t"


@dataclass(frozen=True)
class RowError:
    """One problem in the file: ``row`` as a spreadsheet numbers it (header = 1; 0 = the whole file)."""

    row: int
    field: str
    reason: str


@dataclass(frozen=True)
class ImportRow:
    row: int
    fields: AttendeeFields


@dataclass
class ParsedImport:
    columns: list[str]
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total_rows: int = 0


class CsvFormatError(Exception):
    """The file as a whole cannot be read (encoding, no header, no name column…)."""

    def __init__(self, row: int, field_name: str, reason: str):
        super().__init__(f"row {row}: {field_name}: {reason}" if row else f"{field_name}: {reason}")
        self.row = row
        self.field = field_name
        self.reason = reason


def _fold(header: str) -> str:
    folded = clean_text(header).casefold()
    for ch in " -.":
        folded = folded.replace(ch, "_")
    return folded


def _decode(data: bytes, encoding: str) -> str:
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise CsvFormatError(
            row,
            "file",
            f"is not valid {encoding.upper()} text (byte 0x{data[exc.start]:02x} in row {row}); "
            "save it as 'CSV UTF-8' or pass --encoding (e.g. latin-1 or cp1252)"
            if codec == "utf-8-sig"
            else f"is not valid {encoding} text (byte 0x{data[exc.start]:02x} in row {row})",
        ) from None


def _sniff_delimiter(header_line: str) -> str:
    """The delimiter is whichever of , ; tab splits the header into the most cells."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _strip_guard(value: str) -> str:
    """Undo our own export's formula guard (a leading ') so values round-trip."""
    if len(value) >= 2 and value[0] == "'" and value[1] in _FORMULA_STARTS:
        return value[1:]
    return value


@dataclass
class _Header:
    columns: list[str]
    known: dict[str, int]  # our field name -> column index
    custom: dict[str, int]  # custom field name -> column index


def _read_header(cells: list[str]) -> _Header:
    columns = [clean_text(c) for c in cells]
    known: dict[str, int] = {}
    custom: dict[str, int] = {}
    seen: dict[str, int] = {}
    for index, name in enumerate(columns):
        if not name:
            if any(columns[index + 1 :]):
                raise CsvFormatError(1, "header", f"column {index + 1} has no name; give every column a heading")
            continue
        folded = _fold(name)
        if folded in seen:
            raise CsvFormatError(
                1, "header", f"column '{name}' appears twice (columns {seen[folded] + 1} and {index + 1})"
            )
        seen[folded] = index
        target = _ALIASES.get(folded)
        if target is not None:
            if target in known:
                raise CsvFormatError(
                    1, "header", f"two columns mean '{target}': '{columns[known[target]]}' and '{name}'"
                )
            known[target] = index
        elif folded not in SERVER_COLUMNS:
            custom[name] = index
    has_split_name = "first_name" in known or "last_name" in known
    if "name" not in known and not has_split_name:
        raise CsvFormatError(
            1, "name", "no name column found; the header needs 'name' (or 'first_name' and 'last_name')"
        )
    return _Header(columns, known, custom)


def parse_attendee_csv(data: bytes, *, encoding: str = "utf-8", max_rows: int = 200_000) -> ParsedImport:
    """Parse and validate an attendee CSV file. Raises :class:`CsvFormatError` for an unreadable file;
    row problems are collected in :attr:`ParsedImport.errors`."""
    text = _decode(data, encoding)
    if not text.strip():
        raise CsvFormatError(0, "file", "is empty; expected a header row and one row per attendee")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first_line), strict=False)
    try:
        header = _read_header(next(reader))
        parsed = ParsedImport(columns=header.columns)
        first_seen: dict[tuple[str, str], int] = {}
        for cells in reader:
            row_no = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines are common at the end of exported files
            parsed.total_rows += 1
            if parsed.total_rows > max_rows:
                raise CsvFormatError(row_no, "file", f"has more than {max_rows:,} attendees; split it into parts")
            _parse_row(row_no, cells, header, parsed, first_seen)
    except csv.Error as exc:
        raise CsvFormatError(reader.line_num, "file", f"is not a valid CSV file ({exc})") from None
    return parsed


def _parse_row(
    row_no: int, cells: list[str], header: _Header, parsed: ParsedImport, first_seen: dict[tuple[str, str], int]
) -> None:
    if len(cells) > len(header.columns) and any(c.strip() for c in cells[len(header.columns) :]):
        parsed.errors.append(
            RowError(row_no, "file", f"has {len(cells)} cells but the header has {len(header.columns)} columns")
        )
        return

    def cell(index: int | None) -> str:
        return _strip_guard(cells[index]) if index is not None and index < len(cells) else ""

    known = header.known
    name = cell(known.get("name"))
    if not clean_text(name) and ("first_name" in known or "last_name" in known):
        name = f"{cell(known.get('first_name'))} {cell(known.get('last_name'))}"
    record: dict[str, Any] = {
        "name": name,
        "email": cell(known.get("email")),
        "company": cell(known.get("company")),
        "ticket_type": cell(known.get("ticket_type")),
        "custom": {key: cell(i) for key, i in header.custom.items() if cell(i).strip()},
        "qr_secret": cell(known.get("qr_secret")),
    }
    try:
        fields = validate_attendee(record)
    except ValidationFailed as exc:
        parsed.errors.extend(RowError(row_no, p.field, p.reason) for p in exc.problems)
        return
    assert isinstance(fields, AttendeeFields)
    for kind, value in (("email", fields.email), ("qr_secret", fields.qr_secret)):
        if not value:
            continue
        key = (kind, normalise_email(value) if kind == "email" else value)
        if key in first_seen:
            parsed.errors.append(RowError(row_no, kind, f"duplicates row {first_seen[key]} (same {kind})"))
            return
    for kind, value in (("email", fields.email), ("qr_secret", fields.qr_secret)):
        if value:
            first_seen[(kind, value)] = row_no
    parsed.rows.append(ImportRow(row_no, fields))


def _guard(value: Any) -> str:
    """Text a spreadsheet shows as is: a leading formula character is escaped with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_attendees_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Attendee records (as the API returns them) as CSV text: our columns, then custom fields sorted."""
    rows = list(rows)
    custom_keys = sorted({k for r in rows for k in (r.get("custom") or {})} - set(EXPORT_COLUMNS))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*EXPORT_COLUMNS, *custom_keys])
    for r in rows:
        values: list[Any] = []
        for column in EXPORT_COLUMNS:
            value = r.get(column)
            if column == "checked_in":
                value = "yes" if value else "no"
            values.append(value)
        custom = r.get("custom") or {}
        values += [custom.get(k, "") for k in custom_keys]
        writer.writerow([_guard(v) for v in values])
    return out.getvalue()
