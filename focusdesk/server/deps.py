"""Request dependencies: who is calling, and may they do this to that event."""

from __future__ import annotations

import time
from functools import partial

from fastapi import Depends, Request

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Principal
from focusdesk.server.errors import ApiError
from focusdesk.server.state import ServerState, get_state
from focusdesk.server.store.accounts import TokenCheck, check_token

_PROBLEM_MESSAGES = {
    "unknown": ("token_unknown", "The sign-in token is not known; sign in again."),
    "expired": ("token_expired", "The sign-in token has expired; sign in again."),
    "revoked": ("token_revoked", "The sign-in token was revoked for this desk; sign in again."),
    "disabled": ("token_disabled", "This account is disabled; ask an admin."),
}
_BEARER = {"WWW-Authenticate": "Bearer"}


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def authenticated(request: Request, state: ServerState = Depends(get_state)) -> Principal:
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        raise ApiError(
            "not_authenticated",
            "Sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/login gives one).",
            headers=_BEARER,
        )
    check = await check_token_cached(state, token)
    if check.principal is None:
        code, message = token_problem(check)
        raise ApiError(code, message, headers=_BEARER)
    return check.principal


async def check_token_cached(state: ServerState, token: str) -> TokenCheck:
    check = state.tokens.get(token)
    if check is None:
        check = await state.db.read(partial(check_token, token=token, now=time.time()))
        state.tokens.put(token, check)
    return check


def token_problem(check: TokenCheck) -> tuple[str, str]:
    """``(code, message)`` saying why a token was refused (messages fit a WebSocket close reason)."""
    return _PROBLEM_MESSAGES[check.problem or "unknown"]


def ensure(principal: Principal, permission: str, event_id: int | None = None) -> None:
    """Refuse with 403 unless the principal holds ``permission`` (for ``event_id``)."""
    if principal.can(permission, event_id):
        return
    if event_id is None:
        raise DomainError("forbidden", f"your account may not do this ({permission} needs an admin)")
    raise DomainError("forbidden", f"your account has no role at event {event_id} that allows {permission}")
