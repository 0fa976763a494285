"""The actions that need a second person (maker-checker), as a registry.

Each domain registers its sensitive actions here: the permission needed to *request* the
action, how to validate its payload when it is requested (so a request that could never run
is refused at once), and the handler that performs it once approved. Handlers run inside the
approving transaction and must be safe to run exactly once (the approval row is locked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lendbridge.kit.actor import Actor

Payload = dict[str, Any]
Validator = Callable[[Session, Mapping[str, Any]], Payload]
Handler = Callable[[Session, "Approved"], Payload]


@dataclass(frozen=True)
class Approved:
    """What a handler gets: the request's id and payload, who made and who approved it."""

    request_id: str
    payload: Mapping[str, Any]
    maker: Actor
    checker: Actor


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    maker_permission: str
    validate: Validator
    run: Handler


_ACTIONS: dict[str, Action] = {}


def register(action: Action) -> Action:
    known = _ACTIONS.get(action.name)
    if known is not None and known != action:
        raise ValueError(f"approval action {action.name!r} is registered twice")
    _ACTIONS[action.name] = action
    return action


def get(name: str) -> Action | None:
    return _ACTIONS.get(name)
