"""The Drawing screen (F6): draw prize winners, confirm or redraw, export the results.

A draw needs the server (who may win depends on who is checked in *there*), so running one is an awaited
call in a worker, with "Drawing…" on screen and the server's refusal — or "A draw needs the server…" when
it cannot be reached — said in words. The result shows the winners with the seed and pool size that make
the draw checkable; it stays "proposed" until ``y`` confirms it, or ``r`` discards it and draws again.
Below, the event's draws, newest first; the highlighted one is the one shown (and the one ``y``/``r`` act
on). ``e`` writes every kept draw as CSV next to the desk's other files.

Staff (no ``draw.run``) see results as other desks draw them; the form tells them who runs draws.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Input, Label, OptionList, Static

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import DRAW_RUN
from focusdesk.station.api import ApiError
from focusdesk.station.model import Draw
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.widgets.draw_views import DrawHistory, result_renderable
from focusdesk.tui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

NOT_A_DRAWER = "Only organizers run draws. Results appear below as they are drawn, on every desk."
NO_RESULT = "No draw yet. Name the prize, say how many win, and press d (or Enter in the form)."


def export_path(directory: Path, event_id: int) -> Path:
    return directory / f"draws-{event_id}.csv"


class DrawingCommands(ScreenCommands):
    """The Drawing screen's actions in the command palette."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, DrawingScreen):
            return []
        return [
            ("Drawing: draw winners", "Run the draw in the form (d)", screen.action_draw),
            ("Drawing: confirm", "Confirm the shown draw's winners (y)", screen.action_confirm),
            ("Drawing: redraw", "Discard the shown draw and draw again (r, asks first)", screen.action_redraw),
            ("Drawing: export results", "Write the results as CSV (e)", screen.action_export),
        ]


