"""Reconciliation of channel statements against payment orders (对账)."""
