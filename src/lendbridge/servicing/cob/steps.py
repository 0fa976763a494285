"""The loan steps of every day's close of business, registered when this module is imported.

- ``loans.close`` (position 10, ``close.py``): every loan's day in one pass: interest
  accrual and the fees of installments falling due, days past due / buckets / classification /
  ``active`` <-> ``overdue``, penalty interest (罚息), loan-loss provisions.
- ``loans.collect`` (50, ``collection.py``): auto-debit collections of what is due.
- ``loans.promises`` (55, ``promises.py``): promises to pay kept or broken.
- ``loans.remind`` (60, ``reminders.py``): repayment reminders before, on and after due dates.
"""

from __future__ import annotations

from lendbridge.servicing.cob import close as _close
from lendbridge.servicing.cob import collection as _collection

# Registered by importing it; re-exported so the close's steps are all reachable from here.
close = _close.close_loans
collect = _collection.collection
promises = _collection.promises
remind = _collection.remind
