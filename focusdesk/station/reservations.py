"""Reservations on the desk: resources, their bookings and device status from the replica, with this desk's
unanswered commands folded on top.

Booking, approving, checking in and every resource change are commands like check-ins: they work offline
and reach the server exactly once. Before queueing one the desk checks it against what it can see with the
server's own rules (``domain/reservations.py``), so a clash it already knows of is refused at once with the
words the server would use, nearest free slot included. Only the server decides, though: a booking made
offline shows as *tentative* until the server's answer (or the live change) replaces it — and another
desk may have taken the slot meanwhile, in which case the refusal lands in the desk's attention list
naming the booking that won.
The replica's side (storing what the server says) is ``booking_replica.py``.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from focusdesk.domain import reservations as rules
from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed
from focusdesk.domain.ical import TENTATIVE, bookings_calendar
from focusdesk.domain.roles import DEVICE_STATUS, RESERVATIONS_APPROVE, RESERVE, RESOURCES_MANAGE
from focusdesk.domain.timeutil import from_iso, to_iso
from focusdesk.station.api import Refused, SignedOutError, Transient
from focusdesk.station.model import Conflict, DeviceStatusEntry, Reservation, Resource
from focusdesk.station.replica import Touched

if TYPE_CHECKING:
    from focusdesk.station.engine import Station

RESOURCE_COMMANDS = ("resource_create", "resource_update", "resource_delete", "device_status")
TRANSITION_COMMANDS = tuple(rules.TRANSITIONS)
RESERVATION_COMMANDS = ("reservation_create", *TRANSITION_COMMANDS)
BOOKING_COMMANDS = RESOURCE_COMMANDS + RESERVATION_COMMANDS
UPCOMING = (rules.PENDING, rules.APPROVED, rules.CHECKED_IN)  # bookings that keep a resource from deletion


def _iso_of(stamp: float) -> str:
    """``to_iso`` of a time that is there."""
    iso = to_iso(stamp)
    assert iso is not None
    return iso


def _t(iso: str) -> float:
    """Epoch seconds of a time a record always has (start, end, created_at)."""
    stamp = from_iso(iso)
    assert stamp is not None
    return stamp


_COMMAND_WORDS = {
    "resource_create": "Adding the resource",
    "resource_update": "Changing the resource",
    "resource_delete": "Deleting the resource",
    "device_status": "Setting the device status",
    "reservation_create": "Booking",
    "reservation_approve": "Approving the booking",
    "reservation_reject": "Rejecting the booking",
    "reservation_cancel": "Cancelling the booking",
    "reservation_checkin": "Checking in to the booking",
    "reservation_complete": "Finishing the booking",
}


# -- views -------------------------------------------------------------------------------------------


def resource_from_record(record: Mapping[str, Any], *, pending: bool = False) -> Resource:
    return Resource(
        id=record["id"],
        event_id=record["event_id"],
        kind=record.get("kind") or rules.ROOM,
        name=record.get("name") or record["id"],
        capacity=record.get("capacity"),
        buffer_min=int(record.get("buffer_min") or 0),
        open_from=record.get("open_from"),
        open_until=record.get("open_until"),
        needs_approval=bool(record.get("needs_approval")),
        release_after_min=int(record.get("release_after_min") or rules.RELEASE_DEFAULT_MIN),
        device_status=record.get("device_status"),
        status_note=record.get("status_note") or "",
        status_by=record.get("status_by"),
        status_at=from_iso(record.get("status_at")),
        pending=pending,
    )


@dataclass
class _Booking:
    """A booking while the desk's view is being built: the record with the status the server is
    predicted to give it (so the rules apply to tentative ones too), and what the desk knows of it."""

    record: dict[str, Any]
    tentative: bool = False
    pending: bool = False

    def shown(self) -> dict[str, Any]:
        """The record as people see it: an unanswered booking that still holds its slot is "tentative"."""
        if self.tentative and self.record["status"] in (rules.PENDING, rules.APPROVED):
            return {**self.record, "status": TENTATIVE}
        return self.record


@dataclass(frozen=True, slots=True)
class _Queued:
    cmd_seq: int
    type: str
    args: dict[str, Any]
    at: float  # the desk's (server-corrected) time when the person did it


class ReservationBook:
    """``station.reservations``: read resources and bookings, and change them (each change a queued command).

    (Annotations in here say ``builtins.list``: the book's own ``list`` method hides the builtin.)
    """

    def __init__(self, station: Station):
        self.station = station

    def _actor(self) -> str:
        """Who the server will record as having done it: the desk's name (its account's email without one)."""
        station = self.station
        return station.station_name or str((station.account() or {}).get("email") or "")

    # -- building the desk's view ----------------------------------------------------------------------

    def _queued(self, types: tuple[str, ...]) -> builtins.list[_Queued]:
        marks = ",".join("?" * len(types))
        rows = self.station.db.conn.execute(
            "SELECT cmd_seq, type, args, device_time FROM outbox WHERE state = 'queued' AND event_id = ?"
            f" AND type IN ({marks}) ORDER BY cmd_seq",
            (self.station.event_id, *types),
        )
        return [_Queued(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def _resource_view(self) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Every resource as this desk predicts the server will have it, and those with unanswered changes."""
        station = self.station
        rows = station.db.conn.execute("SELECT record FROM resources WHERE event_id = ?", (station.event_id,))
        records = {r["id"]: r for r in (json.loads(row[0]) for row in rows) if not r.get("deleted")}
        pending: set[str] = set()
        for q in self._queued(RESOURCE_COMMANDS):
            after = self._fold_resource(records, q)
            if after is _SKIP:
                continue  # another desk changed it first: the server will refuse it and the desk lists why
            resource_id = q.args.get("resource_id") or q.args["resource"]["id"]
            pending.add(resource_id)
            if after is None:
                records.pop(resource_id, None)
            else:
                records[resource_id] = after
        return records, pending

    def _fold_resource(self, records: dict[str, dict[str, Any]], q: _Queued) -> Any:
        if q.type == "resource_create":
            fields = q.args["resource"]
            if fields["id"] in records:
                return _SKIP  # the server has it already (the live change beat the answer)
            return _new_resource(self.station.event_id, fields, actor=self._actor(), at=q.at)
        current = records.get(str(q.args.get("resource_id")))
        if current is None:
            return _SKIP
        if q.type == "resource_update":
            return {**current, **q.args.get("fields", {})}
        if q.type == "resource_delete":
            return None
        note = q.args.get("note") or ""
        by = self._actor()
        return {
            **current,
            "device_status": q.args["status"],
            "status_note": note,
            "status_by": by,
            "status_at": to_iso(q.at),
        }

    def _booking_view(
        self,
        resources: dict[str, dict[str, Any]],
        *,
        window: tuple[float, float] | None = None,
        resource_id: str | None = None,
    ) -> dict[str, _Booking]:
        """Bookings (of resources that still exist) as this desk predicts the server will have them,
        limited to those overlapping ``window`` and of ``resource_id`` when given."""
        station = self.station
        where = "event_id = ?"
        params: builtins.list[Any] = [station.event_id]
        if resource_id is not None:
            where += " AND resource_id = ?"
            params.append(resource_id)
        if window is not None:
            where += " AND start < ? AND end > ?"
            params += [window[1], window[0]]
        queued = self._queued(RESERVATION_COMMANDS)
        # Bookings a queued change touches are read whatever their time: a finish may move one's end.
        touched_ids = [q.args["reservation_id"] for q in queued if q.type != "reservation_create"]
        if touched_ids:
            where = f"({where}) OR id IN ({','.join('?' * len(touched_ids))})"
            params += touched_ids
        conn = station.db.conn
        view = {
            r["id"]: _Booking(r)
            for r in (
                json.loads(row[0]) for row in conn.execute(f"SELECT record FROM reservations WHERE {where}", params)
            )
        }
        tz = station.timezone()
        for q in queued:
            if q.type == "reservation_create":
                for record in self._tentative(q, resources, view, tz):
                    view[record["id"]] = _Booking(record, tentative=True, pending=True)
                continue
            booking = view.get(q.args["reservation_id"])
            if booking is None:
                continue
            record = booking.record
            try:
                booking.record = rules.transition(
                    record,
                    q.type,
                    now=q.at,
                    resource=resources.get(record["resource_id"]),
                    tz_name=tz,
                    actor=self._actor(),
                    reason=q.args.get("reason") or "",
                )
            except DomainError:
                continue  # it changed elsewhere first: the server will refuse this and the desk lists why
            booking.pending = True
        return {
            k: b
            for k, b in view.items()
            if b.record["resource_id"] in resources
            and (resource_id is None or b.record["resource_id"] == resource_id)
            and (window is None or (_t(b.record["start"]) < window[1] and _t(b.record["end"]) > window[0]))
        }

    def _tentative(
        self, q: _Queued, resources: dict[str, dict[str, Any]], view: dict[str, _Booking], tz: str
    ) -> builtins.list[dict[str, Any]]:
        """The bookings an unanswered ``reservation_create`` will make, as the server is expected to."""
        wanted = q.args["reservation"]
        resource = resources.get(wanted["resource_id"])
        if resource is None:
            return []
        repeat = wanted.get("repeat")
        spans = rules.occurrences(
            _t(wanted["start"]),
            _t(wanted["end"]),
            rules.Repeat(repeat["freq"], repeat["count"]) if repeat else None,
            tz,
        )
        ids = [rules.occurrence_id(wanted["id"], i) for i in range(len(spans))]
        known = [i for i in ids if i in view]
        if known:
            # The server has answered in effect (its live change came before the answer): show its word.
            for i in known:
                view[i].pending = True
            return []
        if wanted.get("skip_conflicts"):
            # The server leaves out the occurrences that clash or fall outside the hours; so does the guess.
            booked = _active(view.values(), wanted["resource_id"])
            try:
                plan = rules.plan_booking(resource, spans, booked, tz, skip_conflicts=True, now=q.at)
            except DomainError:
                return []  # nothing of it will be booked; the server's answer will say why
            kept = {(start, end) for _index, start, end in plan.kept}
        else:
            kept = set(spans)  # checked when it was made; if it clashes now, the server's answer will say
        out = []
        for occurrence_id, span in zip(ids, spans, strict=True):
            if span not in kept:
                continue
            out.append(
                {
                    "id": occurrence_id,
                    "event_id": self.station.event_id,
                    "resource_id": wanted["resource_id"],
                    "holder_name": wanted["holder_name"],
                    "attendee_id": wanted.get("attendee_id"),
                    "start": to_iso(span[0]),
                    "end": to_iso(span[1]),
                    "status": rules.PENDING if resource.get("needs_approval") else rules.APPROVED,
                    "series_id": wanted["id"] if len(spans) > 1 else None,
                    "note": wanted.get("note") or "",
                    "created_by": self.station.station_name,
                    "station_id": self.station.station_id,
                    "created_at": to_iso(q.at),
                    "checked_in_at": None,
                    "decided_by": None,
                    "reason": "",
                    "rev": 0,
                }
            )
        return out

    def _views(self, bookings: dict[str, _Booking], resources: dict[str, dict[str, Any]]) -> builtins.list[Reservation]:
        out = [_reservation(b, resources[b.record["resource_id"]]) for b in bookings.values()]
        return sorted(out, key=lambda r: (r.start, r.resource_name.casefold(), r.id))

    # -- reading -----------------------------------------------------------------------------------------

    def resources(self, kind: str | None = None) -> builtins.list[Resource]:
        """Every resource of the event (of ``kind``: room or device), by name."""
        records, pending = self._resource_view()
        out = [resource_from_record(r, pending=r["id"] in pending) for r in records.values()]
        if kind is not None:
            out = [r for r in out if r.kind == kind]
        return sorted(out, key=lambda r: (r.name.casefold(), r.id))

    def resource(self, resource_id: str) -> Resource | None:
        return next((r for r in self.resources() if r.id == resource_id), None)

    def devices(self) -> builtins.list[Resource]:
        return self.resources(rules.DEVICE)

    def day(self, date_local: date) -> builtins.list[Reservation]:
        """Bookings overlapping ``date_local`` on the venue's clock (any status; this desk's unanswered
        ones as ``tentative``), by start."""
        resources, _ = self._resource_view()
        window = rules.day_bounds(date_local, self.station.timezone())
        return self._views(self._booking_view(resources, window=window), resources)

    def list(self, status: str | None = None) -> builtins.list[Reservation]:
        """Every booking by start, or those whose (shown) status is ``status`` (``tentative`` works too)."""
        resources, _ = self._resource_view()
        out = self._views(self._booking_view(resources), resources)
        return out if status is None else [r for r in out if r.status == status]

    def get(self, reservation_id: str) -> Reservation | None:
        return next((r for r in self.list() if r.id == reservation_id), None)

    def inbox(self) -> builtins.list[Reservation]:
        """Bookings awaiting approval, the oldest request first."""
        resources, _ = self._resource_view()
        bookings = [b for b in self._booking_view(resources).values() if b.shown()["status"] == rules.PENDING]
        bookings.sort(key=lambda b: (b.record.get("created_at") or "", b.record["start"], b.record["id"]))
        return [_reservation(b, resources[b.record["resource_id"]]) for b in bookings]

    def check(self, resource_id: str, start: float, end: float) -> Conflict | None:
        """Why the desk already knows ``start``–``end`` cannot be booked (a clash with a booking it can see,
        the bookable hours, or a start in the past), with the nearest free slot; None if it looks free.
        Only the server decides: another desk may have taken the slot a moment ago."""
        resources, _ = self._resource_view()
        resource = self._resource_record(resources, resource_id)
        refusal, clash, _kept = self._check(resources, resource, [(start, end)], skip_conflicts=False)
        if refusal is None:
            return None
        nearest = refusal.details.get("nearest_free")
        if refusal.code == "reservation_conflict":
            free = None if nearest is None else (_t(nearest["start"]), _t(nearest["end"]))
        else:
            # The server says no more than "outside the hours" or "already begun"; a desk can offer a slot.
            station = self.station
            booked = _active(self._booking_view(resources, resource_id=resource_id).values(), resource_id)
            buffer_s = (resource.get("buffer_min") or 0) * 60
            free = rules.nearest_free(
                booked,
                start,
                end,
                buffer_s,
                resource=resource,
                tz_name=station.timezone(),
                not_before=station.server_now(),
            )
        return Conflict(refusal.code, refusal.message, clash, free)

    def _check(
        self,
        resources: dict[str, dict[str, Any]],
        resource: dict[str, Any],
        spans: builtins.list[tuple[float, float]],
        *,
        skip_conflicts: bool,
    ) -> tuple[DomainError | None, Reservation | None, builtins.list[tuple[float, float]]]:
        """The refusal the server would give for booking ``spans`` of ``resource`` as far as this desk can
        see (with the clashing booking, if that is why), or None and the spans that would be booked."""
        station = self.station
        tz = station.timezone()
        now = station.server_now()
        bookings = self._booking_view(resources, resource_id=resource["id"])
        booked = _active(bookings.values(), resource["id"])
        try:
            plan = rules.plan_booking(resource, spans, booked, tz, skip_conflicts=skip_conflicts, now=now)
        except DomainError as refusal:
            clash_id = (refusal.details.get("conflict") or {}).get("id")
            clash = _reservation(bookings[clash_id], resource) if clash_id in bookings else None
            return refusal, clash, []
        return None, None, [(start, end) for _index, start, end in plan.kept]

    # -- booking ------------------------------------------------------------------------------------------

    def _require(self, permission: str, what: str) -> None:
        if not self.station.can(permission):
            raise DomainError("forbidden", f"your account may not {what} at this event; ask an organizer")

    def _resource_record(self, resources: dict[str, dict[str, Any]], resource_id: str) -> dict[str, Any]:
        resource = resources.get(resource_id)
        if resource is None:
            raise DomainError("unknown_resource", "no such resource at this event (it may have been deleted)")
        return resource

    def _queue(self, command: str, args: dict[str, Any], label: str) -> None:
        self.station.queue_event_command(command, args, label)
        self.station.changed(Touched(reservations=True))

    def create(
        self,
        resource_id: str,
        holder_name: str,
        start: float | str | datetime,
        end: float | str | datetime,
        attendee_id: str | None = None,
        note: str = "",
        repeat: Mapping[str, Any] | rules.Repeat | None = None,
        skip_conflicts: bool = False,
    ) -> builtins.list[Reservation]:
        """Book ``resource_id`` for ``holder_name`` from ``start`` to ``end`` (epoch seconds, an aware
        datetime, or ISO text — without an offset it is the venue's wall time). ``repeat`` makes a series
        (``{"freq": "weekly", "count": 4}``); with ``skip_conflicts`` occurrences that clash are left out
        instead of refusing the whole series. Returns the tentative bookings, first occurrence first.

        A clash the desk can already see is refused at once (code ``reservation_conflict``, the clashing
        booking and the nearest free slot in ``details``), as are bookable hours and a start in the past.
        """
        self._require(RESERVE, "book rooms or devices")
        station = self.station
        tz = station.timezone()
        if isinstance(repeat, rules.Repeat):
            repeat = {"freq": repeat.freq, "count": repeat.count}
        wire: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "resource_id": resource_id,
            "holder_name": holder_name,
            "start": _iso(start),
            "end": _iso(end),
        }
        for key, value in (("attendee_id", attendee_id), ("note", note), ("repeat", repeat)):
            if value:
                wire[key] = dict(value) if isinstance(value, Mapping) else value
        if skip_conflicts:
            wire["skip_conflicts"] = True
        request = rules.validate_reservation(wire, tz, prefix="reservation.")
        resources, _ = self._resource_view()
        resource = self._resource_record(resources, resource_id)
        spans = rules.occurrences(request.start, request.end, request.repeat, tz)
        refusal, _clash, _kept = self._check(resources, resource, spans, skip_conflicts=request.skip_conflicts)
        if refusal is not None:
            raise refusal
        wire.update(holder_name=request.holder_name, start=to_iso(request.start), end=to_iso(request.end))
        if request.note:
            wire["note"] = request.note
        label = rules.describe(wire, resource["name"], tz)
        self._queue("reservation_create", {"reservation": wire}, label)
        ids = {rules.occurrence_id(wire["id"], i) for i in range(len(spans))}
        return [r for r in self.list() if r.id in ids]

    def _transition(self, command: str, reservation_id: str, reason: str = "") -> Reservation:
        station = self.station
        resources, _ = self._resource_view()
        booking = self._booking_view(resources).get(reservation_id)
        if booking is None:
            raise DomainError("unknown_reservation", "no such booking at this event (its resource may be gone)")
        resource = resources[booking.record["resource_id"]]
        # The same rule the server applies, at the server's time as this desk knows it.
        rules.transition(
            booking.record,
            command,
            now=station.server_now(),
            resource=resource,
            tz_name=station.timezone(),
            actor=self._actor(),
            reason=reason,
        )
        args: dict[str, Any] = {"reservation_id": reservation_id}
        if reason:
            args["reason"] = reason
        self._queue(command, args, rules.describe(booking.record, resource["name"], station.timezone()))
        after = self.get(reservation_id)
        assert after is not None
        return after

    def approve(self, reservation_id: str) -> Reservation:
        self._require(RESERVATIONS_APPROVE, "approve bookings")
        return self._transition("reservation_approve", reservation_id)

    def reject(self, reservation_id: str, reason: str = "") -> Reservation:
        self._require(RESERVATIONS_APPROVE, "reject bookings")
        return self._transition("reservation_reject", reservation_id, reason)

    def cancel(self, reservation_id: str, reason: str = "") -> Reservation:
        self._require(RESERVE, "cancel bookings")
        return self._transition("reservation_cancel", reservation_id, reason)

    def check_in(self, reservation_id: str) -> Reservation:
        self._require(RESERVE, "check in to bookings")
        return self._transition("reservation_checkin", reservation_id)

    def complete(self, reservation_id: str) -> Reservation:
        """The holder is done: an early finish frees the rest of the slot."""
        self._require(RESERVE, "finish bookings")
        return self._transition("reservation_complete", reservation_id)

    # -- resources and devices ---------------------------------------------------------------------------

    def create_resource(self, kind: str, name: str, **fields: Any) -> Resource:
        """Add a room or device (organizers). ``fields``: capacity, buffer_min, open_from, open_until,
        needs_approval, release_after_min."""
        self._require(RESOURCES_MANAGE, "add resources")
        valid = rules.validate_resource({"kind": kind, "name": name, **fields}, prefix="resource.")
        self._refuse_taken_name(valid["name"], None)
        resource_id = uuid.uuid4().hex
        wire = {"id": resource_id, **valid}
        self._queue("resource_create", {"resource": wire}, valid["name"])
        made = self.resource(resource_id)
        assert made is not None
        return made

    def update_resource(self, resource_id: str, **fields: Any) -> Resource:
        self._require(RESOURCES_MANAGE, "change resources")
        resources, _ = self._resource_view()
        current = self._resource_record(resources, resource_id)
        valid = rules.validate_resource(fields, prefix="args.fields.", partial=True)
        # With the fields it keeps, the hours must still make sense (the server checks exactly this).
        merged = {**current, **valid}
        if merged.get("open_from") and merged.get("open_until") and merged["open_from"] >= merged["open_until"]:
            raise ValidationFailed([FieldProblem("args.fields.open_until", "must be later than open_from")])
        if bool(merged.get("open_from")) != bool(merged.get("open_until")):
            raise ValidationFailed(
                [FieldProblem("args.fields.open_until", "give both open_from and open_until, or neither")]
            )
        if "name" in valid:
            self._refuse_taken_name(valid["name"], resource_id)
        if valid.get("buffer_min", 0) > (current.get("buffer_min") or 0):
            self._refuse_too_close(resources, current, valid["buffer_min"])
        self._queue("resource_update", {"resource_id": resource_id, "fields": valid}, current["name"])
        after = self.resource(resource_id)
        assert after is not None
        return after

    def _refuse_too_close(
        self, resources: dict[str, dict[str, Any]], resource: dict[str, Any], buffer_min: int
    ) -> None:
        """Refuse a larger buffer that bookings this desk can see would not leave room for, as the server
        would (it also weighs finished bookings whose hold this desk does not know: it has the last word)."""
        station = self.station
        reach = buffer_min * 60 + rules.PAST_GRACE_S
        now = station.server_now()
        booked = [
            b
            for b in _active(self._booking_view(resources, resource_id=resource["id"]).values(), resource["id"])
            if b.record.get("status") != rules.COMPLETED or b.end + reach > now
        ]
        pair = rules.first_too_close(booked, buffer_min * 60)
        if pair is not None:
            raise rules.too_close_error(resource, buffer_min, pair, station.timezone())

    def delete_resource(self, resource_id: str) -> None:
        """Delete a resource (organizers); refused while it has bookings still to come."""
        self._require(RESOURCES_MANAGE, "delete resources")
        resources, _ = self._resource_view()
        current = self._resource_record(resources, resource_id)
        now = self.station.server_now()
        upcoming = [
            b
            for b in self._booking_view(resources, resource_id=resource_id).values()
            if b.record["status"] in UPCOMING and _t(b.record["end"]) > now
        ]
        if upcoming:
            count = len(upcoming)
            raise DomainError(
                "has_bookings",
                f"{current['name']} has {count} upcoming booking{'s' if count != 1 else ''}; cancel them first",
            )
        self._queue("resource_delete", {"resource_id": resource_id}, current["name"])

    def set_device_status(self, resource_id: str, status: str, note: str = "") -> Resource:
        """Say how a device is (online, offline, in_use, available, maintenance), with an optional note."""
        self._require(DEVICE_STATUS, "set device status")
        resources, _ = self._resource_view()
        current = self._resource_record(resources, resource_id)
        if current.get("kind") != rules.DEVICE:
            raise DomainError("not_a_device", f"{current['name']} is a room; only devices have a status")
        status, note = rules.validate_device_status(status, note)
        self._queue("device_status", {"resource_id": resource_id, "status": status, "note": note}, current["name"])
        after = self.resource(resource_id)
        assert after is not None
        return after

    def _refuse_taken_name(self, name: str, resource_id: str | None) -> None:
        """The server refuses a second resource of the same name (case and spacing ignored); say so at once."""
        wanted = " ".join(name.split()).casefold()
        clash = next((r for r in self.resources() if r.name.casefold() == wanted and r.id != resource_id), None)
        if clash is not None:
            raise DomainError("duplicate_resource", f"there is already a resource called {clash.name}")

    async def status_history(self, resource_id: str) -> builtins.list[DeviceStatusEntry]:
        """A device's status changes, newest first. The history lives on the server only, so this needs it."""
        station = self.station
        api = station.api
        if api is None:
            raise DomainError("offline", "The status history needs the server, and this desk is not connected to it.")
        path = f"/events/{station.event_id}/resources/{resource_id}/status-history"
        try:
            body = await api.call("GET", path)
        except Transient as exc:
            raise DomainError(
                "offline", f"The status history needs the server, which cannot be reached right now ({exc.message})."
            ) from exc
        except SignedOutError as exc:
            raise DomainError("signed_out", f"{exc.message} Sign in again to see the status history.") from exc
        except Refused as exc:
            raise DomainError(str((exc.body or {}).get("code") or "refused"), exc.message) from exc
        entries = body.get("history") if isinstance(body, dict) else body
        out = [_history_entry(e) for e in entries or () if isinstance(e, dict)]
        return sorted(out, key=lambda e: e.at, reverse=True)

    # -- calendars -----------------------------------------------------------------------------------------

    def ical_for_resource(self, resource_id: str) -> str:
        """The resource's bookings as an iCalendar file, from this desk's view (works offline)."""
        resources, _ = self._resource_view()
        resource = self._resource_record(resources, resource_id)
        bookings = self._booking_view(resources, resource_id=resource_id).values()
        return bookings_calendar(resource["name"], [b.shown() for b in bookings], resources).decode()

    def ical_for_holder(self, name: str) -> str:
        """Everything booked for ``name`` (a holder's name, case and spacing ignored, or an attendee id)."""
        resources, _ = self._resource_view()
        wanted = " ".join(name.split()).casefold()
        bookings = [
            b.shown()
            for b in self._booking_view(resources).values()
            if " ".join(b.record["holder_name"].split()).casefold() == wanted or b.record.get("attendee_id") == name
        ]
        return bookings_calendar(f"Bookings of {name}", bookings, resources).decode()


