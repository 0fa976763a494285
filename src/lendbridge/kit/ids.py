"""Identifiers: UUIDv7, time-ordered so that new rows land at the end of their index."""

from __future__ import annotations

import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    return compat.uuid7()
