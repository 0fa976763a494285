"""Offers lapse at the close of their last day: the close-of-business step
``origination.expire_offers`` moves every offer valid until the day being closed to
``expired`` (audited, a transition row each), in batches. Before the close, the flow expires
a lapsed offer the moment it is touched (applying again, signing), so the step only makes
the listings tell the truth without anyone asking."""

from __future__ import annotations

from lendbridge.kit.actor import system_actor
from lendbridge.kit.db import unit_of_work
from lendbridge.origination import applications
from lendbridge.servicing.cob import runner

STEP = "origination.expire_offers"
POSITION = 70  # after the loans' steps: nothing of theirs depends on it
ACTOR = system_actor("cob")


@runner.step(STEP, position=POSITION, description="offers not signed by their last day expire")
def expire_offers(ctx: runner.StepContext) -> None:
    while True:
        with unit_of_work(ctx.factory) as session:
            expired = applications.expire_through(
                session, ctx.business_date, ACTOR, limit=ctx.batch_size
            )
        if not expired:
            return
        ctx.committed(expired)
