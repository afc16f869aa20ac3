"""Request and response bodies. Unknown fields are refused so a typo never passes silently."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from focusdesk.domain.roles import ROLES

STATION_ID_PATTERN = r"^[A-Za-z0-9_\-]{8,64}$"
MAX_BATCH = 500


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorOut(BaseModel):
    code: str
    message: str
    errors: list[ErrorItem] | None = None


# -- auth ----------------------------------------------------------------------------------------


class LoginIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    station_id: str | None = Field(
        default=None, pattern=STATION_ID_PATTERN, description="Stable id of the desk signing in."
    )
    station_name: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _name_needs_id(self) -> LoginIn:
        if self.station_name is not None and self.station_id is None:
            raise ValueError("station_name needs station_id")
        return self


class GrantOut(Strict):
    role: Literal["admin", "organizer", "staff", "technician"]
    event_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class StationOut(BaseModel):
    id: str
    name: str
    last_cmd_seq: int


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str = ""
    grants: list[GrantOut]


class LoginOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    user: UserOut
    station: StationOut | None = None


class MeOut(BaseModel):
    user: UserOut
    station: StationOut | None = None


class UserIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    display_name: str = Field(default="", max_length=200)
    grants: list[GrantOut] = Field(min_length=1, max_length=100)


class UserListItem(UserOut):
    disabled: bool


class StationListItem(BaseModel):
    id: str
    name: str
    last_cmd_seq: int
    last_seen_at: str | None


class RevokeOut(BaseModel):
    revoked: int


# -- events --------------------------------------------------------------------------------------


class EventIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    starts_on: str = Field(description="YYYY-MM-DD", max_length=10)
    ends_on: str = Field(description="YYYY-MM-DD", max_length=10)
    timezone: str = Field(description="IANA zone, e.g. Europe/Berlin", max_length=64)
    status: Literal["draft", "open", "closed"] = "draft"


class EventPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    starts_on: str | None = Field(default=None, max_length=10)
    ends_on: str | None = Field(default=None, max_length=10)
    timezone: str | None = Field(default=None, max_length=64)
    status: Literal["draft", "open", "closed"] | None = None


class EventOut(BaseModel):
    id: int
    name: str
    starts_on: str
    ends_on: str
    timezone: str
    status: str
    updated_at: str | None


class TicketCounts(BaseModel):
    registered: int
    checked_in: int


class CountsOut(BaseModel):
    event_id: int
    registered: int
    checked_in: int
    cancelled: int
    by_ticket_type: dict[str, TicketCounts]


# -- attendees -----------------------------------------------------------------------------------


class AttendeeIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    company: str = Field(default="", max_length=200)
    ticket_type: str = Field(default="General", max_length=64)
    custom: dict[str, str] = Field(default_factory=dict)
    qr_secret: str | None = Field(default=None, max_length=128)


class AttendeePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    company: str | None = Field(default=None, max_length=200)
    ticket_type: str | None = Field(default=None, max_length=64)
    custom: dict[str, str] | None = None
    status: Literal["registered", "cancelled"] | None = None


class AttendeeOut(BaseModel):
    id: str
    event_id: int
    registration_number: int
    name: str
    email: str | None
    company: str
    ticket_type: str
    custom: dict[str, str]
    status: str
    qr_secret: str
    checked_in: bool
    checked_in_at: str | None
    checked_in_station: str | None
    checkin_count: int
    updated_at: str | None


class CheckinOut(BaseModel):
    attendee_id: str
    kind: str
    at: str
    recorded_at: str
    station_id: str
    station_name: str
    cmd_seq: int


class AttendeeDetailOut(AttendeeOut):
    checkins: list[CheckinOut]


class AttendeePage(BaseModel):
    total: int
    items: list[AttendeeOut]


class ImportRowError(BaseModel):
    row: int
    field: str
    reason: str


class ImportOut(BaseModel):
    dry_run: bool
    applied: bool
    total_rows: int
    to_create: int
    to_update: int
    skipped_duplicates: list[dict[str, Any]]
    errors: list[ImportRowError]


# -- commands and sync ---------------------------------------------------------------------------


class CommandItem(Strict):
    cmd_seq: int = Field(ge=1, le=2**53)
    type: str = Field(min_length=1, max_length=32, description="checkin | undo_checkin | walkin")
    args: dict[str, Any] = Field(default_factory=dict)
    device_time: AwareDatetime | None = Field(
        default=None, description="When it happened on the desk, corrected by the desk's clock offset."
    )


class CommandsIn(Strict):
    commands: list[CommandItem] = Field(min_length=1, max_length=MAX_BATCH)
    lost_before: int | None = Field(
        default=None,
        ge=1,
        le=2**53,
        description="Only after the server lost commands (a restore): this desk no longer holds its commands"
        " from the server's watermark up to this cmd_seq (the batch's first); the server records them as"
        " refused with code `lost` and goes on from here.",
    )

    @model_validator(mode="after")
    def _consecutive(self) -> CommandsIn:
        first = self.commands[0].cmd_seq
        for i, c in enumerate(self.commands):
            if c.cmd_seq != first + i:
                raise ValueError(
                    f"commands[{i}].cmd_seq is {c.cmd_seq} but must be {first + i}:"
                    " a batch holds consecutive cmd_seq in ascending order"
                )
        if self.lost_before is not None and self.lost_before != first:
            raise ValueError(f"lost_before must be the batch's first cmd_seq ({first}), not {self.lost_before}")
        return self


class CommandResult(BaseModel):
    cmd_seq: int
    status: Literal["applied", "rejected"]
    code: str | None = None
    message: str | None = None
    attendee: AttendeeOut | None = None
    lost: bool | None = None
    already_checked_in: dict[str, str] | None = None


class CommandsOut(BaseModel):
    last_cmd_seq: int
    results: list[CommandResult]


class BackupHealth(BaseModel):
    every_s: float
    last_at: str | None = Field(description="When the last scheduled backup succeeded (UTC), None before the first.")
    file: str | None
    last_error: str | None = Field(description="Why the latest attempt failed, if it did (it is retried next period).")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unreachable"]
    # "off": this instance runs without --redis; "unavailable": live changes from other instances arrive
    # with the periodic reconcile until Redis is back (slower, nothing lost, so still 200).
    redis: Literal["ok", "unavailable", "off"]
    instance: str
    # Only with `serve --backup-every`.
    backup: BackupHealth | None = None


ROLE_NAMES = ROLES
