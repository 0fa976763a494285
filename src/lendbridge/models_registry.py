"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from lendbridge.kit import calendar
from lendbridge.kit.models import Base
from lendbridge.ledger import models as ledger_models

__all__ = ["Base", "calendar", "ledger_models"]
