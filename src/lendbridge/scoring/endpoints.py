"""Model registry routes under /v1/models (read only: training and promotion are operator
commands and maker-checker requests)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from lendbridge.kit import problems
from lendbridge.kit.http import ThreadedRoute, get_session, permission
from lendbridge.scoring import registry
from lendbridge.scoring.schemas import ModelDetailOut, ModelList, ModelOut

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/models",
    tags=["models"],
    responses=problems.responses(404, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
READ = permission("models.read")


@router.get("", openapi_extra=READ)
def list_models(session: SessionDep) -> ModelList:
    """Every registered credit model, by name and newest version first."""
    return ModelList(items=[ModelOut.of(r) for r in registry.list_models(session)])


@router.get("/{model_id}", openapi_extra=READ)
def get_model(model_id: uuid.UUID, session: SessionDep) -> ModelDetailOut:
    """One model: its spec, cross-validated metrics, data-quality report and characteristics."""
    return ModelDetailOut.detail(registry.get(session, model_id))
