"""Staff accounts, role grants and desk tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import Grant, Principal
from focusdesk.domain.timeutil import to_iso
from focusdesk.server.schema import events, grants, stations, tokens, users


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a stolen database does not yield usable tokens."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class TokenCheck:
    """Outcome of looking a bearer token up: a principal, or the reason it is not accepted."""

    principal: Principal | None
    expires_at: float | None
    problem: str | None  # "unknown", "expired", "revoked", "disabled"


def create_user(
    conn: Connection, email: str, password_hash: str, role_grants: list[Grant], display_name: str, now: float
) -> int:
    if conn.execute(select(users.c.id).where(users.c.email == email)).first():
        raise DomainError("duplicate_email", f"a user with email {email} already exists")
    for g in role_grants:
        if g.event_id is not None and not conn.execute(select(events.c.id).where(events.c.id == g.event_id)).first():
            raise DomainError("unknown_event", f"event {g.event_id} does not exist")
    user_id = conn.execute(
        insert(users)
        .values(email=email, display_name=display_name, password_hash=password_hash, disabled=False, created_at=now)
        .returning(users.c.id)
    ).scalar_one()
    if role_grants:
        conn.execute(
            insert(grants), [{"user_id": user_id, "role": g.role, "event_id": g.event_id} for g in role_grants]
        )
    return user_id


def add_grant(conn: Connection, user_id: int, grant: Grant) -> None:
    exists = conn.execute(
        select(grants.c.id).where(
            grants.c.user_id == user_id,
            grants.c.role == grant.role,
            grants.c.event_id.is_(None) if grant.event_id is None else grants.c.event_id == grant.event_id,
        )
    ).first()
    if not exists:
        conn.execute(insert(grants).values(user_id=user_id, role=grant.role, event_id=grant.event_id))


def find_user(conn: Connection, email: str):
    return conn.execute(select(users).where(users.c.email == email)).mappings().first()


def grants_of(conn: Connection, user_id: int) -> tuple[Grant, ...]:
    rows = conn.execute(
        select(grants.c.role, grants.c.event_id).where(grants.c.user_id == user_id).order_by(grants.c.id)
    )
    return tuple(Grant(r.role, r.event_id) for r in rows)


def list_users(conn: Connection) -> list[dict]:
    out = []
    for u in conn.execute(select(users).order_by(users.c.id)).mappings():
        out.append(
            {
                "id": u["id"],
                "email": u["email"],
                "display_name": u["display_name"],
                "disabled": bool(u["disabled"]),
                "grants": [{"role": g.role, "event_id": g.event_id} for g in grants_of(conn, u["id"])],
            }
        )
    return out


def issue_token(
    conn: Connection, user_id: int, station_id: str | None, ttl_s: float, now: float
) -> tuple[str, int, float]:
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl_s
    token_id = conn.execute(
        insert(tokens)
        .values(
            token_hash=hash_token(token), user_id=user_id, station_id=station_id, created_at=now, expires_at=expires_at
        )
        .returning(tokens.c.id)
    ).scalar_one()
    return token, token_id, expires_at


def check_token(conn: Connection, token: str, now: float) -> TokenCheck:
    row = conn.execute(
        select(
            tokens.c.id,
            tokens.c.user_id,
            tokens.c.station_id,
            tokens.c.expires_at,
            tokens.c.revoked_at,
            users.c.email,
            users.c.disabled,
            stations.c.name.label("station_name"),
        )
        .join(users, users.c.id == tokens.c.user_id)
        .outerjoin(stations, stations.c.id == tokens.c.station_id)
        .where(tokens.c.token_hash == hash_token(token))
    ).first()
    if row is None:
        return TokenCheck(None, None, "unknown")
    if row.revoked_at is not None:
        return TokenCheck(None, None, "revoked")
    if row.expires_at <= now:
        return TokenCheck(None, None, "expired")
    if row.disabled:
        return TokenCheck(None, None, "disabled")
    principal = Principal(
        user_id=row.user_id,
        email=row.email,
        grants=grants_of(conn, row.user_id),
        station_id=row.station_id,
        station_name=row.station_name,
        token_id=row.id,
    )
    return TokenCheck(principal, row.expires_at, None)


def revoke_token(conn: Connection, token_id: int, now: float) -> None:
    conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=now))


def revoke_station_tokens(conn: Connection, station_id: str, now: float) -> int:
    if not conn.execute(select(stations.c.id).where(stations.c.id == station_id)).first():
        raise DomainError("not_found", f"no desk with station id {station_id}")
    result = conn.execute(
        update(tokens).where(tokens.c.station_id == station_id, tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount


def list_stations(conn: Connection) -> list[dict]:
    return [
        {
            "id": r.id,
            "name": r.name,
            "last_cmd_seq": r.last_cmd_seq,
            "last_seen_at": to_iso(r.last_seen_at),
        }
        for r in conn.execute(select(stations).order_by(stations.c.name))
    ]


def station_info(conn: Connection, station_id: str) -> dict | None:
    row = conn.execute(select(stations).where(stations.c.id == station_id)).first()
    if row is None:
        return None
    return {"id": row.id, "name": row.name, "last_cmd_seq": row.last_cmd_seq}
