"""HTTP endpoints for the catalog."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy.orm import Session

from app.db import get_db
from app.schemas.products import ProductCreate, ProductPage, ProductRead
from app.services.catalog_service import CatalogService

router = APIRouter(prefix="/products", tags=["products"])


def get_catalog(db: Session = Depends(get_db)) -> CatalogService:
    return CatalogService(db)


@router.get("/{product_id}", response_model=ProductRead)
def get_product(product_id: int, catalog: CatalogService = Depends(get_catalog)) -> ProductRead:
    return catalog.get_product(product_id)


@router.get("", response_model=ProductPage)
def list_products(
    category_id: int,
    limit: int = Query(default=20, ge=1, le=100),
    offset: int = Query(default=0, ge=0),
    catalog: CatalogService = Depends(get_catalog),
) -> ProductPage:
    return catalog.list_category(category_id, limit=limit, offset=offset)


@router.get("/search/", response_model=list[ProductRead])
def search_products(
    q: str = Query(min_length=2, max_length=50),
    limit: int = Query(default=20, ge=1, le=100),
    catalog: CatalogService = Depends(get_catalog),
) -> list[ProductRead]:
    return catalog.search(q, limit)


@router.post("", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
def create_product(data: ProductCreate, catalog: CatalogService = Depends(get_catalog)) -> ProductRead:
    return catalog.create_product(data)
