"""Maker-checker: sensitive actions run only after a second person approves them."""
