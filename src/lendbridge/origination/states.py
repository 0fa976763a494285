"""The application state machine: which status may follow which."""

from __future__ import annotations

from lendbridge.origination.models import ApplicationStatus as S

MOVES: dict[S | None, frozenset[S]] = {
    None: frozenset({S.IN_REVIEW, S.OFFERED, S.DECLINED}),
    S.IN_REVIEW: frozenset({S.OFFERED, S.DECLINED, S.WITHDRAWN}),
    S.OFFERED: frozenset({S.SIGNED, S.EXPIRED, S.WITHDRAWN}),
    S.SIGNED: frozenset({S.ACTIVE}),
    S.DECLINED: frozenset(),
    S.EXPIRED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.ACTIVE: frozenset(),
}


def allowed(current: S | None, target: S) -> bool:
    return target in MOVES[current]
