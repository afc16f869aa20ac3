#!/usr/bin/env python
"""The Rooms screen with 50 running rooms, redrawing once a second: CPU of the desk process (issue 7: "stays
under 10 % of one core").

Run from the repository root::

    .venv/bin/python benchmarks/rooms_screen.py --json     # ~2.5 min; table on stderr, one JSON line last

A station file with 50,000 attendees (the TUI benchmark's offline desk, ``tests/tui_offline.py``) is
prepared once. Before each run this parent writes 50 rooms into it, all running, timed around the moment
the measurement starts: countdowns of 20-90 minutes, pomodoros in their work and break phases, long
sessions shown as h:mm:ss, and five in or just before their last minute (the first reaches zero — TIME IS
UP, the bell — 20 s into the window). Then the real app runs in its own process, opens the station file,
switches to the Rooms screen (mode "rooms", what F4 does), and at an instant fixed by the parent measures
its own CPU time (user + system, every thread: ``getrusage(RUSAGE_SELF)``) over ``--duration`` seconds of
steady state. ``cpu_percent`` = CPU seconds / wall seconds × 100, i.e. per cent of one core.

- **terminal** (the figure that counts): the app runs in a tmux pane of that size (a private tmux server,
  no client attached), so it does what it does in a terminal: renders each frame to escape sequences and
  writes them out. tmux is the terminal emulator here; its own CPU over the window is reported apart
  (``terminal_emulator_cpu_percent``), as a real terminal's would not be the desk's.
- **headless** (labelled so): the same with Textual's headless driver, which composes the frames but
  skips turning them into terminal output — it shows what that output costs, and is not the real figure.

Also per second over the window: frames written, bytes written to the terminal, and room cards repainted
(cards whose digits, phase or look changed on the tick). The desk is offline with no sync loop and no
live changes: the once-a-second redraw is the only load, and nothing else runs in the measured process.

It is a measurement, not a test: it prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

ROOMS = 50
TARGET_PERCENT = 10.0
SIZES = ((120, 40), (200, 60))
STARTUP_S = 4.0  # from spawning the app to its Rooms screen shown, with room to spare
LAST_MINUTE_S = (20, 35, 45, 55, 80)  # remaining at the window's start of the rooms near their end


# -- the rooms -------------------------------------------------------------------------------------


def room_records(begin_at: float, count: int = ROOMS) -> list[dict]:
    """``count`` running rooms, timed so that at server time ``begin_at`` they are in the looks described above."""
    from focusdesk.domain.timers import BREAK, POMODORO, RUNNING, WORK, TimerState
    from tests.tui_offline import EVENT_ID

    rng = random.Random(7)
    kinds = ["Hall", "Workshop", "Studio", "Lab", "Room", "Lounge"]
    messages = ["", "", "", "Keynote: the offline desk", "Wrap up, please", "Q&A after the talk", "Doors close at 11"]
    last_minute = list(LAST_MINUTE_S)
    records = []
    for i in range(count):
        kind = i % 10
        if kind == 8 and last_minute:  # in (or just before) the last minute
            length = 20 * 60.0
            timer = TimerState(status=RUNNING, started_at=begin_at - (length - last_minute.pop(0)), duration=length,
                               work_s=length, message="Wrap up, please")  # fmt: skip
        elif kind in (6, 7):  # pomodoros, about a third of them on their break
            work, pause = rng.choice([(25 * 60.0, 5 * 60.0), (50 * 60.0, 10 * 60.0)])
            on_break = rng.random() < 0.35
            length = pause if on_break else work
            left = rng.uniform(90, length - 10)
            timer = TimerState(status=RUNNING, mode=POMODORO, phase=BREAK if on_break else WORK,
                               started_at=begin_at - (length - left), duration=length, work_s=work, break_s=pause,
                               cycle=rng.randint(0, 3), message=rng.choice(messages))  # fmt: skip
        elif kind == 9:  # a long session: h:mm:ss digits
            length = rng.choice([2, 3]) * 3600.0
            left = rng.uniform(3700, length)
            timer = TimerState(status=RUNNING, started_at=begin_at - (length - left), duration=length, work_s=length,
                               message=rng.choice(messages))  # fmt: skip
        else:  # a talk or workshop counting down
            length = rng.choice([20, 45, 90]) * 60.0
            left = rng.uniform(150, min(length, 3590))
            timer = TimerState(status=RUNNING, started_at=begin_at - (length - left), duration=length, work_s=length,
                               message=rng.choice(messages))  # fmt: skip
        capacity = rng.choice([None, 30, 40, 80, 120, 300])
        occupancy = rng.randint(0, capacity) if capacity else rng.randint(0, 60)
        records.append(
            {
                "id": f"room-{i:02d}",
                "event_id": EVENT_ID,
                "name": f"{kinds[i % len(kinds)]} {i + 1}",
                "capacity": capacity,
                "occupancy": occupancy,
                "work_s": timer.work_s,
                "break_s": timer.break_s or 300.0,
                "timer": timer.to_dict(),
                "rev": 1,
                "updated_by": "Desk 1",
            }
        )
    return records


def prepare(directory: Path, attendees: int) -> None:
    from tests.tui_offline import offline_context

    context = offline_context(directory, attendees)
    context.desk.station.close()


def load_rooms(directory: Path, begin_at: float, seq: int) -> None:
    """Write the rooms into the prepared station file (as a snapshot from the server would)."""
    from tests.tui_offline import offline_context_from

    context = offline_context_from(directory)
    station = context.desk.station
    station.apply_snapshot("offline-epoch", seq, {"rooms": room_records(begin_at)})
    station.close()


# -- the measured process --------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_run(directory: Path, out: Path, begin_at: float, duration: float, headless_size: str | None) -> None:
    from focusdesk.tui.app import FocusDeskApp
    from focusdesk.tui.screens.rooms import RoomsScreen
    from focusdesk.tui.widgets.room_card import RoomCard
    from tests.tui_offline import offline_context_from

    counts = {"frames": 0, "bytes": 0, "cards": 0}
    original_tick = RoomCard.tick

    def counted_tick(card: RoomCard, now: float) -> bool:
        before = card._painted
        rang = original_tick(card, now)
        if card._painted is not before:
            counts["cards"] += 1
        return rang

    RoomCard.tick = counted_tick  # type: ignore[method-assign]

    class BenchApp(FocusDeskApp):
        async def start_desk(self) -> None:
            await super().start_desk()
            await self.switch_mode("rooms")  # what F4 does
            self._shown_at = time.time()
            driver = self._driver
            if driver is not None:
                write = driver.write

                def counted_write(data: str) -> None:
                    counts["bytes"] += len(data.encode("utf-8", "surrogateescape"))
                    write(data)

                driver.write = counted_write  # type: ignore[method-assign]
            self.set_timer(max(0.5, begin_at - time.time()), self._begin)

        def _display(self, screen, renderable):  # type: ignore[no-untyped-def]
            if renderable is not None:
                counts["frames"] += 1
            return super()._display(screen, renderable)

        def _begin(self) -> None:
            self._settled_s = time.time() - self._shown_at
            for key in counts:
                counts[key] = 0
            self._t0, self._cpu0 = time.perf_counter(), cpu_seconds()
            self.set_timer(duration, self._end)

        def _end(self) -> None:
            wall = time.perf_counter() - self._t0
            cpu = cpu_seconds() - self._cpu0
            screen = self.screen
            cards = list(screen.query(RoomCard))
            visible = screen._compositor.visible_widgets
            figures = {
                "screen": type(screen).__name__,
                "rooms_screen": isinstance(screen, RoomsScreen),
                "size": f"{self.size.width}x{self.size.height}",
                "headless": self.is_headless,
                "cards": len(cards),
                "cards_visible": sum(1 for card in cards if card in visible),
                "settled_s": round(self._settled_s, 2),
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "cpu_percent": round(cpu / wall * 100, 2),
                "frames_per_s": round(counts["frames"] / wall, 2),
                "bytes_per_s": round(counts["bytes"] / wall),
                "cards_repainted_per_s": round(counts["cards"] / wall, 1),
                "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "term": os.environ.get("TERM", ""),
            }
            written = out.with_suffix(".part")
            written.write_text(json.dumps(figures))
            written.replace(out)  # the parent waits for ``out``: it appears whole
            self.exit()

    context = offline_context_from(directory)
    app = BenchApp(context)
    if headless_size:
        width, height = (int(n) for n in headless_size.split("x"))
        app.run(headless=True, size=(width, height))
    else:
        app.run()


# -- the parent ------------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_command(directory: Path, out: Path, begin_at: float, duration: float) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", str(directory), "--out", str(out),
            "--begin-at", repr(begin_at), "--duration", str(duration)]  # fmt: skip


def run_in_tmux(directory: Path, size: tuple[int, int], duration: float, seq: int) -> dict:
    """One run in a tmux pane of ``size``; the figures the app wrote, plus tmux's own CPU over the window."""
    width, height = size
    out = directory / f"figures-{width}x{height}.json"
    out.unlink(missing_ok=True)
    conf = directory / "tmux.conf"
    conf.write_text('set -g status off\nset -g remain-on-exit on\nset -g default-terminal "tmux-256color"\n')
    socket = f"focusdesk-rooms-bench-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", str(conf)]
    begin_at = time.time() + STARTUP_S + 4.0  # about 4 s of settling after the screen shows
    load_rooms(directory, begin_at, seq)
    command = "env COLORTERM=truecolor " + shlex.join(child_command(directory, out, begin_at, duration))
    subprocess.run([*tmux, "new-session", "-d", "-s", "bench", "-x", str(width), "-y", str(height), command],
                   check=True, cwd=REPO_ROOT)  # fmt: skip
    try:
        shown = subprocess.run([*tmux, "display-message", "-p", "#{pid} #{socket_path}"], check=True,
                               capture_output=True, text=True).stdout  # fmt: skip
        pid_text, _, socket_path = shown.strip().partition(" ")
        server_pid = int(pid_text)
        time.sleep(max(0.0, begin_at - time.time()))
        tmux_cpu0, t0 = proc_cpu_seconds(server_pid), time.perf_counter()
        time.sleep(duration)
        tmux_cpu = proc_cpu_seconds(server_pid) - tmux_cpu0
        tmux_wall = time.perf_counter() - t0
        deadline = time.time() + 30
        while not out.exists() and time.time() < deadline:
            time.sleep(0.2)
        if not out.exists():
            pane = subprocess.run([*tmux, "capture-pane", "-p", "-S", "-60"], capture_output=True, text=True).stdout
            raise SystemExit(f"the app in the {width}x{height} pane wrote no figures; the pane shows:\n{pane}")
        figures = json.loads(out.read_text())
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    Path(socket_path).unlink(missing_ok=True)  # this run's private tmux server leaves its socket behind
    figures["terminal_emulator_cpu_percent"] = round(tmux_cpu / tmux_wall * 100, 2)
    return figures


