"""The FastAPI application."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from focusdesk import __version__
from focusdesk.domain import live
from focusdesk.server.bodylimit import BodyLimitMiddleware
from focusdesk.server.db import Database
from focusdesk.server.errors import install_error_handlers
from focusdesk.server.fastpath import CommandsFastPath
from focusdesk.server.gc_tuning import freeze_startup_objects
from focusdesk.server.live.endpoint import LiveEndpoint, LiveRoute, revalidate_tokens
from focusdesk.server.routers import (
    attendees,
    auth,
    commands,
    draws,
    events,
    health,
    notices,
    reservations,
    rooms,
    sync,
)
from focusdesk.server.settings import Settings
from focusdesk.server.state import ServerState

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings.database_url)
        await asyncio.to_thread(db.migrate)
        db.start()
        state = app.state.focusdesk = ServerState.create(settings, db)
        state.hub.set_revalidator(partial(revalidate_tokens, state))
        state.hub.start()

        def publish(changes: list) -> None:
            state.hub.publish_threadsafe(changes)
            state.reservation_clock.hear(changes)

        db.publisher = publish
        state.reservation_clock.start()
        if settings.freeze_gc_after_start:
            freeze_startup_objects()
        try:
            yield
        finally:
            await state.reservation_clock.stop()
            await state.hub.stop(live.CLOSE_SHUTDOWN, "the server is restarting; reconnect")
            db.publisher = None
            await db.aclose()

    app = FastAPI(
        title="FocusDesk",
        version=__version__,
        summary="On-site operations for events: check-in desks, attendees, live state.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        overrides={"/attendees/import": settings.max_import_bytes},
    )
    # Added last, so it runs first (inside only the server-error handler): see fastpath.py.
    app.add_middleware(CommandsFastPath, path=API_PREFIX + commands.PATH, max_body=settings.max_body_bytes)
    # Outermost of all: the live WebSocket skips every other layer (see LiveRoute).
    app.add_middleware(LiveRoute, endpoint=LiveEndpoint())
    app.include_router(health.router)
    for module in (auth, events, attendees, commands, sync, rooms, notices, draws, reservations):
        app.include_router(module.router, prefix=API_PREFIX)
    return app
