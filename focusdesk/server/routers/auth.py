"""Sign-in, sign-out, who am I; staff accounts; desks and their tokens."""

from __future__ import annotations

import asyncio
import hashlib
import time
from functools import partial

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import Connection

from focusdesk.domain.attendees import normalise_email
from focusdesk.domain.errors import FieldProblem, ValidationFailed
from focusdesk.domain.live import CLOSE_UNAUTHORIZED
from focusdesk.domain.roles import STATIONS_MANAGE, USERS_MANAGE, Grant, Principal
from focusdesk.domain.timeutil import to_iso
from focusdesk.server.api_models import (
    STATION_ID_PATTERN,
    ErrorOut,
    LoginIn,
    LoginOut,
    MeOut,
    RevokeOut,
    StationListItem,
    UserIn,
    UserListItem,
    UserOut,
)
from focusdesk.server.deps import authenticated, ensure
from focusdesk.server.errors import ApiError
from focusdesk.server.passwords import DUMMY_HASH, hash_password, password_problem, verify_password
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store import accounts
from focusdesk.server.store.commands import ensure_station

router = APIRouter(tags=["auth"])
ERR = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}}


def _user_out(user_id: int, email: str, display_name: str, grants: tuple[Grant, ...]) -> dict:
    return {
        "id": user_id,
        "email": email,
        "display_name": display_name,
        "grants": [{"role": g.role, "event_id": g.event_id} for g in grants],
    }


@router.post("/auth/login", response_model=LoginOut, responses={**ERR, 429: {"model": ErrorOut}})
async def login(body: LoginIn, request: Request, state: ServerState = Depends(get_state)):
    """Exchange email and password for a bearer token (bound to the desk when `station_id` is given)."""
    email = normalise_email(body.email)
    # The throttle's key for the address: a digest, so failed addresses are not passed around between
    # instances (server/fanout.py) or kept in memory as typed.
    email_key = hashlib.sha256(email.encode()).hexdigest()[:32]
    client = request.client.host if request.client else "unknown"
    for window, key in ((state.login_by_email, email_key), (state.login_by_ip, client)):
        wait = window.retry_after(key)
        if wait is not None:
            raise ApiError(
                "rate_limited",
                f"Too many failed sign-ins; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
    user = await state.db.read(partial(accounts.find_user, email=email))
    stored = user["password_hash"] if user else DUMMY_HASH
    ok = await asyncio.to_thread(verify_password, body.password, stored)
    if user is None or not ok:
        state.login_failed(email_key, client)
        raise ApiError("bad_credentials", "Wrong email or password.")
    if user["disabled"]:
        raise ApiError("token_disabled", "This account is disabled; ask an admin.")
    state.login_by_email.clear(email_key)
    now = time.time()

    def work(conn: Connection) -> dict:
        station = None
        if body.station_id:
            name = body.station_name or body.station_id
            last = ensure_station(conn, body.station_id, name, now)
            station = {"id": body.station_id, "name": name, "last_cmd_seq": last}
        token, _tid, expires_at = accounts.issue_token(
            conn, user["id"], body.station_id, state.settings.token_ttl_s, now
        )
        grants = accounts.grants_of(conn, user["id"])
        return {
            "token": token,
            "token_type": "bearer",
            "expires_at": to_iso(expires_at),
            "user": _user_out(user["id"], user["email"], user["display_name"], grants),
            "station": station,
        }

    return await state.db.write(work)


@router.post("/auth/logout", status_code=204, responses=ERR)
async def logout(principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)):
    """Revoke the token this request was made with."""
    await state.db.write(partial(accounts.revoke_token, token_id=principal.token_id, now=time.time()))
    state.tokens_revoked()
    state.hub.close_where(lambda c: c.principal.token_id == principal.token_id, CLOSE_UNAUTHORIZED, "signed out")
    return Response(status_code=204)


@router.get("/auth/me", response_model=MeOut, responses=ERR)
async def me(principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)):
    station = None
    if principal.station_id:
        station = await state.db.read(partial(accounts.station_info, station_id=principal.station_id))
    user = _user_out(principal.user_id, principal.email, "", principal.grants)
    return {"user": user, "station": station}


@router.get("/users", response_model=list[UserListItem], responses=ERR)
async def list_users(principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)):
    ensure(principal, USERS_MANAGE)
    return await state.db.read(accounts.list_users)


@router.post("/users", response_model=UserOut, status_code=201, responses={**ERR, 409: {"model": ErrorOut}})
async def create_user(
    body: UserIn, principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)
):
    """Add a staff account with its role grants (admin only)."""
    ensure(principal, USERS_MANAGE)
    email = normalise_email(body.email)
    problems = []
    if "@" not in email or " " in email:
        problems.append(FieldProblem("email", f"'{email}' is not an email address"))
    if (reason := password_problem(body.password)) is not None:
        problems.append(FieldProblem("password", reason))
    if problems:
        raise ValidationFailed(problems)
    grants = [Grant(g.role, g.event_id) for g in body.grants]
    password_hash = await asyncio.to_thread(hash_password, body.password)
    user_id = await state.db.write(
        partial(
            accounts.create_user,
            email=email,
            password_hash=password_hash,
            role_grants=grants,
            display_name=body.display_name.strip(),
            now=time.time(),
        )
    )
    return _user_out(user_id, email, body.display_name.strip(), tuple(grants))


@router.get("/stations", response_model=list[StationListItem], responses=ERR)
async def list_stations(principal: Principal = Depends(authenticated), state: ServerState = Depends(get_state)):
    """Every desk that has signed in, with its command watermark and when it was last seen."""
    ensure(principal, STATIONS_MANAGE)
    return await state.db.read(accounts.list_stations)


@router.post("/stations/{station_id}/revoke", response_model=RevokeOut, responses={**ERR, 404: {"model": ErrorOut}})
async def revoke_station(
    station_id: str = Path(pattern=STATION_ID_PATTERN),
    principal: Principal = Depends(authenticated),
    state: ServerState = Depends(get_state),
):
    """Sign a desk out everywhere (a lost or stolen laptop): all its tokens stop working."""
    ensure(principal, STATIONS_MANAGE)
    count = await state.db.write(partial(accounts.revoke_station_tokens, station_id=station_id, now=time.time()))
    state.tokens_revoked()
    state.hub.close_where(
        lambda c: station_id in (c.station_id, c.principal.station_id),
        CLOSE_UNAUTHORIZED,
        "this desk was signed out by an admin",
    )
    return {"revoked": count}
