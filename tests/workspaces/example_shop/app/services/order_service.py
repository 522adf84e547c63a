"""Order use cases: placing an order reserves stock in one transaction."""

from __future__ import annotations

from fastapi import HTTPException  # Deliberate SG103: the service depends on the web framework.
from sqlalchemy.orm import Session

from app.errors import NotFoundError, OutOfStockError
from app.models import Order, OrderItem
from app.repositories.order_repository import OrderRepository
from app.repositories.product_repository import ProductRepository
from app.schemas.orders import OrderCreate, OrderRead


class OrderService:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.orders = OrderRepository(session)
        self.products = ProductRepository(session)

    def get_order(self, order_id: int) -> OrderRead:
        order = self.orders.get_with_items(order_id)
        if order is None:
            raise NotFoundError("order", order_id)
        return OrderRead.model_validate(order)

    def place_order(self, data: OrderCreate) -> OrderRead:
        with self.session.begin():
            products = self.products.by_skus([line.sku for line in data.lines])
            order = Order(customer_id=data.customer_id)
            for line in data.lines:
                product = products.get(line.sku)
                if product is None:
                    # Deliberate SG104: an HTTP error raised from the service layer.
                    raise HTTPException(status_code=404, detail=f"unknown product {line.sku}")
                if product.stock < line.quantity:
                    raise OutOfStockError(line.sku, line.quantity, product.stock)
                product.stock -= line.quantity
                order.items.append(
                    OrderItem(product_id=product.id, quantity=line.quantity, unit_price_cents=product.price_cents)
                )
            self.orders.add(order)
        return OrderRead.model_validate(order)

    def customer_totals(self, customer_id: int) -> dict[int, int]:
        return self.orders.totals_for_customer(customer_id)
