"""What the close-of-business tests share: the loans' close as the only step, and a close
that dies after committing some batches (a process killed mid-step, in process)."""

from __future__ import annotations

import pytest

from lendbridge.servicing.cob import close, runner, steps


def loan_steps(run: runner.StepFn = steps.close) -> list[runner.Step]:
    return [runner.Step(name="loans.close", position=10, run=run)]


def dying_close(monkeypatch: pytest.MonkeyPatch, batches: int = 2) -> list[runner.Step]:
    """The loans' close, dying ("killed") once ``batches`` batches have committed. One batch
    at a time, so exactly that many are committed (tests/servicing/cob/test_kill.py kills a
    parallel close on PostgreSQL)."""
    monkeypatch.setattr(close, "WORKERS", 1)
    calls = {"batches": 0}

    def dies(ctx: runner.StepContext) -> None:
        original = ctx.committed

        def committed(items: int) -> None:
            original(items)
            calls["batches"] += 1
            if calls["batches"] == batches:
                raise RuntimeError("killed")

        object.__setattr__(ctx, "committed", committed)
        steps.close(ctx)

    return loan_steps(dies)
