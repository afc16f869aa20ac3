"""Attendee field rules, shared by walk-ins, the REST API and CSV import.

One place decides what a valid attendee is, so a CSV row, a walk-in typed at a desk and an API call are
refused for the same reasons with the same words.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from focusdesk.domain.errors import FieldProblem, ValidationFailed

NAME_MAX = 200
COMPANY_MAX = 200
EMAIL_MAX = 254
TICKET_TYPE_MAX = 64
DEFAULT_TICKET_TYPE = "General"
CUSTOM_FIELDS_MAX = 50
CUSTOM_KEY_MAX = 64
CUSTOM_VALUE_MAX = 1000
QR_SECRET_MIN = 8
QR_SECRET_MAX = 128
ATTENDEE_STATUSES = ("registered", "cancelled")

# Deliberately simple: one @, something before it, a dotted domain after it, no spaces. Stricter
# checks refuse real addresses; delivery is the only true test.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_QR_RE = re.compile(r"^[A-Za-z0-9_\-.~]+$")
_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def new_attendee_id() -> str:
    """A globally unique id a desk can mint offline (walk-ins) without asking the server."""
    return uuid.uuid4().hex


def new_qr_secret() -> str:
    """An unguessable badge secret (128 bits): a QR code never carries a database id."""
    return secrets.token_urlsafe(16)


def clean_text(value: object) -> str:
    """Trim, fold runs of white space and normalise to NFC so the same name is stored one way."""
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.split())


def normalise_email(value: str) -> str:
    return clean_text(value).lower()


@dataclass
class AttendeeFields:
    """The person-editable fields of an attendee, validated and normalised."""

    name: str
    email: str | None = None
    company: str = ""
    ticket_type: str = DEFAULT_TICKET_TYPE
    custom: dict[str, str] = field(default_factory=dict)
    qr_secret: str | None = None


def check_id(value: object, problems: list[FieldProblem], where: str = "id") -> str | None:
    """An id a desk mints offline (attendees, rooms, notices): 8–64 letters, digits, '-' or '_'."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        problems.append(FieldProblem(where, "must be 8–64 letters, digits, '-' or '_'"))
        return None
    return value


check_attendee_id = check_id


def validate_attendee(
    data: Mapping[str, object], *, prefix: str = "", partial: bool = False
) -> AttendeeFields | dict[str, object]:
    """Validate attendee fields, collecting every problem.

    With ``partial`` only the given keys are checked and a dict of the cleaned values is returned
    (for edits); otherwise a full :class:`AttendeeFields` is returned. Raises
    :class:`ValidationFailed` naming each bad field (``prefix`` is put before field names).
    """
    problems: list[FieldProblem] = []
    out: dict[str, object] = {}

    def bad(name: str, reason: str) -> None:
        problems.append(FieldProblem(prefix + name, reason))

    if "name" in data or not partial:
        name = clean_text(data.get("name") or "")
        if not name:
            bad("name", "is required")
        elif len(name) > NAME_MAX:
            bad("name", f"is longer than {NAME_MAX} characters")
        out["name"] = name
    if "email" in data:
        raw = data.get("email")
        email = normalise_email(raw) if raw not in (None, "") else None
        if email is not None:
            if len(email) > EMAIL_MAX:
                bad("email", f"is longer than {EMAIL_MAX} characters")
            elif not _EMAIL_RE.match(email):
                bad("email", f"'{email}' is not an email address (expected name@domain.tld)")
        out["email"] = email
    if "company" in data:
        company = clean_text(data.get("company") or "")
        if len(company) > COMPANY_MAX:
            bad("company", f"is longer than {COMPANY_MAX} characters")
        out["company"] = company
    if "ticket_type" in data or not partial:
        ticket = clean_text(data.get("ticket_type") or "") or DEFAULT_TICKET_TYPE
        if len(ticket) > TICKET_TYPE_MAX:
            bad("ticket_type", f"is longer than {TICKET_TYPE_MAX} characters")
        out["ticket_type"] = ticket
    if "custom" in data:
        custom = _validate_custom(data.get("custom"), bad)
        out["custom"] = custom
    if data.get("qr_secret") not in (None, ""):
        secret = str(data.get("qr_secret")).strip()
        if not (QR_SECRET_MIN <= len(secret) <= QR_SECRET_MAX) or not _QR_RE.match(secret):
            bad(
                "qr_secret",
                f"must be {QR_SECRET_MIN}–{QR_SECRET_MAX} characters of letters, digits, '-', '_', '.', '~'",
            )
        out["qr_secret"] = secret

    if problems:
        raise ValidationFailed(problems)
    if partial:
        return out
    return AttendeeFields(
        name=str(out["name"]),
        email=out.get("email"),  # type: ignore[arg-type]
        company=str(out.get("company", "")),
        ticket_type=str(out["ticket_type"]),
        custom=dict(out.get("custom", {})),  # type: ignore[arg-type]
        qr_secret=out.get("qr_secret"),  # type: ignore[arg-type]
    )


def _validate_custom(value: object, bad) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        bad("custom", "must be an object of text fields")
        return {}
    if len(value) > CUSTOM_FIELDS_MAX:
        bad("custom", f"has more than {CUSTOM_FIELDS_MAX} fields")
    cleaned: dict[str, str] = {}
    for key, val in value.items():
        k = clean_text(key)
        if not k or len(k) > CUSTOM_KEY_MAX:
            bad("custom", f"field name '{key}' must be 1–{CUSTOM_KEY_MAX} characters")
            continue
        if val is None:
            val = ""
        if not isinstance(val, str | int | float | bool):
            bad(f"custom.{k}", "must be text")
            continue
        v = str(val).strip()
        if len(v) > CUSTOM_VALUE_MAX:
            bad(f"custom.{k}", f"is longer than {CUSTOM_VALUE_MAX} characters")
            continue
        cleaned[k] = v
    return cleaned


def search_key(*parts: str | None) -> str:
    """Accent- and case-insensitive text for matching ("José" and "jose" meet)."""
    text = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
