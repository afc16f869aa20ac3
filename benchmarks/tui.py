#!/usr/bin/env python
"""The desk TUI at event scale: cold start to first paint, keystroke to updated results, Enter to checked in,
and memory — with 50,000 attendees in the desk's replica.

Run from the repository root::

    .venv/bin/python benchmarks/tui.py --json        # ~1-2 min; one JSON line last

A station file with 50,000 attendees (the demo generator: many scripts and accents) is prepared once.
Then a fresh Python process opens it and runs the real app headless (Textual's ``run_test``, 120×40):

- ``first_paint_ms``: from starting that process (measured by this parent) to the first frame of the desk
  screen (the child prints a line from the app's ``_display`` when that frame is composed) — interpreter
  start, imports, opening the station file, composing the screen. The search index (~0.5 s at 50,000)
  is built right after that frame; a keystroke before it is ready waits for it.
- ``keystroke_p50_ms`` / ``keystroke_p99_ms``: a key handed to the app's driver (as a terminal would)
  until the first frame composed after the results list shows the new query's first hit, for 1-3-letter
  prefixes of real names (see ``FrameClock``; Pilot's press/pause would time its own idle waits).
- ``checkin_p50_ms`` / ``checkin_p99_ms``: Enter on a scanned QR secret until the first frame after the
  person is checked in (outbox row written) and the box cleared.
- ``rss_mb``: the child's peak resident memory at the end.

It is a measurement, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import time

CHILD_STARTED = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SIZE = (120, 40)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def prepare(directory: Path, count: int) -> None:
    from tests.tui_offline import offline_context

    context = offline_context(directory, count)
    context.desk.station.close()


class FrameClock:
    """Times from a key handed to the app's driver to the first frame composed after the app handled it.

    Pilot's own ``press``/``pause`` wait for the whole process to go idle (100+ ms even in an empty app), so
    they would measure the harness. Instead the key goes in as the terminal driver would deliver it, and
    the app's ``_display`` (called for every composed frame, headless too) is watched for the first frame
    after the screen processed it.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.frames: list[float] = []
        original = app._display

        def display(screen, renderable):  # type: ignore[no-untyped-def]
            if renderable is not None:
                self.frames.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display

    async def key(self, key: str, done, timeout: float = 5.0) -> float:  # type: ignore[no-untyped-def]
        """ms from sending ``key`` until ``done()`` holds and a frame was composed after that."""
        from textual import events

        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(self.app)
        t0 = time.perf_counter()
        self.app._driver.send_message(event)
        deadline = t0 + timeout
        handled_at = None
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
            if handled_at is None and done():
                handled_at = time.perf_counter()
            if handled_at is not None and self.frames and self.frames[-1] >= handled_at:
                return (self.frames[-1] - t0) * 1000
        raise SystemExit(f"key {key!r}: no frame showed the result within {timeout} s")


async def child_run(directory: Path, count: int, keystrokes: int, checkins: int) -> dict:
    import resource

    from focusdesk.tui.app import FocusDeskApp
    from focusdesk.tui.screens.desk import DeskScreen
    from tests.tui_offline import offline_context_from

    context = offline_context_from(directory)
    app = FocusDeskApp(context)
    original_display = app._display

    def first_paint(screen, renderable):  # type: ignore[no-untyped-def]
        # The first frame of the desk screen is the first paint that matters (not the blank default screen).
        if renderable is not None and isinstance(screen, DeskScreen):
            print("PAINTED", flush=True)
            app._display = original_display
        return original_display(screen, renderable)

    app._display = first_paint
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        context.desk.station.warm_index()  # normally right after the first paint; make sure before timing keys
        clock = FrameClock(app)
        screen = app.screen
        station = context.desk.station
        rng = random.Random(7)
        names = [a.name for a in station.search("a", limit=200)] + [a.name for a in station.search("m", limit=200)]
        key_ms: list[float] = []

        def shows(query: str):  # type: ignore[no-untyped-def]
            # The results list shows the query's first hit at the top (or the box is empty again).
            expected = station.search(query, limit=1) if query else []

            def done() -> bool:
                if screen.search_box.value != query:
                    return False
                person = screen.results.highlighted_person if expected else None
                return (person is not None and person.id == expected[0].id) if expected else True

            return done

        while len(key_ms) < keystrokes:
            word = rng.choice(names).split()[0]
            typed = ""
            for ch in word[: rng.randint(1, 3)]:
                typed += ch
                key_ms.append(await clock.key(ch, shows(typed)))
            for _ in typed:
                await clock.key("backspace", lambda: True)
            await pilot.pause()
        checkin_ms: list[float] = []
        for n in rng.sample(range(1, count + 1), checkins):
            secret = f"QR{n:020d}"
            screen.search_box.value = secret
            await pilot.pause()

            def checked_in(secret: str = secret) -> bool:
                person = station.find_by_qr(secret)
                return person is not None and person.checked_in and screen.search_box.value == ""

            checkin_ms.append(await clock.key("enter", checked_in))
            await pilot.pause()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "keystroke_p50_ms": round(statistics.median(key_ms), 2),
        "keystroke_p99_ms": round(pct(key_ms, 99), 2),
        "keystrokes": len(key_ms),
        "checkin_p50_ms": round(statistics.median(checkin_ms), 2),
        "checkin_p99_ms": round(pct(checkin_ms, 99), 2),
        "checkins": len(checkin_ms),
        "rss_mb": round(rss_mb, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--attendees", type=int, default=50_000)
    parser.add_argument("--keystrokes", type=int, default=300)
    parser.add_argument("--checkins", type=int, default=100)
    parser.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        figures = asyncio.run(child_run(Path(args.child), args.attendees, args.keystrokes, args.checkins))
        print("FIGURES " + json.dumps(figures), flush=True)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        prepare(directory, args.attendees)
        print(f"  prepared {args.attendees} attendees in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        cmd = [sys.executable, __file__, "--child", str(directory), "--attendees", str(args.attendees)]
        cmd += ["--keystrokes", str(args.keystrokes), "--checkins", str(args.checkins)]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
        first_paint_ms = None
        figures: dict = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("PAINTED") and first_paint_ms is None:
                first_paint_ms = (time.perf_counter() - started) * 1000
            elif line.startswith("FIGURES "):
                figures = json.loads(line[len("FIGURES ") :])
        if proc.wait() != 0:
            print("the measured app failed", file=sys.stderr)
            return 1
    result = {"attendees": args.attendees, "first_paint_ms": round(first_paint_ms or -1, 1), **figures}
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
