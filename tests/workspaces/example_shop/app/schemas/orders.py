from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OrderLineIn(BaseModel):
    sku: str = Field(min_length=3, max_length=32)
    quantity: int = Field(gt=0, le=100)


class OrderCreate(BaseModel):
    customer_id: int
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    quantity: int
    unit_price_cents: int


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    status: str
    items: list[OrderItemRead]
