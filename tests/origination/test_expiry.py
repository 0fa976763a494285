"""Offers lapse at the close of their last day: the close-of-business step expires them
(audited), and leaves an offer still valid alone."""

from __future__ import annotations

import datetime as dt

from lendbridge.origination.expiry import STEP
from lendbridge.origination.models import ApplicationStatus
from lendbridge.servicing.cob import runner
from tests.origination.conftest import Desk
from tests.origination.test_applications import GRADE_A


def test_the_close_expires_offers_at_the_end_of_their_last_day(desk: Desk) -> None:
    body = desk.body(desk.features_scoring(*GRADE_A))
    first = desk.apply(desk.borrower(), body)
    assert first.offer_expires_on is not None
    desk.book.set_date(first.offer_expires_on - dt.timedelta(days=1))
    later = desk.apply(desk.borrower("wang"), body)  # valid one day longer

    step = [s for s in runner.registered_steps() if s.name == STEP]
    assert [s.name for s in step] == [STEP]  # wired into every close
    last_day = first.offer_expires_on
    runner.run_cob(desk.book.factory, last_day, steps=step)  # closes the day before
    assert desk.get(first.id).status == ApplicationStatus.OFFERED  # still its last day
    (report,) = runner.run_cob(desk.book.factory, last_day + dt.timedelta(days=1), steps=step)
    assert desk.get(first.id).status == ApplicationStatus.EXPIRED
    assert desk.get(later.id).status == ApplicationStatus.OFFERED
    history = desk.get(first.id).history
    assert (history[-1].to_status, history[-1].actor) == ("expired", "system:cob")
    assert history[-1].business_date == last_day
    assert report.steps[0][1].items == 1
