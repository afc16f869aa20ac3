"""`GET /api/v1/sync`: the polling twin of the live channel's `sub` (same payloads, same guarantees)."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from focusdesk.domain.roles import ATTENDEE_READ, Principal
from focusdesk.server.api_models import ErrorOut
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store.changelog import parse_event_scope
from focusdesk.server.store.sync import DELTA_PAGE_MAX, sync_payload, unknown_scope

router = APIRouter(tags=["sync"])


@router.get(
    "/sync",
    responses={
        200: {"description": "`sub_ok` with mode `delta` (changes since+1..) or `snapshot` (state at seq)."},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)
async def sync(
    scope: str = Query(max_length=64, description="event:<id>"),
    epoch: str | None = Query(default=None, max_length=32, description="The epoch the desk last saw"),
    since: int | None = Query(default=None, ge=0, le=2**53, description="The last seq the desk applied"),
    limit: int = Query(default=1000, ge=1, le=DELTA_PAGE_MAX, description="Most changes per delta page"),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """A delta when the desk's (epoch, since) is provably continuous with the log, else a snapshot.

    A delta page with `more: true` is followed by another request from its last seq.
    """
    event_id = parse_event_scope(scope)
    if event_id is None:
        raise unknown_scope(scope)
    ensure(principal, ATTENDEE_READ, event_id)
    body = await state.db.read(
        partial(sync_payload, scope=scope, epoch=epoch, since=since, limit=limit, viewer=principal)
    )
    return Response(body, media_type="application/json")
