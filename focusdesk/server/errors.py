"""One error shape for every 4xx/5xx: ``{"code", "message", "errors": [{"field", "reason"}]}``.

A client (or a person reading a log) always gets a machine code, a sentence that says what to do, and,
for bad input, each offending field with its reason. Never a bare 500 for bad input.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from focusdesk.domain.errors import DomainError
from focusdesk.server.logs import SCOPE_KEY, current_request_id

log = logging.getLogger(__name__)

STATUS_BY_CODE = {
    "not_found": 404,
    "unknown_event": 404,
    "forbidden": 403,
    "not_authenticated": 401,
    "bad_credentials": 401,
    "token_unknown": 401,
    "token_expired": 401,
    "token_revoked": 401,
    "token_disabled": 401,
    "duplicate_email": 409,
    "duplicate_qr": 409,
    "duplicate_id": 409,
    "resend_from": 409,
    "import_has_errors": 422,
    "invalid_input": 422,
    "body_too_large": 413,
    "rate_limited": 429,
    "not_a_desk": 400,
    "malformed_json": 400,
    "unknown_room": 404,
    "duplicate_room": 409,
    "not_proposed": 409,
    "not_enough_people": 409,
    "event_closed": 409,
    # A timer command that does not fit the timer's state (already running, not paused, …).
    "already_running": 409,
    "paused": 409,
    "not_running": 409,
    "not_paused": 409,
    "already_idle": 409,
    "not_started": 409,
    "too_much": 409,
    "not_idle": 409,
    "unknown_preset": 422,
    "unknown_command": 422,
    # Reservations and resources.
    "unknown_resource": 404,
    "unknown_reservation": 404,
    "duplicate_resource": 409,
    "reservation_conflict": 409,
    "outside_hours": 409,
    "in_the_past": 409,
    "wrong_state": 409,
    "not_approved": 409,
    "too_early": 409,
    "too_late": 409,
    "has_bookings": 409,
    "not_a_device": 409,
}


def error_body(code: str, message: str, errors: list[dict[str, str]] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


class ApiError(DomainError):
    """A DomainError that also carries HTTP headers (Retry-After, WWW-Authenticate) or extra fields."""

    def __init__(self, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(code, message)
        self.headers = headers or {}
        self.extra = extra


def _request_id(request: Request) -> str | None:
    """The id the request observer gave this request (from the scope: the server-error handler runs
    outside the observer, after its context is gone)."""
    return request.scope.get(SCOPE_KEY) or current_request_id()


def _quotable(body: dict, status: int, request: Request) -> dict:
    """A 5xx body carries the request id, so the person who saw it can quote it and the log line be found."""
    if status >= 500 and (request_id := _request_id(request)):
        body["request_id"] = request_id
    return body


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts[:1] == ["body"]:
        parts = parts[1:] or ["body"]
    return ".".join(parts)


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = exc.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        first = next(p for p in problems if p.get("type") == "json_invalid")
        reason = (first.get("ctx") or {}).get("error", "not valid JSON")
        return JSONResponse(
            error_body("malformed_json", f"The request body is not valid JSON: {reason}"), status_code=400
        )
    errors = []
    for p in problems:
        reason = p.get("msg", "is invalid")
        if p.get("type") == "extra_forbidden":
            reason = "is not a known field"
        elif p.get("type") == "missing":
            reason = "is required"
        errors.append({"field": _field_name(tuple(p.get("loc", ()))), "reason": reason})
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:3])
    return JSONResponse(error_body("invalid_input", f"Invalid input — {summary}", errors), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _on_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc)

    @app.exception_handler(DomainError)
    async def _on_domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = [{"field": p.field, "reason": p.reason} for p in exc.problems]
        extra = {**exc.details, **getattr(exc, "extra", {})}
        # An ApiError may carry richer errors of its own (CSV rows with a row number); those win.
        errors = extra.pop("errors", None) or errors
        status = STATUS_BY_CODE.get(exc.code, 400)
        return JSONResponse(
            _quotable(error_body(exc.code, exc.message, errors, **extra), status, request),
            status_code=status,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "No such endpoint; see /docs for the API"
        return JSONResponse(
            _quotable(error_body(code, message), exc.status_code, request),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
        request_id = _request_id(request)
        log.exception("unhandled error on %s %s", request.method, request.url.path, extra={"request_id": request_id})
        body = error_body(
            "internal_error",
            "The server hit an unexpected error; nothing was changed. It has been logged"
            + (f" under request id {request_id}." if request_id else "."),
        )
        return JSONResponse(
            _quotable(body, 500, request),
            status_code=500,
            # This answer is sent from outside the request observer, which adds the header to all others.
            headers={"X-Request-ID": request_id} if request_id else None,
        )
