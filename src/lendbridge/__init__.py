"""lendbridge: the platform of an online lending intermediary."""

__version__ = "0.1.0"
