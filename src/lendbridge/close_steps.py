"""Every module that registers steps of the daily close of business
(``servicing/cob/runner.py``), imported once per process before a close picks its steps, so
that no domain's step is left out of a close. Add a domain's step module here."""

from lendbridge.origination import expiry as origination_expiry
from lendbridge.servicing.cob import steps as loan_steps

__all__ = ["loan_steps", "origination_expiry"]
