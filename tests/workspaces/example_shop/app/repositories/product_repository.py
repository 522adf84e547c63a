"""Data access for products. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Product


class ProductRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, product_id: int) -> Product | None:
        return self.session.get(Product, product_id)

    def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        statement = select(Product).where(Product.sku.in_(skus))
        return {product.sku: product for product in self.session.scalars(statement)}

    def list_in_category(self, category_id: int, limit: int, offset: int) -> Sequence[Product]:
        statement = (
            select(Product)
            .where(Product.category_id == category_id)
            .order_by(Product.name)
            .limit(limit)
            .offset(offset)
        )
        return self.session.scalars(statement).all()

    def add(self, product: Product) -> Product:
        self.session.add(product)
        self.session.flush()
        return product

    def search(self, term: str, limit: int) -> Sequence[Product]:
        # Deliberate SG201: the search term is formatted into the SQL.
        statement = text(f"SELECT id FROM products WHERE name ILIKE '%{term}%' LIMIT {limit}")
        ids = [row.id for row in self.session.execute(statement)]
        return self.session.scalars(select(Product).where(Product.id.in_(ids))).all()

    def low_stock(self, threshold: int, limit: int) -> Sequence[Product]:
        statement = text("SELECT id FROM products WHERE stock < :threshold ORDER BY stock LIMIT :limit")
        ids = [row.id for row in self.session.execute(statement, {"threshold": threshold, "limit": limit})]
        return self.session.scalars(select(Product).where(Product.id.in_(ids))).all()
