"""Domain refusals: a machine-readable code plus a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: where it is and why it was refused."""

    field: str
    reason: str


class DomainError(Exception):
    """A request the rules refuse. Never retried; shown to the person with its reason."""

    def __init__(
        self, code: str, message: str, problems: list[FieldProblem] | None = None, details: dict | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems or []
        # Structured facts a program can act on (e.g. the conflicting booking and the nearest free slot).
        self.details = details or {}


class ValidationFailed(DomainError):
    """Input that breaks a field rule; carries every problem found, not just the first."""

    def __init__(self, problems: list[FieldProblem]):
        summary = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
        super().__init__("invalid_input", f"Invalid input — {summary}", problems)


def unknown_fields(data: dict, allowed: set[str], prefix: str = "") -> list[FieldProblem]:
    """One problem per key of ``data`` that is not in ``allowed`` (sorted, so answers are stable)."""
    return [FieldProblem(f"{prefix}{key}", "is not a field of this command") for key in sorted(set(data) - allowed)]
