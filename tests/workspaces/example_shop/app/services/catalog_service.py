"""Catalog use cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import NotFoundError
from app.models import Product
from app.repositories.product_repository import ProductRepository
from app.schemas.products import ProductCreate, ProductPage, ProductRead


class CatalogService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.products = ProductRepository(session)

    def get_product(self, product_id: int) -> ProductRead:
        product = self.products.get(product_id)
        if product is None:
            raise NotFoundError("product", product_id)
        return ProductRead.model_validate(product)

    def list_category(self, category_id: int, limit: int, offset: int) -> ProductPage:
        items = self.products.list_in_category(category_id, limit=limit, offset=offset)
        return ProductPage(
            items=[ProductRead.model_validate(item) for item in items], limit=limit, offset=offset
        )

    def create_product(self, data: ProductCreate) -> ProductRead:
        with self.session.begin():
            product = self.products.add(Product(**data.model_dump()))
        return ProductRead.model_validate(product)

    def search(self, term: str, limit: int) -> list[ProductRead]:
        return [ProductRead.model_validate(p) for p in self.products.search(term.strip(), limit)]
