"""A dialog form that shows refused input where it belongs: each problem under its field (the field
marked, the first one focused), anything else in the form's message line.

A form names its widgets ``#<FORM_PREFIX>-<field>``, the complaint lines under them
``#<FORM_PREFIX>-<field>-error`` and its message line ``#<FORM_PREFIX>-message``; ``FORM_LABELS`` lists its
fields in screen order with the word a complaint starts with ("Name must not be empty").
"""

from __future__ import annotations

from textual.widgets import Static

from focusdesk.domain.errors import FieldProblem
from focusdesk.tui.dialogs.framed import FramedDialog, ResultT


class FieldForm(FramedDialog[ResultT]):
    FORM_PREFIX = ""
    FORM_LABELS: dict[str, str] = {}
    # The station's name of a field → the form's, where they differ ("holder_name" → "holder").
    STATION_NAMES: dict[str, str] = {}

    def form_field(self, problem: FieldProblem) -> str | None:
        """The form field a station problem is about (None: say it in the message line). The station
        prefixes names with what it checked ("reservation.start", "args.fields.name")."""
        name = problem.field.rsplit(".", 1)[-1]
        name = self.STATION_NAMES.get(name, name)
        return name if name in self.FORM_LABELS else None

    def problem_words(self, reason: str) -> str:
        return reason

    def _say(self, selector: str, words: str) -> None:
        line = self.query_one(selector, Static)
        line.update(words)
        line.set_class(not words, "-empty")

    def show_problems(self, problems: list[FieldProblem], message: str | None = None) -> None:
        prefix = self.FORM_PREFIX
        by_field: dict[str, list[str]] = {}
        others = [message] if message else []
        for problem in problems:
            field = self.form_field(problem)
            if field is None:
                others.append(f"{problem.field} {problem.reason}")
            else:
                by_field.setdefault(field, []).append(self.problem_words(problem.reason))
        for field, label in self.FORM_LABELS.items():
            reasons = by_field.get(field, [])
            self.query_one(f"#{prefix}-{field}").set_class(bool(reasons), "-problem")
            self._say(f"#{prefix}-{field}-error", "\n".join(f"{label} {reason}" for reason in reasons))
        self._say(f"#{prefix}-message", "\n".join(others))
        first = next((f for f in self.FORM_LABELS if f in by_field), None)
        if first is not None:
            widget = self.query_one(f"#{prefix}-{first}")
            if widget.focusable:
                widget.focus()

    @property
    def problems_shown(self) -> dict[str, str]:
        """Field → the complaint under it, as on screen (tests read this)."""
        return {
            field: str(error.content)
            for field in self.FORM_LABELS
            if not (error := self.query_one(f"#{self.FORM_PREFIX}-{field}-error", Static)).has_class("-empty")
        }
