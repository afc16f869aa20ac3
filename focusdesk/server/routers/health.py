from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from focusdesk import __version__
from focusdesk.server.api_models import HealthOut
from focusdesk.server.state import ServerState, get_state

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(state: ServerState = Depends(get_state)):
    """Liveness and database reachability, for load balancers and the desks' status bar."""
    body = await health_body(state)
    return JSONResponse(body, status_code=200 if body["database"] == "ok" else 503)


async def health_body(state: ServerState) -> dict[str, Any]:
    """What /health answers (the Operations board shows it too)."""
    db_ok = await state.db.aping()
    fanout = state.fanout
    body: dict[str, Any] = {
        "status": "ok" if db_ok else "degraded",
        "version": __version__,
        "database": "ok" if db_ok else "unreachable",
        "redis": "off" if fanout is None else "ok" if fanout.connected else "unavailable",
        "instance": state.instance_id,
    }
    if state.last_backup is not None:  # only with `serve --backup-every`
        body["backup"] = state.last_backup
    return body


@router.get("/api/v1/time")
async def server_time() -> dict[str, float]:
    """The server's clock (epoch seconds): desks time this round trip to measure their clock offset
    when the live channel (which has ``ping``/``pong``) is not available."""
    return {"server_time": time.time()}
