"""The FastAPI application."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from focusdesk import __version__
from focusdesk.domain import live
from focusdesk.server.backups import with_scheduled_backups
from focusdesk.server.bodylimit import BodyLimitMiddleware
from focusdesk.server.db import Database
from focusdesk.server.dblock import holding_database_lock
from focusdesk.server.errors import install_error_handlers
from focusdesk.server.fanout import RedisFanout
from focusdesk.server.fastpath import CommandsFastPath
from focusdesk.server.gc_tuning import freeze_startup_objects
from focusdesk.server.live.endpoint import LiveEndpoint, LiveRoute, revalidate_tokens
from focusdesk.server.logs import write_logs_in_foreground
from focusdesk.server.metrics import ServerMetrics
from focusdesk.server.nul_guard import NulGuardMiddleware
from focusdesk.server.observer import RequestObserver, route_templates
from focusdesk.server.routers import (
    attendees,
    auth,
    commands,
    draws,
    events,
    health,
    metrics,
    notices,
    operations,
    reservations,
    rooms,
    sync,
)
from focusdesk.server.settings import Settings
from focusdesk.server.state import ServerState
from focusdesk.server.store.commands import COMMAND_TYPES
from focusdesk.server.store.meta import read_installation_id

API_PREFIX = "/api/v1"


async def _start_fanout(state: ServerState) -> RedisFanout:
    """Join the other instances on this database through Redis (see fanout.py)."""
    installation_id = await state.db.read(read_installation_id)

    def tokens_revoked() -> None:
        state.tokens.clear()
        asyncio.get_running_loop().create_task(state.hub.revalidate(), name="live-revalidate")

    def login_failures(failures: list[tuple[str, str]]) -> None:
        for email_key, client in failures:
            state.login_by_email.fail(email_key)
            state.login_by_ip.fail(client)

    fanout = RedisFanout(
        state.settings.redis_url,
        state.instance_id,
        on_heads=state.hub.poke,
        on_kinds=state.reservation_clock.hear_kinds,
        on_tokens_revoked=tokens_revoked,
        on_login_failures=login_failures,
        on_reconnect=state.hub.reconcile,
    )
    fanout.start(installation_id)
    return fanout


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    server_metrics = ServerMetrics(COMMAND_TYPES)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings.database_url)
        await asyncio.to_thread(db.migrate)
        db.start()
        state = app.state.focusdesk = ServerState.create(settings, db)
        state.metrics = server_metrics
        state.hub.set_revalidator(partial(revalidate_tokens, state))
        state.hub.start()
        fanout = state.fanout = await _start_fanout(state) if settings.redis_url else None

        def publish(changes: list) -> None:
            state.hub.publish_threadsafe(changes)
            state.reservation_clock.hear(changes)
            if fanout is not None:
                fanout.announce_threadsafe(changes)

        db.publisher = publish
        state.reservation_clock.start()
        state.presence.start()
        if settings.freeze_gc_after_start:
            freeze_startup_objects()
        try:
            yield
        finally:
            await state.reservation_clock.stop()
            await state.presence.stop()
            if fanout is not None:
                await fanout.stop()
            await state.hub.stop(live.CLOSE_SHUTDOWN, "the server is restarting; reconnect")
            db.publisher = None
            await db.aclose()
            write_logs_in_foreground()  # the last lines must not die in a queue (see logs.py)

    # Around everything the lifespan does: one server per SQLite file, so a restore can tell it is
    # running (server/dblock.py); and scheduled backups while it serves (server/backups.py).
    lifespan = holding_database_lock(settings.database_url, with_scheduled_backups(settings, lifespan))

    app = FastAPI(
        title="FocusDesk",
        version=__version__,
        summary="On-site operations for events: check-in desks, attendees, live state.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Inside the body limit (which runs first), so it never buffers more than the limit allows.
    app.add_middleware(NulGuardMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        overrides={"/attendees/import": settings.max_import_bytes},
    )
    # Added last, so it runs first (inside only the server-error handler): see fastpath.py.
    app.add_middleware(CommandsFastPath, path=API_PREFIX + commands.PATH, max_body=settings.max_body_bytes)
    # The live WebSocket skips every layer below this one (see LiveRoute).
    app.add_middleware(LiveRoute, endpoint=LiveEndpoint())
    app.include_router(health.router)
    app.include_router(metrics.router)
    api_routers = [
        m.router for m in (auth, events, attendees, commands, sync, rooms, notices, draws, reservations, operations)
    ]
    for router in api_routers:
        app.include_router(router, prefix=API_PREFIX)
    # Around even LiveRoute, so live sockets and fast-path commands are counted too (see observer.py).
    app.add_middleware(
        RequestObserver,
        metrics=server_metrics,
        templates=route_templates(API_PREFIX, api_routers),
        direct_routes=(API_PREFIX + commands.PATH,),
        websocket_routes=(live.PATH,),
    )
    return app


def create_worker_app() -> FastAPI:
    """The app of one `focusdesk serve --workers N` process (uvicorn imports it; settings come from the
    environment the parent set up)."""
    return create_app(Settings(freeze_gc_after_start=True))
