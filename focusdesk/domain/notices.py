"""Notices to staff: who a notice is for, how urgent it is, when it stops mattering.

A notice is addressed to an *audience*: everyone working the event, everyone holding one role, or one
desk. The server stores every notice in the event's change log, and hides the ones not addressed to a
person wherever it hands changes out (live push, polling, snapshots), so a desk only ever holds what is
meant for it. People who may send notices see all of them, with who acknowledged each.

Plain Python: the server and the station both use these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from focusdesk.domain.errors import FieldProblem, ValidationFailed
from focusdesk.domain.roles import NOTICE_POST, NOTICE_READ, ROLES, Principal

PRIORITIES = ("high", "medium", "low")
AUDIENCE_ALL, AUDIENCE_ROLE, AUDIENCE_DESK = "all", "role", "desk"
BODY_MAX = 500
MAX_EXPIRY_S = 7 * 24 * 3600.0
_ROLE_WORDS = {"admin": "admins", "organizer": "organizers", "staff": "staff", "technician": "technicians"}


@dataclass(frozen=True, slots=True)
class Audience:
    kind: str = AUDIENCE_ALL  # all | role | desk
    value: str | None = None  # the role, or the desk's station id

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Audience:
        data = data or {}
        return cls(str(data.get("kind") or AUDIENCE_ALL), data.get("value"))

    def describe(self, desk_names: Mapping[str, str] | None = None) -> str:
        """In words, for a feed: "everyone", "organizers", "desk Front desk"."""
        if self.kind == AUDIENCE_ROLE:
            return _ROLE_WORDS.get(str(self.value), str(self.value))
        if self.kind == AUDIENCE_DESK:
            return f"desk {(desk_names or {}).get(str(self.value), self.value)}"
        return "everyone"


def addressed_to(audience: Audience, *, roles: Iterable[str], station_id: str | None) -> bool:
    """Is a person holding ``roles`` at the event, at desk ``station_id``, one the notice is for?"""
    if audience.kind == AUDIENCE_ROLE:
        return audience.value in set(roles)
    if audience.kind == AUDIENCE_DESK:
        return station_id is not None and audience.value == station_id
    return True


def may_see(principal: Principal, event_id: int, audience: Audience) -> bool:
    """Senders see every notice (and its acknowledgements); others what is addressed to them."""
    if principal.can(NOTICE_POST, event_id):
        return True
    return principal.can(NOTICE_READ, event_id) and addressed_to(
        audience, roles=principal.roles_at(event_id), station_id=principal.station_id
    )


@dataclass(frozen=True, slots=True)
class NoticeFields:
    body: str
    priority: str
    audience: Audience
    expires_in_s: float | None


def validate_notice(data: Mapping[str, Any], prefix: str = "") -> NoticeFields:
    """A notice as typed by an organizer; every problem is named, not only the first."""
    problems: list[FieldProblem] = []
    for key in sorted(set(data) - {"id", "body", "priority", "audience", "expires_in_s"}):
        problems.append(FieldProblem(f"{prefix}{key}", "is not a field of a notice"))
    body = " ".join(str(data.get("body") or "").split())
    if not body:
        problems.append(FieldProblem(f"{prefix}body", "must not be empty"))
    elif len(body) > BODY_MAX:
        problems.append(FieldProblem(f"{prefix}body", f"must be at most {BODY_MAX} characters"))
    priority = data.get("priority", "medium")
    if priority not in PRIORITIES:
        problems.append(FieldProblem(f"{prefix}priority", "must be high, medium or low"))
    raw = data.get("audience") or {}
    audience = Audience()
    if not isinstance(raw, Mapping):
        problems.append(FieldProblem(f"{prefix}audience", "must be an object with a kind (all, role or desk)"))
    else:
        kind, value = raw.get("kind", AUDIENCE_ALL), raw.get("value")
        if kind == AUDIENCE_ALL:
            audience = Audience()
        elif kind == AUDIENCE_ROLE and value in ROLES:
            audience = Audience(kind, value)
        elif kind == AUDIENCE_ROLE:
            problems.append(FieldProblem(f"{prefix}audience.value", f"must be one of {', '.join(ROLES)}"))
        elif kind == AUDIENCE_DESK and isinstance(value, str) and 0 < len(value) <= 64:
            audience = Audience(kind, value)
        elif kind == AUDIENCE_DESK:
            problems.append(FieldProblem(f"{prefix}audience.value", "must be the station id of a desk"))
        else:
            problems.append(FieldProblem(f"{prefix}audience.kind", "must be all, role or desk"))
    expires = data.get("expires_in_s")
    if expires is not None and (
        isinstance(expires, bool) or not isinstance(expires, int | float) or not 0 < expires <= MAX_EXPIRY_S
    ):
        problems.append(FieldProblem(f"{prefix}expires_in_s", "must be a number of seconds up to 7 days"))
        expires = None
    if problems:
        raise ValidationFailed(problems)
    return NoticeFields(body, str(priority), audience, None if expires is None else float(expires))
