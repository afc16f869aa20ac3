"""What a form dialog does when its action is refused: the problems go under their fields, the form stays
with everything typed; otherwise the dialog closes with the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from focusdesk.domain.errors import DomainError, FieldProblem, ValidationFailed


class FormDialog(Protocol):
    def show_problems(self, problems: list[FieldProblem], message: str | None = None) -> None: ...

    def dismiss(self, result: Any = None) -> Any: ...


def submit(dialog: FormDialog, action: Callable[[], Any]) -> None:
    try:
        result = action()
    except ValidationFailed as exc:
        dialog.show_problems(list(exc.problems))
        return
    except DomainError as exc:
        dialog.show_problems([], exc.message)
        return
    dialog.dismiss(result)
