"""Freezing what start-up built out of the garbage collector's reach, once per process."""

from __future__ import annotations

import gc

from lendbridge.kit.startup import freeze_startup_objects


def test_startup_objects_are_frozen_once() -> None:
    freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    later = [object() for _ in range(1000)]  # built after start-up: stays collectable
    freeze_startup_objects()
    assert gc.get_freeze_count() == frozen
    assert later
