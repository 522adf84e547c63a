from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.errors import NotFoundError
from app.models import Base, Category
from app.schemas.products import ProductCreate
from app.services.catalog_service import CatalogService


@pytest.fixture
def session() -> Session:
    engine = create_engine("sqlite+pysqlite:///:memory:")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(Category(id=1, slug="tea", name="Tea"))
        session.commit()
        yield session


def test_create_then_get_product(session: Session) -> None:
    catalog = CatalogService(session)
    created = catalog.create_product(
        ProductCreate(sku="TEA-1", name="Sencha", price_cents=900, stock=5, category_id=1)
    )
    assert catalog.get_product(created.id).sku == "TEA-1"


def test_missing_product_is_a_domain_error(session: Session) -> None:
    with pytest.raises(NotFoundError):
        CatalogService(session).get_product(404)
