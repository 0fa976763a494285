"""Loan servicing (贷后): repayment schedules today; loans, repayments, delinquency and the
close of business build on them."""
