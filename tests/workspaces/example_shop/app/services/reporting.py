"""Sales reports for the back office."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import engine
from app.models import OrderItem, Product

# Deliberate SG204: one Session shared by every request and thread.
session = Session(engine)


def best_sellers(limit: int = 10) -> list[tuple[str, int]]:
    statement = (
        select(Product.sku, func.sum(OrderItem.quantity).label("sold"))
        .join(OrderItem, OrderItem.product_id == Product.id)
        .group_by(Product.sku)
        .order_by(func.sum(OrderItem.quantity).desc())
        .limit(limit)
    )
    return [(sku, int(sold)) for sku, sold in session.execute(statement)]
