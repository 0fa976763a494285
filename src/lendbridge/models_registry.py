"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from lendbridge.approvals import models as approvals_models
from lendbridge.audit import models as audit_models
from lendbridge.decisions import models as decisions_models
from lendbridge.identity import kyc_models as identity_kyc_models
from lendbridge.identity import models as identity_models
from lendbridge.kit import calendar, outbox
from lendbridge.kit.models import Base
from lendbridge.ledger import models as ledger_models
from lendbridge.origination import models as origination_models
from lendbridge.origination import needs_models as origination_needs_models
from lendbridge.payments import models as payments_models
from lendbridge.payments.recon import models as recon_models  # noqa: F401
from lendbridge.products import models as products_models
from lendbridge.risklist import models as risklist_models
from lendbridge.scoring import models as scoring_models
from lendbridge.servicing import models as servicing_models
from lendbridge.servicing import workout_models as servicing_workout_models
from lendbridge.servicing.cob import models as cob_models
from lendbridge.servicing.collections import models as collections_models

__all__ = [
    "Base",
    "approvals_models",
    "audit_models",
    "calendar",
    "cob_models",
    "collections_models",
    "decisions_models",
    "identity_kyc_models",
    "identity_models",
    "ledger_models",
    "origination_models",
    "origination_needs_models",
    "outbox",
    "payments_models",
    "products_models",
    "risklist_models",
    "scoring_models",
    "servicing_models",
    "servicing_workout_models",
]
