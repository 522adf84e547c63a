"""Data access for orders. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Order


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_with_items(self, order_id: int) -> Order | None:
        statement = select(Order).options(selectinload(Order.items)).where(Order.id == order_id)
        return self.session.scalars(statement).first()

    def for_customer(self, customer_id: int, limit: int) -> Sequence[Order]:
        statement = (
            select(Order)
            .options(selectinload(Order.items))
            .where(Order.customer_id == customer_id)
            .order_by(Order.id.desc())
            .limit(limit)
        )
        return self.session.scalars(statement).all()

    def add(self, order: Order) -> Order:
        self.session.add(order)
        # Deliberate SG105: the repository ends the service's transaction.
        self.session.commit()
        return order

    def totals_for_customer(self, customer_id: int) -> dict[int, int]:
        orders = self.session.scalars(select(Order).where(Order.customer_id == customer_id)).all()
        # Deliberate SG202: one lazy load of `items` per order.
        return {
            order.id: sum(item.quantity * item.unit_price_cents for item in order.items)
            for order in orders
        }
