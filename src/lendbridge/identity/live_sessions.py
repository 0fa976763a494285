"""Which sign-in sessions are live, remembered for a moment.

Every authenticated request must know that its session has not been revoked and its user not
disabled. Asking the database each time costs a round trip per request; this process
remembers a positive answer for ``TTL`` instead. A revocation made by this process forgets
the session at once; one made by another process takes effect here within ``TTL``.
"""

from __future__ import annotations

import threading
import time
import uuid

TTL = 2.0  # seconds

_live: dict[uuid.UUID, float] = {}
_lock = threading.Lock()
_MAX_ENTRIES = 100_000


def is_known_live(session_id: uuid.UUID) -> bool:
    expires = _live.get(session_id)
    return expires is not None and expires > time.monotonic()


def remember_live(session_id: uuid.UUID) -> None:
    with _lock:
        if len(_live) >= _MAX_ENTRIES:  # bounded: drop everything rather than grow forever
            _live.clear()
        _live[session_id] = time.monotonic() + TTL


def forget(session_id: uuid.UUID) -> None:
    with _lock:
        _live.pop(session_id, None)
