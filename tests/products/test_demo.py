"""The demo products: loaded idempotently, audited, and every one quotes within its cap at
both ends of its range for every allowed term."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from lendbridge.audit.models import AuditRecord
from lendbridge.cli import app
from lendbridge.config import get_settings
from lendbridge.kit.db import make_engine
from lendbridge.products import service
from lendbridge.products.demo import PRODUCTS, load_products_demo
from lendbridge.products.models import ProductVersion
from lendbridge.products.schemas import QuoteIn
from tests.products.factories import ACTOR


def test_demo_products_load_once_and_quote_within_their_cap(session: Session) -> None:
    assert load_products_demo(session) == len(PRODUCTS) == 4
    assert load_products_demo(session) == 0
    session.commit()
    assert session.scalar(select(func.count()).select_from(ProductVersion)) == 4
    audited = session.scalar(
        select(func.count())
        .select_from(AuditRecord)
        .where(AuditRecord.action == "products.version.created")
    )
    assert audited == 4
    for product in service.list_products(session).items:
        for term in product.allowed_terms:
            for amount in (product.min_amount, product.max_amount):
                quote = service.quote_product(
                    session, product.code, QuoteIn(amount=amount, term=term)
                )
                assert Decimal(quote.schedule.apr) <= Decimal(product.max_apr_percent)


def test_demo_leaves_changed_products_alone(session: Session) -> None:
    load_products_demo(session)
    service.retire_product(session, "SHORT-30D", ACTOR)
    assert load_products_demo(session) == 0
    assert service.get_product(session, "SHORT-30D").status == "retired"


def test_init_demo_twice_adds_the_products_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("LENDBRIDGE_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        for _ in range(2):
            result = runner.invoke(app, ["init", "--demo"])
            assert result.exit_code == 0, (result.output, result.exception)
            engine = make_engine(url)
            with Session(engine) as session:
                codes = session.scalars(select(ProductVersion.code).order_by(ProductVersion.code))
                assert list(codes) == ["CONSUMER-EI", "MICRO-WEEKLY", "SHORT-30D", "SME-IO"]
            engine.dispose()
        listing = runner.invoke(app, ["products", "list"])
        assert listing.exit_code == 0
        assert "SME-IO" in listing.output
    finally:
        get_settings.cache_clear()