_SKIP = object()  # a queued resource change the desk cannot apply to its view (the server will refuse it)


def _new_resource(event_id: int, fields: Mapping[str, Any], *, actor: str, at: float) -> dict[str, Any]:
    """A resource as the server is expected to create it from ``resource_create`` fields."""
    device = fields.get("kind") == rules.DEVICE
    return {
        "id": fields["id"],
        "event_id": event_id,
        "kind": fields.get("kind"),
        "name": fields.get("name"),
        "capacity": fields.get("capacity"),
        "buffer_min": fields.get("buffer_min", 0),
        "open_from": fields.get("open_from"),
        "open_until": fields.get("open_until"),
        "needs_approval": fields.get("needs_approval", False),
        "release_after_min": fields.get("release_after_min", rules.RELEASE_DEFAULT_MIN),
        "device_status": "available" if device else None,
        "status_note": "",
        "status_by": actor if device else None,
        "status_at": to_iso(at) if device else None,
        "rev": 0,
    }


def _active(bookings: Any, resource_id: str) -> list[rules.Booked]:
    """The bookings of ``resource_id`` that hold their slot, as the overlap rule sees them (a tentative
    one's record says "tentative", so a refusal names it so)."""
    out = [
        rules.Booked(b.record["id"], _t(b.record["start"]), _t(b.record["end"]), b.shown())
        for b in bookings
        if b.record["resource_id"] == resource_id and b.record["status"] in rules.ACTIVE
    ]
    return sorted(out, key=lambda b: (b.start, b.id))


