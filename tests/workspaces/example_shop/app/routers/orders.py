"""HTTP endpoints for orders."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy.orm import Session

from app.db import get_db
from app.models import Order
from app.schemas.orders import OrderCreate, OrderRead
from app.services.order_service import OrderService

router = APIRouter(prefix="/orders", tags=["orders"])


def get_orders(db: Session = Depends(get_db)) -> OrderService:
    return OrderService(db)


@router.post("", response_model=OrderRead, status_code=status.HTTP_201_CREATED)
def place_order(data: OrderCreate, orders: OrderService = Depends(get_orders)) -> OrderRead:
    return orders.place_order(data)


@router.get("/{order_id}", response_model=OrderRead)
def get_order(order_id: int, db: Session = Depends(get_db)) -> OrderRead:
    # Deliberate SG101: the handler reads the database itself.
    order = db.get(Order, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="order not found")
    return OrderRead.model_validate(order)


@router.get("/customers/{customer_id}/totals")
def customer_totals(customer_id: int, orders: OrderService = Depends(get_orders)) -> dict[int, int]:
    return orders.customer_totals(customer_id)
