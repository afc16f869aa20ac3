"""One day of bookings, one row per resource: the Reservations screen's timeline.

A name column, then time: slots of 15 or 30 minutes (whichever fits the width readably; it scrolls
sideways when neither does), over the resources' bookable hours (07:00–22:00 when none are set),
widened to every booking of the day. Blocks are coloured by state — pending and tentative ones hatched,
approved solid, checked in green, completed grey — with the resource's buffer shown faintly on both
sides, and hours a resource cannot be booked hatched out. A cursor cell (resource × slot) moves with the
arrows; the block under it is highlighted and ``CursorMoved`` tells the screen what it is on.

Line API (``ScrollView.render_line``) over cached strips: a cursor move repaints its two rows, a data change
rebuilds only when the bookings really differ, and the red now-line moves when the clock crosses into the
next character column — the once-a-second tick costs a division, not a repaint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from focusdesk.domain.reservations import local_datetime
from focusdesk.domain.timeutil import local_hhmm
from focusdesk.tui.widgets.timeline_scale import (
    MIN_CELL,
    QUARTER_S,
    SHOWN,
    TENTATIVE,
    Scale,
    ceil_hour,
    choose_scale,
    day_window,
    fit,
    state_of,
    steps,
    wall_time,
)

if TYPE_CHECKING:
    from focusdesk.station.model import Reservation, Resource

NAME_MIN, NAME_MAX = 10, 22
# Painted in this order: where two share a cell (a guess of this desk under the server's booking), the
# later one is what shows — and what the cursor picks.
PAINT_ORDER = {TENTATIVE: 0, "pending": 1, "completed": 2, "approved": 3, "checked_in": 4}
FILL = {TENTATIVE: "╱", "pending": "╱", "approved": " ", "checked_in": " ", "completed": " "}
MARK = {TENTATIVE: "~", "pending": "?", "checked_in": "✓"}  # said in a glyph too, not by colour alone
DEVICE_DOT = {"online": "●", "available": "●", "in_use": "◐", "maintenance": "▲", "offline": "✕"}


class Timeline(ScrollView, can_focus=True):
    """Call ``show(...)`` with the day's resources and bookings, ``set_now(server_now)`` as time passes.

    Each resource takes two lines when the height allows (the booking's holder, then its times; the name,
    then the resource's facts), one line otherwise. The ruler stays on top when the rows scroll."""

    COMPONENT_CLASSES = {
        "timeline--ruler",
        "timeline--hour",
        "timeline--name",
        "timeline--name-cursor",
        "timeline--facts",
        "timeline--free",
        "timeline--closed",
        "timeline--buffer",
        "timeline--tentative",
        "timeline--pending",
        "timeline--approved",
        "timeline--checked-in",
        "timeline--completed",
        "timeline--selected",
        "timeline--cursor",
        "timeline--cursor-blurred",
        "timeline--now",
        "timeline--now-block",
        "timeline--dot-online",
        "timeline--dot-in_use",
        "timeline--dot-available",
        "timeline--dot-maintenance",
        "timeline--dot-offline",
    }
    DEFAULT_CSS = """
    Timeline { height: 1fr; }
    Timeline > .timeline--ruler { color: $text-muted; }
    Timeline > .timeline--hour { color: $text; text-style: bold; }
    Timeline > .timeline--name { color: $text; }
    Timeline > .timeline--name-cursor { color: $text; background: $boost; text-style: bold; }
    Timeline > .timeline--facts { color: $text-muted; }
    Timeline > .timeline--free { color: $text-muted 30%; }
    Timeline > .timeline--closed { color: $text-muted 20%; }
    Timeline > .timeline--buffer { color: $text-muted 40%; }
    Timeline > .timeline--tentative { color: $text-warning 70%; background: $warning 8%; text-style: italic; }
    Timeline > .timeline--pending { color: $text-warning; background: $warning 22%; }
    Timeline > .timeline--approved { color: $text; background: $primary 65%; }
    Timeline > .timeline--checked-in { color: $text; background: $success 60%; }
    Timeline > .timeline--completed { color: $text-muted; background: $panel-lighten-2; }
    Timeline > .timeline--selected { text-style: bold underline; }
    Timeline > .timeline--cursor { color: $text; background: $accent; text-style: bold; }
    Timeline > .timeline--cursor-blurred { background: $accent 40%; }
    Timeline > .timeline--now { color: $error; text-style: bold; }
    Timeline > .timeline--now-block { background: $error 80%; }
    Timeline > .timeline--dot-online { color: $success; }
    Timeline > .timeline--dot-available { color: $success; }
    Timeline > .timeline--dot-in_use { color: $primary; }
    Timeline > .timeline--dot-maintenance { color: $warning; }
    Timeline > .timeline--dot-offline { color: $error; }
    """
    BINDINGS = [
        Binding("left", "move_slot(-1)", "Earlier", show=False, id="timeline.left", tooltip="One slot earlier"),
        Binding("right", "move_slot(1)", "Later", show=False, id="timeline.right", tooltip="One slot later"),
        Binding("up", "move_row(-1)", "Up", show=False, id="timeline.up", tooltip="The resource above"),
        Binding("down", "move_row(1)", "Down", show=False, id="timeline.down", tooltip="The resource below"),
        Binding("home", "edge(0)", "First", show=False, id="timeline.home", tooltip="The day's first slot"),
        Binding("end", "edge(1)", "Last", show=False, id="timeline.end", tooltip="The day's last slot"),
        Binding("pageup", "move_hour(-1)", "-1 h", show=False, id="timeline.hour_back", tooltip="An hour earlier"),
        Binding("pagedown", "move_hour(1)", "+1 h", show=False, id="timeline.hour_on", tooltip="An hour later"),
    ]

    class CursorMoved(Message):
        """The cursor is on another cell, or what is under it changed."""

        def __init__(self, timeline: Timeline) -> None:
            super().__init__()
            self.timeline = timeline

        @property
        def control(self) -> Timeline:
            return self.timeline

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.day: date | None = None
        self.tz = "UTC"
        self.resources: list[Resource] = []
        self._bookings: dict[str, list[Reservation]] = {}  # resource id -> shown bookings, paint order
        self._key: tuple[Any, ...] | None = None
        self._window: tuple[float, float] = (0.0, 3600.0)
        self.scale = Scale(0.0, QUARTER_S, MIN_CELL, 4)
        self.name_w = NAME_MIN
        self.row_h = 1  # lines per resource
        self._now: float | None = None
        self.now_x: int | None = None  # the now-line's column in the time area; None off this day
        self._row = 0
        self._cursor_t = 0.0  # start of the cursor's slot
        self._told: tuple[Any, ...] | None = None  # what CursorMoved last said
        # (row, line) -> strip; row -1 is the ruler. Time strips span the whole day (cropped when drawn).
        self._strips: dict[tuple[int, int], Strip] = {}
        self._names: dict[tuple[int, int], Strip] = {}
        self.renders = 0  # rows drawn afresh (tests check that a tick does not redraw)

    # -- feeding it ----------------------------------------------------------------------------------

    def show(
        self,
        day: date,
        tz: str,
        resources: Sequence[Resource],
        reservations: Iterable[Reservation],
        now: float | None = None,
    ) -> bool:
        """Show ``day``; returns False (and repaints nothing) when nothing shown changed. The cursor stays on
        its resource and its time of day."""
        shown = tuple(r for r in reservations if state_of(r) in SHOWN)
        key = (day, tz, tuple(resources), shown)
        if key == self._key:
            if now is not None:
                self.set_now(now)
            return False
        old_resource = self.cursor_resource
        old_day, old_tz = self.day, self.tz
        self._key = key
        self.day, self.tz = day, tz
        self.resources = list(resources)
        bookings: dict[str, list[Reservation]] = {r.id: [] for r in self.resources}
        for booking in shown:
            if booking.resource_id in bookings:
                bookings[booking.resource_id].append(booking)
        for items in bookings.values():
            items.sort(key=lambda r: (PAINT_ORDER.get(state_of(r), 0), r.start, r.id))
        self._bookings = bookings
        self._window = day_window(day, tz, self.resources, shown)
        if now is not None:
            self._now = now
        ids = [r.id for r in self.resources]
        if old_resource is not None and old_resource.id in ids:
            self._row = ids.index(old_resource.id)
        else:
            self._row = min(self._row, max(0, len(ids) - 1))
        if old_day is None:
            self._cursor_t = self._now if self._now is not None else self._window[0]
        elif old_day != day:
            # The same wall time on the new day (a day is not always 24 hours long).
            wall = local_datetime(self._cursor_t, old_tz).time()
            self._cursor_t = datetime.combine(day, wall, tzinfo=ZoneInfo(tz)).timestamp()
        self._layout()
        return True

    def set_now(self, now: float) -> bool:
        """Move the now-line; True when it moved (at most once per column of time, never per tick)."""
        self._now = now
        x = self._now_column()
        if x == self.now_x:
            return False
        self.now_x = x
        self._invalidate()
        return True

    def _now_column(self) -> int | None:
        if self._now is None or not self.scale.start <= self._now < self.scale.end:
            return None
        return self.scale.x_of(self._now)

    def _layout(self) -> None:
        """Fit the day to the size: pick the scale and the row height, size the canvas, keep the cursor on it."""
        longest = max((cell_len(r.name) for r in self.resources), default=0)
        self.name_w = max(NAME_MIN, min(NAME_MAX, longest + 3))
        count = len(self.resources)
        height = self.size.height
        self.row_h = 2 if height and 1 + 2 * count <= height else 1
        width = self.size.width or 80
        if 1 + self.row_h * count > height:
            width -= self.styles.scrollbar_size_vertical
        self.scale = choose_scale(*self._window, max(1, width - self.name_w))
        self._cursor_t = self.scale.slot_start(self.scale.slot_of(self._cursor_t))
        self.now_x = self._now_column()
        self.virtual_size = Size(self.name_w + self.scale.width, 1 + self.row_h * count)
        self._invalidate()
        self._keep_cursor_visible()
        self._tell()

    def on_resize(self, _: events.Resize) -> None:
        if self._key is not None:
            self._layout()

    def on_focus(self, _: events.Focus) -> None:
        self._invalidate_rows(self._row)

    def on_blur(self, _: events.Blur) -> None:
        self._invalidate_rows(self._row)

    def _invalidate(self) -> None:
        self._strips.clear()
        self._names.clear()
        self.refresh()

    def _invalidate_rows(self, *rows: int) -> None:
        for row in rows:
            for line in range(self.row_h):
                self._strips.pop((row, line), None)
                self._names.pop((row, line), None)
        self.refresh()

    # -- what is where -------------------------------------------------------------------------------

    @property
    def cursor_resource(self) -> Resource | None:
        return self.resources[self._row] if 0 <= self._row < len(self.resources) else None

    @property
    def cursor_slot(self) -> tuple[float, float]:
        return self._cursor_t, self._cursor_t + self.scale.slot_s

    @property
    def cursor_x(self) -> int:
        """The cursor's first column in the time area."""
        return self.scale.slot_of(self._cursor_t) * self.scale.cell_w

    @property
    def cursor_reservation(self) -> Reservation | None:
        """The booking under the cursor (None: the slot is free)."""
        resource = self.cursor_resource
        if resource is None:
            return None
        return self.reservation_at(resource.id, *self.cursor_slot)

    def bookings(self, resource_id: str) -> list[Reservation]:
        """The shown bookings of one resource, in paint order."""
        return list(self._bookings.get(resource_id, ()))

    def reservation_at(self, resource_id: str, start: float, end: float | None = None) -> Reservation | None:
        """The booking of ``resource_id`` that covers ``start`` (or overlaps ``start``–``end``); the one drawn
        on top when two do."""
        end = start + 1e-6 if end is None else end
        hits = [r for r in self._bookings.get(resource_id, ()) if r.start < end and start < r.end]
        return hits[-1] if hits else None

    def move_to(self, resource_id: str | None = None, at: float | None = None) -> None:
        """Put the cursor on ``resource_id``'s row and the slot holding ``at`` (either may be left as is)."""
        ids = [r.id for r in self.resources]
        row = ids.index(resource_id) if resource_id in ids else self._row
        t = self._cursor_t if at is None else self.scale.slot_start(self.scale.slot_of(at))
        self._place(row, t)

    # -- keys and clicks -----------------------------------------------------------------------------

    def action_move_slot(self, delta: int) -> None:
        slot = self.scale.slot_of(self._cursor_t) + delta
        self._place(self._row, self.scale.slot_start(max(0, min(self.scale.slots - 1, slot))))

    def action_move_row(self, delta: int) -> None:
        self._place(max(0, min(len(self.resources) - 1, self._row + delta)), self._cursor_t)

    def action_edge(self, last: int) -> None:
        self._place(self._row, self.scale.slot_start(self.scale.slots - 1 if last else 0))

    def action_move_hour(self, delta: int) -> None:
        self.action_move_slot(delta * max(1, 3600 // self.scale.slot_s))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1 or not self.resources:
            return
        row = (offset.y - 1 + self.scroll_offset.y) // self.row_h
        x = offset.x - self.name_w + self.scroll_offset.x
        if 0 <= row < len(self.resources):
            at = (
                self._cursor_t
                if x < 0
                else self.scale.slot_start(self.scale.slot_of(self.scale.start + x * self.scale.char_s))
            )
            self._place(row, at)

    def _place(self, row: int, t: float) -> None:
        if not self.resources:
            return
        old = self._row
        self._row, self._cursor_t = row, t
        self._invalidate_rows(old, row)
        self._keep_cursor_visible()
        self._tell()

    def _keep_cursor_visible(self) -> None:
        region = self.scrollable_content_region
        if region.width <= 0 or region.height <= 0:
            return
        x, y = self.scroll_offset
        view_w = max(1, region.width - self.name_w)
        left, right = self.cursor_x, self.cursor_x + self.scale.cell_w
        new_x = left if left < x else (right - view_w if right > x + view_w else x)
        view_h = max(1, region.height - 1)  # the ruler stays on top
        top, bottom = self._row * self.row_h, (self._row + 1) * self.row_h
        new_y = top if top < y else (bottom - view_h if bottom > y + view_h else y)
        if (new_x, new_y) != (x, y):
            self.scroll_to(new_x, new_y, animate=False, immediate=True)

    def _tell(self) -> None:
        told = (self.cursor_resource, self._cursor_t, self.cursor_reservation)
        if told != self._told:
            self._told = told
            self.post_message(self.CursorMoved(self))

    # -- drawing ------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            row, line = -1, 0
        else:
            row, line = divmod(scroll_y + y - 1, self.row_h)
        if row >= len(self.resources):
            return Strip.blank(width, self.rich_style)
        key = (row, line)
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = self._name_strip(row, line)
        strip = self._strips.get(key)
        if strip is None:
            self.renders += 1
            strip = self._strips[key] = self._ruler_strip() if row < 0 else self._row_strip(row, line)
        view_w = max(0, width - self.name_w)
        time_part = strip.crop_extend(scroll_x, scroll_x + view_w, self.rich_style)
        return Strip.join([name, time_part]).crop_extend(0, width, self.rich_style)

    def _name_strip(self, row: int, line: int) -> Strip:
        width = self.name_w
        if row < 0:
            label = f"{self.day:%a %d %b}" if self.day else ""
            return Strip([Segment(set_cell_size(" " + fit(label, width - 2), width), self._style("timeline--hour"))])
        resource = self.resources[row]
        base = self._style("timeline--name-cursor" if row == self._row else "timeline--name")
        if line == 1:
            facts = set_cell_size("  " + fit(_facts(resource), width - 3), width)
            return Strip([Segment(facts, base + self._style("timeline--facts"))], width)
        dot = DEVICE_DOT.get(resource.device_status or "") if resource.kind == "device" else None
        glyph_style = base + self._style(f"timeline--dot-{resource.device_status}") if dot else base
        text = set_cell_size(fit(resource.name, width - 3), width - 2)
        return Strip([Segment(f"{dot} " if dot else "  ", glyph_style), Segment(text, base)], width)

    def _hour_columns(self) -> list[tuple[int, float]]:
        """The column and instant of each whole local hour on the scale."""
        scale = self.scale
        first = ceil_hour(scale.start, self.tz)
        return [(scale.x_of(t), t) for t in steps(first, scale.end, 3600)]

    def _ruler_strip(self) -> Strip:
        scale = self.scale
        chars = [" "] * scale.width
        styles = [self._style("timeline--ruler")] * scale.width
        long = 3600 / scale.char_s >= 6
        labels: list[tuple[int, int]] = []
        for x, t in self._hour_columns():
            label = local_hhmm(t, self.tz) if long else local_hhmm(t, self.tz)[:2]
            if (labels and x <= labels[-1][1]) or x + len(label) > scale.width:
                continue
            chars[x : x + len(label)] = label
            labels.append((x, x + len(label)))
        if self.now_x is not None and self._now is not None:
            # "▼11:34" at the now-line; an hour label it would cut into is left out whole.
            mark = "▼" + local_hhmm(self._now, self.tz) if long else "▼"
            x0, x1 = self.now_x, min(scale.width, self.now_x + len(mark))
            for a, b in labels:
                if a < x1 and x0 < b:
                    chars[a:b] = " " * (b - a)
            now = self._style("timeline--now")
            for i, x in enumerate(range(x0, x1)):
                chars[x], styles[x] = mark[i], now
        return _strip(chars, styles)

    def _row_strip(self, row: int, line: int) -> Strip:
        scale = self.scale
        resource = self.resources[row]
        width = scale.width
        free, closed = self._style("timeline--free"), self._style("timeline--closed")
        chars = [" "] * width
        styles = [free] * width
        for x, _t in self._hour_columns():
            if 0 <= x < width:
                chars[x] = "·"
        if resource.open_from and resource.open_until and self.day is not None:
            zone = ZoneInfo(self.tz)
            opens = wall_time(self.day, resource.open_from, zone)
            closes = wall_time(self.day, resource.open_until, zone)
            for x in range(width):
                t = scale.start + x * scale.char_s
                if t < opens or t >= closes:
                    chars[x], styles[x] = "╱", closed
        bookings = self._bookings.get(resource.id, [])
        buffer_s = (resource.buffer_min or 0) * 60
        if buffer_s:
            buffer = self._style("timeline--buffer")
            for booking in bookings:
                for start, end in ((booking.start - buffer_s, booking.start), (booking.end, booking.end + buffer_s)):
                    span = scale.span(start, end)
                    if span is not None:
                        for x in range(*span):
                            chars[x], styles[x] = "░", buffer
        blocks = [False] * width
        chosen = self.cursor_reservation if row == self._row else None
        selected = self._style("timeline--selected")
        for booking in bookings:
            span = scale.span(booking.start, booking.end)
            if span is None:
                continue
            state = state_of(booking)
            style = self._style(f"timeline--{state.replace('_', '-')}")
            if chosen is not None and booking.id == chosen.id:
                style = style + selected
            x0, x1 = span
            fill = FILL.get(state, " ")
            for x in range(x0, x1):
                chars[x], styles[x], blocks[x] = fill, style, True
            if line == 0:
                mark = MARK.get(state)
                label = f"{mark} {booking.holder_name}" if mark else booking.holder_name
            else:
                label = f"{local_hhmm(booking.start, self.tz)}–{local_hhmm(booking.end, self.tz)}"
            _write(chars, x0, x1, fit(label, x1 - x0) if x1 - x0 >= 3 else "")
        if row == self._row:
            cursor = self._style("timeline--cursor" if self.has_focus else "timeline--cursor-blurred")
            for x in range(self.cursor_x, min(width, self.cursor_x + scale.cell_w)):
                styles[x] = styles[x] + cursor
        if self.now_x is not None and 0 <= self.now_x < width:
            x = self.now_x
            if blocks[x]:
                # Over a booking the line is a red cell: its letter stays readable.
                styles[x] = styles[x] + self._style("timeline--now-block")
            else:
                chars[x], styles[x] = "│", styles[x] + self._style("timeline--now")
        return _strip(chars, styles)


def _facts(resource: Resource) -> str:
    """The second line of a resource's name: what matters when booking it."""
    if resource.kind == "device":
        words = (resource.device_status or "").replace("_", " ")
    else:
        words = f"for {resource.capacity}" if resource.capacity else "room"
    if resource.needs_approval:
        words += " · approval"
    if resource.pending:
        words = "sending… · " + words  # this desk changed it; the server has not answered yet
    return words


def _write(chars: list[str], x0: int, x1: int, label: str) -> None:
    """Write ``label`` into cells ``x0``.. (a wide character takes two: itself, then an empty cell)."""
    x = x0
    for ch in label:
        w = cell_len(ch)
        if x + w > x1:
            break
        chars[x] = ch
        if w == 2:
            chars[x + 1] = ""
        x += w


def _strip(chars: list[str], styles: list[Style]) -> Strip:
    """One strip from per-cell characters and styles, as few segments as the runs of one style."""
    segments: list[Segment] = []
    run: list[str] = []
    current: Style | None = None
    for ch, style in zip(chars, styles, strict=True):
        if style is not current and style != current:
            if run:
                segments.append(Segment("".join(run), current))
            run, current = [], style
        run.append(ch)
    if run:
        segments.append(Segment("".join(run), current))
    return Strip(segments, len(chars))