def _reservation(booking: _Booking, resource: Mapping[str, Any]) -> Reservation:
    record = booking.shown()
    return Reservation(
        id=record["id"],
        event_id=record["event_id"],
        resource_id=record["resource_id"],
        resource_name=resource.get("name") or record["resource_id"],
        holder_name=record.get("holder_name") or "",
        attendee_id=record.get("attendee_id"),
        start=_t(record["start"]),
        end=_t(record["end"]),
        status=record["status"],
        series_id=record.get("series_id"),
        note=record.get("note") or "",
        created_by=record.get("created_by") or "",
        station_id=record.get("station_id"),
        checked_in_at=from_iso(record.get("checked_in_at")),
        reason=record.get("reason") or "",
        tentative=booking.tentative,
        pending=booking.pending,
    )


def _history_entry(entry: Mapping[str, Any]) -> DeviceStatusEntry:
    at = entry.get("at")
    return DeviceStatusEntry(
        status=str(entry.get("status") or ""),
        note=str(entry.get("note") or ""),
        source=str(entry.get("source") or ""),
        by=str(entry.get("by") or ""),
        at=float(at) if isinstance(at, int | float) else (from_iso(at) or 0.0),
    )


def _iso(value: float | str | datetime) -> str:
    """A time as the command carries it. Text and a naive datetime stay wall times of the venue (the
    rules read them in the event's zone, refusing one the clocks skip); anything else is an instant."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()  # wall time of the venue, read as such by the rules
        value = value.timestamp()
    return _iso_of(float(value))


def describe_command(command: str, args: dict[str, Any]) -> str:
    """What a resource or booking command was, for "refused by the server" messages."""
    return _COMMAND_WORDS.get(command, "Booking change")
