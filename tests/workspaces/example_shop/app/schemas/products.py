from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProductCreate(BaseModel):
    sku: str = Field(min_length=3, max_length=32, pattern=r"^[A-Z0-9-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    price_cents: int = Field(ge=0)
    stock: int = Field(default=0, ge=0)
    category_id: int


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str | None
    price_cents: int
    stock: int


class ProductPage(BaseModel):
    items: list[ProductRead]
    limit: int
    offset: int