def run_headless(directory: Path, size: tuple[int, int], duration: float, seq: int) -> dict:
    width, height = size
    out = directory / f"figures-headless-{width}x{height}.json"
    begin_at = time.time() + STARTUP_S + 4.0
    load_rooms(directory, begin_at, seq)
    command = [*child_command(directory, out, begin_at, duration), "--headless", f"{width}x{height}"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"the headless app failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--attendees", type=int, default=50_000)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured per run")
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES))
    parser.add_argument("--no-headless", action="store_true", help="only the runs in a terminal")
    parser.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--begin-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--headless", metavar="WxH", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        child_run(Path(args.child), Path(args.out), args.begin_at, args.duration, args.headless)
        return 0

    if shutil.which("tmux") is None:
        print("tmux is needed (the app is measured in a tmux pane)", file=sys.stderr)
        return 1
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    runs: list[tuple[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        prepare(directory, args.attendees)
        print(f"  prepared {args.attendees} attendees in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        seq = 1
        for size in sizes:
            seq += 1
            print(f"  terminal {size[0]}x{size[1]}: {args.duration:.0f} s measured …", file=sys.stderr)
            runs.append(("terminal", run_in_tmux(directory, size, args.duration, seq)))
        if not args.no_headless:
            for size in sizes:
                seq += 1
                print(f"  headless {size[0]}x{size[1]}: {args.duration:.0f} s measured …", file=sys.stderr)
                runs.append(("headless", run_headless(directory, size, args.duration, seq)))

    for how, figures in runs:
        if not figures["rooms_screen"] or figures["cards"] != ROOMS:
            print(f"  {how} {figures['size']}: not the Rooms screen with {ROOMS} rooms: {figures}", file=sys.stderr)
            return 1
    header = ("run", "size", "CPU % of a core", "frames/s", "KB/s out", "cards repainted/s", "cards visible",
              "terminal (tmux) CPU %")  # fmt: skip
    rows = [
        (how, f["size"], f"{f['cpu_percent']:.1f}", f"{f['frames_per_s']:.1f}",
         f"{f['bytes_per_s'] / 1024:.1f}" if how == "terminal" else "—", f"{f['cards_repainted_per_s']:.1f}",
         f"{f['cards_visible']}/{f['cards']}",
         f"{f['terminal_emulator_cpu_percent']:.1f}" if "terminal_emulator_cpu_percent" in f else "—")
        for how, f in runs
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\nRooms screen, {ROOMS} running rooms, {args.duration:.0f} s each (target < {TARGET_PERCENT:.0f} %)",
          file=sys.stderr)  # fmt: skip
    for row in [header, *rows]:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)), file=sys.stderr)

    result: dict = {"rooms": ROOMS, "attendees": args.attendees, "duration_s": args.duration,
                    "target_percent": TARGET_PERCENT}  # fmt: skip
    for how, f in runs:
        suffix = f["size"] if how == "terminal" else f"headless_{f['size']}"
        result[f"cpu_percent_{suffix}"] = f["cpu_percent"]
        result[f"frames_per_s_{suffix}"] = f["frames_per_s"]
        result[f"cards_repainted_per_s_{suffix}"] = f["cards_repainted_per_s"]
        if how == "terminal":
            result[f"bytes_per_s_{suffix}"] = f["bytes_per_s"]
            result[f"terminal_emulator_cpu_percent_{suffix}"] = f["terminal_emulator_cpu_percent"]
            result[f"rss_mb_{suffix}"] = f["rss_mb"]
    terminal = [f["cpu_percent"] for how, f in runs if how == "terminal"]
    result["under_target"] = bool(terminal) and max(terminal) < TARGET_PERCENT
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
