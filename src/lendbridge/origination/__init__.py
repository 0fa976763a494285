"""Origination: from a borrower's needs and application to a decided offer, a signed contract
and a disbursed loan; the manual review queue for loan officers."""