class DrawingScreen(Screen[None]):
    DEFAULT_CSS = """
    DrawingScreen #draw-form {
        height: auto;
        border: round $primary 60%;
        border-title-style: bold;
        padding: 0 1;
    }
    DrawingScreen .draw-row { height: 1; }
    DrawingScreen .draw-row Label { padding: 0 1 0 0; }
    DrawingScreen #draw-prize { width: 1fr; }
    DrawingScreen #draw-count { width: 6; }
    DrawingScreen #draw-count-label { padding: 0 1 0 2; }
    DrawingScreen #draw-checked-in { border: none; padding: 0; height: 1; width: 1fr; background: transparent; }
    DrawingScreen #draw-run { min-width: 12; }
    DrawingScreen #draw-message { height: auto; }
    DrawingScreen #draw-message.-empty { display: none; }
    DrawingScreen #draw-message.-error { color: $text-error; text-style: bold; }
    DrawingScreen #draw-message.-busy { color: $text-warning; text-style: bold; }
    DrawingScreen #draw-message.-done { color: $text-success; }
    DrawingScreen #draw-not-allowed { color: $text-muted; }
    DrawingScreen.-can-draw #draw-not-allowed { display: none; }
    DrawingScreen.-cannot-draw .draw-row { display: none; }
    DrawingScreen #draw-result-box {
        height: auto;
        max-height: 60%;
        border: round $accent 60%;
        border-title-style: bold;
        padding: 0 1;
    }
    DrawingScreen #draw-result { height: auto; }
    DrawingScreen #draw-history { height: 1fr; min-height: 5; }
    """
    BINDINGS = [
        Binding("d", "draw", "Draw", id="drawing.draw", tooltip="Draw winners for the prize in the form"),
        Binding("y", "confirm", "Confirm", id="drawing.confirm", tooltip="Confirm the shown draw's winners"),
        Binding("r", "redraw", "Redraw", id="drawing.redraw", tooltip="Discard the shown draw and draw again"),
        Binding("e", "export", "Export CSV", id="drawing.export", tooltip="Write the results as a CSV file"),
    ]
    COMMANDS = {DrawingCommands}

    def __init__(self) -> None:
        super().__init__()
        self.busy: str | None = None  # what the running server call is doing ("Drawing"), if one runs

    def compose(self) -> ComposeResult:
        with Vertical(id="draw-form") as form:
            form.border_title = "Run a prize draw"
            yield Static(NOT_A_DRAWER, id="draw-not-allowed")
            with Horizontal(classes="draw-row"):
                yield Label("Prize")
                yield Input(placeholder="e.g. Mechanical keyboard", id="draw-prize", compact=True)
                yield Label("Winners", id="draw-count-label")
                yield Input("1", type="integer", id="draw-count", compact=True)
            with Horizontal(classes="draw-row"):
                yield Checkbox("Only checked-in attendees", value=True, id="draw-checked-in")
                yield Button("Draw (Enter)", id="draw-run", variant="primary", compact=True)
            yield Static("", id="draw-message", markup=False, classes="-empty")
        with VerticalScroll(id="draw-result-box") as box:
            box.border_title = "Result"
            yield Static(Text(NO_RESULT, style="dim"), id="draw-result")
        yield DrawHistory(id="draw-history")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.app.desk_changed.subscribe(self, self._desk_changed)  # type: ignore[attr-defined]
        self.refresh_draws()
        # A proposed draw waits for y or r: start on the list, where those keys work (in the form they type).
        waiting = self.shown_draw is not None and self.shown_draw.status == "proposed"
        self.query_one("#draw-prize" if self.may_draw and not waiting else "#draw-history").focus()

    def on_screen_resume(self) -> None:
        self.refresh_draws()

    def _desk_changed(self, _: Any) -> None:
        if self.is_current:
            self.refresh_draws()

    @property
    def desk(self) -> Any:
        return getattr(self.app, "desk", None)

    @property
    def history(self) -> DrawHistory:
        return self.query_one("#draw-history", DrawHistory)

    @property
    def may_draw(self) -> bool:
        return self.desk is not None and self.desk.station.can(DRAW_RUN)

    @property
    def shown_draw(self) -> Draw | None:
        return self.history.highlighted_draw

    def _tz(self) -> str:
        event = self.desk.station.event() or {}
        return event.get("timezone") or "UTC"

    def refresh_draws(self, *, select: str | None = None) -> None:
        if self.desk is None:
            return
        self.set_class(self.may_draw, "-can-draw")
        self.set_class(not self.may_draw, "-cannot-draw")
        draws = self.desk.draws.list()
        history = self.history
        history.show(draws, self._tz(), select=select)
        history.border_title = f"History ({len(draws)})"
        history.border_subtitle = "y confirm · r redraw · e export" if self.may_draw else "e export"
        self._show_result()

    def _show_result(self) -> None:
        draw = self.shown_draw
        result = self.query_one("#draw-result", Static)
        if draw is None:
            result.update(Text(NO_RESULT if self.may_draw else "No draw yet.", style="dim"))
        else:
            result.update(result_renderable(draw, self._tz(), decide=self.may_draw))
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#draw-history")
    def _highlighted(self) -> None:
        self._show_result()

    def _say(self, words: str, kind: str = "") -> None:
        message = self.query_one("#draw-message", Static)
        message.update(words)
        message.set_class(not words, "-empty")
        for name in ("-error", "-busy", "-done"):
            message.set_class(name == f"-{kind}", name)

    @property
    def message(self) -> str:
        """What the form's message line says (tests read it)."""
        return str(self.query_one("#draw-message", Static).content)

    # -- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted or self.desk is None:
            return True
        if action in ("confirm", "redraw"):
            draw = self.shown_draw
            return True if self.may_draw and draw is not None and draw.status == "proposed" else None
        if action == "draw":
            return True if self.may_draw else None
        if action == "export":
            return True if self.history.draws else None
        return True

    def _refuse_if_busy(self) -> bool:
        if self.busy is not None:
            self.notify(f"{self.busy}… — wait for the server's answer.", severity="warning")
            return True
        return False

    @on(Input.Submitted, "#draw-prize, #draw-count")
    @on(Button.Pressed, "#draw-run")
    def action_draw(self) -> None:
        if not self.may_draw:
            self.notify(NOT_A_DRAWER, title="Cannot draw", severity="warning")
            return
        if self._refuse_if_busy():
            return
        prize = self.query_one("#draw-prize", Input).value.strip()
        raw_count = self.query_one("#draw-count", Input).value.strip()
        count = int(raw_count) if raw_count.isdigit() else 0
        if not prize:
            self._say("Name the prize first.", "error")
            self.query_one("#draw-prize", Input).focus()
            return
        if count < 1:
            self._say("Draw at least one winner.", "error")
            self.query_one("#draw-count", Input).focus()
            return
        checked_in_only = self.query_one("#draw-checked-in", Checkbox).value
        self._call("Drawing", lambda: self.desk.draws.run(prize, count=count, checked_in_only=checked_in_only))

    def action_confirm(self) -> None:
        draw = self.shown_draw
        if draw is None or draw.status != "proposed" or self._refuse_if_busy():
            return
        self._call("Confirming", lambda: self.desk.draws.confirm(draw.id))

    def action_redraw(self) -> None:
        draw = self.shown_draw
        if draw is None or draw.status != "proposed" or self._refuse_if_busy():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._call("Redrawing", lambda: self.desk.draws.redraw(draw.id))

        names = ", ".join(w.name for w in draw.winners) or "nobody"
        self.app.push_screen(
            ConfirmDialog(
                f"Redraw {draw.prize}?",
                detail=f"This discards this draw ({names}; seed {draw.seed[:12]}…) and draws again with a new seed. "
                "The discarded draw stays in the history.",
                yes="Discard and redraw",
                no="Keep",
                default=False,
                title="Redraw",
            ),
            answered,
        )

    @work(exclusive=True, group="draw", exit_on_error=False)
    async def _call(self, doing: str, call: Callable[[], Awaitable[Draw]]) -> None:
        self.busy = doing
        self._say(f"{doing}… (asking the server)", "busy")
        try:
            draw = await call()
        except (DomainError, ApiError) as exc:
            self._say(exc.message, "error")
            self.notify(exc.message, title=f"{doing} failed", severity="error", markup=False)
            return
        except Exception as exc:  # a bug must not leave "Drawing…" on screen forever
            log.exception("drawing: %s failed", doing)
            self._say(f"{doing} failed unexpectedly: {exc}", "error")
            return
        finally:
            self.busy = None
        self.refresh_draws(select=draw.id)
        names = ", ".join(w.name for w in draw.winners)
        done = {"Drawing": "Drawn", "Confirming": "Confirmed", "Redrawing": "Redrawn"}.get(doing, "Done")
        self._say(f"{done}: {draw.prize} — {names}" if names else f"{done}: {draw.prize}", "done")
        self.history.focus()  # so y / r / e act at once (in the form they would be typed)

    def action_export(self) -> None:
        desk = self.desk
        kept = [d for d in desk.draws.list() if d.status != "discarded"]
        if not kept:
            self.notify("No draws to export yet (discarded draws are left out).", severity="warning")
            return
        path = export_path(Path(self.app.context.directory), desk.station.event_id)  # type: ignore[attr-defined]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(desk.draws.export_csv(), encoding="utf-8")
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc}", title="Export failed", severity="error", markup=False)
            return
        winners = sum(len(d.winners) for d in kept)
        self._say(f"Exported {winners} winners of {len(kept)} draws to {path}", "done")
        self.notify(f"{winners} winners of {len(kept)} draws written to {path}", title="Exported", markup=False)
