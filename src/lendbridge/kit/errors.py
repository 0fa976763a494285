"""Typed domain errors. Each carries its HTTP status and a stable code; the web layer turns
them into RFC 9457 problem details (``lendbridge.kit.problems``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid input: ``field`` is a dotted path into the request (``postings.1.amount``)."""

    field: str
    message: str


@dataclass
class DomainError(Exception):
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __str__(self) -> str:
        return self.detail


def field_error(cls: type[DomainError], field_path: str, message: str, **extra: Any) -> DomainError:
    """An error about one field; the detail repeats the field name so logs say it too."""
    return cls(f"{field_path}: {message}", [FieldError(field_path, message)], dict(extra))


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"
    title = "The request is not valid"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    title = "The idempotency key was used for a different request"


class ConcurrentRequest(Conflict):
    code = "concurrent_request"
    title = "A request with the same idempotency key is in progress; retry it"
