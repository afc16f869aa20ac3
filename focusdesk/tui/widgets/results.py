"""The search results: one line per person, from the local replica, rebuilt on every keystroke.

An ``OptionList`` (a line-API list) holding at most a page of matches, so a keystroke costs one search
and fifty short ``Text`` lines however many people the event has. Never focused: the search box keeps
the focus and moves the highlight here (``cursor_down`` and friends are called by the screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.style import Style
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.domain.timeutil import local_hhmm
from focusdesk.station.model import Attendee

NUMBER_W = 7  # "#123456" or "pending"
NAME_MIN, NAME_COMFORT = 14, 26
# Optional columns, most useful first, as (key, narrowest, widest): dropped right to left when narrow.
OPTIONAL = (("company", 8, 22), ("checked_in", 12, 18), ("ticket", 8, 14))
# Then, in this order, what is left widens them (a long desk name last).
WIDEN = (("checked_in", 14), ("company", 22), ("ticket", 14), ("checked_in", 18))


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells (wide characters count double), "…" when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


@dataclass(frozen=True, slots=True)
class Columns:
    name: int
    checked_in: int = 0
    company: int = 0
    ticket: int = 0

    @classmethod
    def for_width(cls, width: int) -> Columns:
        """Name first, then company, check-in and ticket at their narrowest; what is left widens them."""
        spare = width - 2 - (NUMBER_W + 1) - NAME_MIN
        chosen: dict[str, int] = {}
        for key, narrowest, _ in OPTIONAL:
            if spare >= narrowest + 1:
                chosen[key] = narrowest
                spare -= narrowest + 1
        name = NAME_MIN + min(spare, NAME_COMFORT - NAME_MIN)
        spare -= name - NAME_MIN
        for key, target in WIDEN:
            if key in chosen and spare > 0:
                extra = min(spare, max(0, target - chosen[key]))
                chosen[key] += extra
                spare -= extra
        return cls(name=name + spare, **chosen)


def checked_in_words(person: Attendee, tz: str) -> str:
    """``09:14 Desk 2``: when and where someone was checked in (blank while they are not)."""
    if not person.checked_in or person.checked_in_at is None:
        return ""
    where = f" {person.checked_in_station}" if person.checked_in_station else ""
    return f"{local_hhmm(person.checked_in_at, tz)}{where}"


def result_line(person: Attendee, columns: Columns, tz: str) -> Text:
    """One row: mark, name, number, then as much of company, ticket and check-in as fits."""
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    if person.status == "cancelled":
        line.append("✗ ", style="bold red")
        line.append(fit(person.name, columns.name), style="strike")
    elif person.checked_in:
        line.append("✓ ", style="bold green")
        line.append(fit(person.name, columns.name), style="bold")
    else:
        line.append("  ")
        line.append(fit(person.name, columns.name), style="bold")
    line.append(" ")
    if person.registration_number is None:
        line.append(fit("pending", NUMBER_W), style="italic yellow")
    else:
        line.append(fit(f"#{person.registration_number}", NUMBER_W), style="dim")
    if columns.company:
        line.append(" ")
        line.append(fit(person.company, columns.company))
    if columns.ticket:
        line.append(" ")
        line.append(fit(person.ticket_type, columns.ticket), style="italic")
    if columns.checked_in:
        line.append(" ")
        if person.status == "cancelled":
            line.append(fit("cancelled", columns.checked_in), style="red")
        else:
            line.append(fit(checked_in_words(person, tz), columns.checked_in), style="green")
    return line


class ResultsList(OptionList, can_focus=False):
    """Matches for the search box; options are keyed by attendee id so a refresh keeps the highlight."""

    DEFAULT_CSS = """
    ResultsList {
        height: 1fr;
        max-height: 100%;
        border: round $border-blurred;
        padding: 0;
        scrollbar-size-vertical: 1;
        /* The scrollbar's gutter is always there: one that appears with the first letter typed would
           re-lay out the whole screen on that keystroke (the slowest one before this). */
        overflow-y: scroll;
        & > .option-list--option { padding: 0 1; }
        & > .option-list--option-highlighted {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        & > .option-list--option-disabled { color: $text-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.people: list[Attendee] = []
        self._tz = "UTC"
        self._hint: str | None = None
        self._columns_for = 0

    # -- what the screen calls ---------------------------------------------------------------------

    def show_people(self, people: Sequence[Attendee], tz: str, keep: str | None = None) -> None:
        """Replace the rows; the highlight stays on ``keep`` when they are still listed, else the first."""
        self.people = list(people)
        self._tz = tz
        self._hint = None
        self._rebuild(keep)

    def show_hint(self, hint: str) -> None:
        """No list, a line of guidance instead (empty search box, nobody matching)."""
        self.people = []
        self._hint = hint
        self._rebuild(None)

    @property
    def highlighted_person(self) -> Attendee | None:
        index = self.highlighted
        if index is None or not self.people or index >= len(self.people):
            return None
        return self.people[index]

    # -- building rows -------------------------------------------------------------------------------

    def _text_width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width or 80
        return max(20, width - 2)  # the option's own padding

    def _rebuild(self, keep: str | None) -> None:
        if self._hint is not None:
            self.set_options([Option(Text(self._hint, style="italic"), disabled=True)])
            return
        width = self._text_width()
        self._columns_for = width
        columns = Columns.for_width(width)
        self.set_options(Option(result_line(p, columns, self._tz), id=p.id) for p in self.people)
        if not self.people:
            return
        index = 0
        if keep is not None:
            for i, person in enumerate(self.people):
                if person.id == keep:
                    index = i
                    break
        self.highlighted = index

    def _update_lines(self) -> None:
        # Every result row is exactly one line (cut to fit, never wrapped), so skip OptionList's measuring of
        # each option's height: it renders all fifty rows on every keystroke just to learn they are 1 high.
        if self._hint is not None or not self.scrollable_content_region:
            super()._update_lines()
            return
        cache = self._line_cache
        lines = cache.lines
        for index in range(lines[-1][0] + 1 if lines else 0, len(self._options)):
            cache.index_to_line[index] = len(lines)
            cache.heights[index] = 1
            lines.append((index, 0))
        virtual_size = Size(self.scrollable_content_region.width, len(lines))
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def _get_option_render(self, option: Option, style: Style) -> list[Strip]:
        # A result row is a one-line rich Text cut to the width: render it with Rich directly (~0.02 ms) rather
        # than through Textual's general visual pipeline (~0.3 ms a row), which made repainting a page of
        # results the biggest cost of a keystroke.
        if self._hint is not None or not isinstance(option.prompt, Text):
            return super()._get_option_render(option, style)
        padding = self.get_component_styles("option-list--option").padding
        width = self.scrollable_content_region.width
        cache_key = (option, style, padding)
        strips = self._option_render_cache.get(cache_key)
        if strips is None:
            base = style.rich_style
            segments = [Segment(" " * padding.left, base)]
            segments += Segment.apply_style(option.prompt.render(self.app.console), base)
            strip = Strip(segments).crop_extend(0, width, base)
            strips = [strip.apply_meta({"option": self._option_to_index[option]})]
            self._option_render_cache[cache_key] = strips
        return strips

    def on_resize(self) -> None:
        if self._hint is None and self.people and self._text_width() != self._columns_for:
            current = self.highlighted_person
            self._rebuild(current.id if current else None)
