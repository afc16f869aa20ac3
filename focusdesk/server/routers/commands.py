"""`POST /api/v1/commands`: a desk's numbered commands, applied exactly once."""

from __future__ import annotations

import time
from functools import partial

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from focusdesk.domain.roles import Principal
from focusdesk.server.api_models import CommandsIn, CommandsOut, ErrorOut
from focusdesk.server.deps import authenticated
from focusdesk.server.errors import ApiError
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store.checkins_pg import apply_checkins
from focusdesk.server.store.commands import CommandIn, apply_batches
from focusdesk.server.store.lost_commands import declare_lost

router = APIRouter(tags=["commands"])
PATH = "/commands"


@router.post(
    PATH,
    response_model=CommandsOut,
    responses={
        400: {"model": ErrorOut},
        401: {"model": ErrorOut},
        409: {"model": ErrorOut, "description": "A gap: resend from `resend_from`."},
        422: {"model": ErrorOut},
    },
)
async def post_commands(
    body: CommandsIn, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    """Apply a batch of consecutive commands from this desk.

    Replays (cmd_seq at or below the desk's watermark) are answered from the stored results with no
    second effect; a batch that starts past watermark+1 gets 409 `resend_from`. A command the rules
    refuse is answered `rejected` with a code: final, never to be retried.
    """
    if not principal.station_id:
        raise ApiError(
            "not_a_desk",
            "Commands come from a desk: sign in with station_id and station_name to get a desk token.",
        )
    return await apply_commands(state, principal, body)


async def apply_commands(state: ServerState, principal: Principal, body: CommandsIn) -> Response:
    """The endpoint's work once the caller is known to be a desk and the body is valid (shared with
    the fast path in ``server/fastpath.py``)."""
    commands = [
        CommandIn(c.cmd_seq, c.type, c.args, c.device_time.timestamp() if c.device_time else None)
        for c in body.commands
    ]
    if body.lost_before is not None:  # rare: only after a restore (store/lost_commands.py)
        await state.db.write(partial(declare_lost, principal=principal, before=body.lost_before, now=time.time()))
    # On PostgreSQL a group of check-ins goes the two-statement way (store/checkins_pg.py) when it can.
    outcome = await state.db.write_merged(apply_batches, (principal, commands), fast=apply_checkins)
    # Counted here, after the commit: a merged group that fails and is retried does not count twice.
    state.metrics.count_commands(outcome.answered)
    results = ",".join(outcome.results)
    if outcome.resend_from is not None:
        content = (
            f'{{"code":"resend_from","message":"Commands {outcome.resend_from}..'
            f'{commands[0].cmd_seq - 1} never arrived; resend from {outcome.resend_from}.",'
            f'"resend_from":{outcome.resend_from},"last_cmd_seq":{outcome.last_cmd_seq},"results":[{results}]}}'
        )
        return Response(content, status_code=409, media_type="application/json")
    # Results are stored as encoded JSON and sent as they are: no decode/encode on the hot path.
    content = f'{{"last_cmd_seq":{outcome.last_cmd_seq},"results":[{results}]}}'
    return Response(content, media_type="application/json")
