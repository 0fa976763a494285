"""Payments: money in and out of the platform through payment channels."""
