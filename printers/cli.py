"""`focusdesk printers …`: list models, scan, render a badge to PNG, print, test-print, read status.

Lives in the printers package (plain Python) and is mounted by focusdesk's CLI. ``--virtual`` runs any command
against a virtual unit of the model, so every command can be tried on a machine without printers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

from printers.errors import PrinterError
from printers.models import MODELS, ModelSpec, get_model


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    printers = sub.add_parser("printers", help="label printers: models, scan, render, print, test")
    cmds = printers.add_subparsers(dest="printers_cmd", metavar="ACTION", required=True)

    p = cmds.add_parser("models", help="list supported models: id, dots, dpi, transport")
    p.set_defaults(func=_guarded(cmd_models))

    p = cmds.add_parser("scan", help="find Bluetooth label printers nearby, strongest signal first")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to listen (default 5)")
    p.add_argument("--virtual", action="store_true", help="scan the virtual printers instead of the radio")
    p.set_defaults(func=_guarded(cmd_scan))

    p = cmds.add_parser("render", help="render a badge to PNG: the exact 1-bit raster the printer receives")
    _model_args(p)
    _badge_args(p)
    p.add_argument("--out", required=True, help="PNG file to write")
    p.set_defaults(func=_guarded(cmd_render))

    p = cmds.add_parser("print", help="print a badge")
    _model_args(p)
    _where_args(p)
    _badge_args(p)
    p.add_argument("--copies", type=int, default=1)
    p.set_defaults(func=_guarded(cmd_print))

    p = cmds.add_parser("test", help="print a test label (model, resolution, frame, QR)")
    _model_args(p)
    _where_args(p)
    p.set_defaults(func=_guarded(cmd_test))

    p = cmds.add_parser("status", help="ask a printer how it is (paper, cover, battery)")
    _model_args(p)
    _where_args(p)
    p.set_defaults(func=_guarded(cmd_status))


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Printer errors become one sentence on stderr and exit status 2, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except PrinterError as exc:
            print(f"focusdesk printers: {exc}", file=sys.stderr)
            return 2

    return run


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="MODEL", help="model id, see `focusdesk printers models`")
    p.add_argument("--media", metavar="SIZE", help="label size id (default: the model's first)")
    p.add_argument("--density", type=int, help="print density (default: the model's)")


def _where_args(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", help="Bluetooth address, or host[:port] for network printers")
    where.add_argument("--virtual", action="store_true", help="use a virtual printer of this model")
    p.add_argument("--decoded-out", metavar="PNG", help="with --virtual: save what the printer decoded")


def _badge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="the attendee's name, printed large")
    p.add_argument("--company", help="second line")
    p.add_argument("--ticket", help="ticket type or role, printed as a ribbon")
    p.add_argument("--qr", metavar="SECRET", help="the badge secret the QR code carries")
    p.add_argument("--font", help="a .ttf/.otf/.ttc to use instead of the automatic choice")


def _model(args: argparse.Namespace) -> ModelSpec:
    model = get_model(args.model)
    model.find_media(args.media)  # fail early with the known sizes
    return model


def cmd_models(args: argparse.Namespace) -> int:
    for m in MODELS.values():
        media = ", ".join(x.id for x in m.media)
        print(f"{m.id:18} {m.head_dots:4} dots  {m.dpi} dpi  {m.transport:3}  {m.name} (labels: {media})")
    return 0


def _render(args: argparse.Namespace, model: ModelSpec):  # type: ignore[no-untyped-def]
    from printers.badge import BadgeContent, render_badge

    content = BadgeContent(name=args.name, second_line=args.company, ribbon=args.ticket, qr=args.qr)
    return render_badge(content, model, model.find_media(args.media), font=args.font)


def cmd_render(args: argparse.Namespace) -> int:
    model = _model(args)
    media = model.find_media(args.media)
    bitmap = _render(args, model)
    out = Path(args.out)
    bitmap.to_image().save(out, format="PNG", dpi=(model.dpi, model.along_dpi))
    across_mm = bitmap.width * 25.4 / model.dpi
    along_mm = bitmap.height * 25.4 / model.along_dpi
    print(
        f"Wrote {out}: {bitmap.width}×{bitmap.height} dots ({across_mm:.1f}×{along_mm:.1f} mm, {media.id} label), "
        f"the exact 1-bit raster the {model.name} receives."
    )
    return 0


def _progress_printer() -> Callable[..., None]:
    """A live progress line on a terminal; on a pipe or log, one line per stage or message, not per row."""
    tty = sys.stderr.isatty()
    last = [""]

    def show(progress) -> None:  # type: ignore[no-untyped-def]
        if tty:
            text = progress.message or progress.stage
            if progress.total:
                text = f"{progress.stage}: {progress.done}/{progress.total} {progress.message}".rstrip()
            print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)
            return
        text = progress.message or progress.stage
        if text != last[0]:
            last[0] = text
            print(text, file=sys.stderr)

    return show


async def _with_session(args: argparse.Namespace, work) -> int:  # type: ignore[no-untyped-def]
    from printers.session import PrinterSession, PrinterTarget

    model = _model(args)
    async with AsyncExitStack() as stack:
        device = None
        if args.virtual:
            from printers.virtual.world import VirtualWorld

            world = await stack.enter_async_context(VirtualWorld([model.id]))
            target = world.target(model.id, media_id=args.media, density=args.density)
            session = PrinterSession(target, world.opener)
            device = world.device(model.id)
        else:
            target = PrinterTarget(model.id, args.address, args.media, args.density)
            session = PrinterSession(target)
        stack.push_async_callback(session.close)
        rc = await work(session)
        if device is not None and getattr(args, "decoded_out", None) and device.printed:
            device.printed[-1].to_image().save(args.decoded_out, format="PNG")
            print(f"Saved what the virtual printer decoded to {args.decoded_out}.")
        return rc


async def _run_job(session, job) -> int:  # type: ignore[no-untyped-def]
    outcome = await job.run(session, _progress_printer())
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
    return 0 if outcome.ok else 1


def cmd_print(args: argparse.Namespace) -> int:
    from printers.jobs import PrintJob

    if args.copies < 1:
        raise PrinterError("--copies must be at least 1.")
    bitmap = _render(args, _model(args))
    return asyncio.run(_with_session(args, lambda s: _run_job(s, PrintJob(bitmap, copies=args.copies))))


def cmd_test(args: argparse.Namespace) -> int:
    from printers.badge import render_test_label
    from printers.jobs import PrintJob

    model = _model(args)
    bitmap = render_test_label(model, model.find_media(args.media))
    return asyncio.run(_with_session(args, lambda s: _run_job(s, PrintJob(bitmap, label="test label"))))


def cmd_status(args: argparse.Namespace) -> int:
    from printers.errors import describe_state

    async def ask(session) -> int:  # type: ignore[no-untyped-def]
        status = await session.status()
        line = f"{session.target.describe()}: {describe_state(status.state)}"
        if status.battery_percent is not None:
            line += f" Battery {status.battery_percent}%."
        if status.media:
            line += f" Labels: {status.media}."
        if status.detail:
            line += f" ({status.detail})"
        print(line)
        return 0 if status.can_print else 1

    return asyncio.run(_with_session(args, ask))


def cmd_scan(args: argparse.Namespace) -> int:
    from printers.transports.ble import scan

    async def run() -> int:
        async with AsyncExitStack() as stack:
            backend = None
            if args.virtual:
                from printers.virtual.world import VirtualWorld

                world = await stack.enter_async_context(VirtualWorld())
                backend = world.ble_backend
            found = await scan(timeout=args.timeout, backend=backend)
        if not found:
            print("No label printers found. Switch the printer on, keep it within a few metres, and scan again.")
            return 1
        for p in found:
            bars = "▂▄▆█"[: p.bars].ljust(4, "·")
            print(f"{bars} {p.rssi:4} dBm  {p.address}  {p.name or '?':20} {', '.join(p.models)}")
        return 0

    return asyncio.run(run())
