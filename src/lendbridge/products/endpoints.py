"""Product routes under /v1/products: the catalogue, its versions, retirement and quotes.

Saving is not a money movement, so it takes no ``Idempotency-Key``: saving the same
definition again writes nothing (200 instead of 201)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from sqlalchemy.orm import Session

from lendbridge.kit import problems
from lendbridge.kit.http import ActorDep, ThreadedRoute, get_session, permission
from lendbridge.products import service
from lendbridge.products.schemas import (
    CODE_PATTERN,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductStatus,
    QuoteIn,
    QuoteOut,
    RetireIn,
)

router = APIRouter(
    route_class=ThreadedRoute,
    prefix="/v1/products",
    tags=["products"],
    responses=problems.responses(400, 404, 409, 422),
)
SessionDep = Annotated[Session, Depends(get_session)]
CodePath = Annotated[str, Path(min_length=2, max_length=32, pattern=CODE_PATTERN)]

READ = permission("products.read")
MANAGE = permission("products.manage")


@router.get("", openapi_extra=READ)
def list_products(
    session: SessionDep,
    status_filter: Annotated[ProductStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProductPage:
    """The newest version of every product, by code."""
    return service.list_products(session, status=status_filter, limit=limit, cursor=cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=MANAGE,
    responses={
        200: {"model": ProductOut, "description": "The newest version already has this definition."}
    },
)
def save_product(
    body: ProductIn, actor: ActorDep, session: SessionDep, response: Response
) -> ProductOut:
    """Create a product, or save a new version of an existing one (versions never change;
    loans keep the version they were made under). Validated on save: every rule and the APR
    cap for every allowed amount and term (audited). A definition equal to the newest
    version writes nothing and answers 200."""
    out, created = service.save_product(session, body, actor)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return out


@router.get("/{code}", openapi_extra=READ)
def get_product(
    code: CodePath,
    session: SessionDep,
    version: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="Default: the newest.")
    ] = None,
) -> ProductOut:
    """A product's newest version, or the version asked for, exactly as saved."""
    return service.get_product(session, code, version)


@router.post("/{code}/retire", openapi_extra=MANAGE)
def retire_product(
    code: CodePath,
    actor: ActorDep,
    session: SessionDep,
    body: Annotated[RetireIn | None, Body()] = None,
) -> ProductOut:
    """Retire a product: no new loans and no new versions (audited). Existing loans keep
    their version. Retiring it again changes nothing."""
    out = service.retire_product(session, code, actor, body.reason if body else None)
    session.commit()
    return out


@router.post("/{code}/quote", openapi_extra=READ)
def quote(code: CodePath, body: QuoteIn, session: SessionDep) -> QuoteOut:
    """The schedule and APR of a loan under the product's newest version: the amount and
    term are checked against the product, and so is the loan's APR against its cap.
    Nothing is stored."""
    return service.quote_product(session, code, body)
