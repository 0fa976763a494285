"""The loans domain's refusals: typed, each with its HTTP status and stable code."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class LoanNotFound(NotFound):
    code = "loan_not_found"
    title = "No such loan"


class RepaymentNotFound(NotFound):
    code = "loan_repayment_not_found"
    title = "No such repayment"


class LoanNotRepayable(Conflict):
    code = "loan_not_repayable"
    title = "The loan takes no repayments in its current status"


class DisbursementInProgress(Conflict):
    code = "loan_disbursement_in_progress"
    title = "The loan's disbursement is on its way; wait for its outcome"
