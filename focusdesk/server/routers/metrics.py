"""``GET /metrics``: the server's metrics in Prometheus's text format (what they are: server/metrics.py).

Open by default, like /health: the figures reveal little. With ``FOCUSDESK_METRICS_TOKEN`` set, a scraper
must send ``Authorization: Bearer <that token>`` (Prometheus: ``authorization: {credentials: …}``).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from focusdesk.server.deps import bearer_token
from focusdesk.server.errors import ApiError
from focusdesk.server.metrics import CONTENT_TYPE_LATEST
from focusdesk.server.state import ServerState, get_state

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, state: ServerState = Depends(get_state)) -> Response:
    expected = state.settings.metrics_token
    if expected:
        given = bearer_token(request.headers.get("authorization", ""))
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise ApiError(
                "not_authenticated",
                "/metrics needs the metrics token: send 'Authorization: Bearer <token>' with the value of "
                "FOCUSDESK_METRICS_TOKEN the server was started with.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(await state.metrics.render(state), media_type=CONTENT_TYPE_LATEST)
