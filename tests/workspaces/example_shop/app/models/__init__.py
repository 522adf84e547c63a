from app.models.base import Base
from app.models.catalog import Category, Product
from app.models.orders import Customer, Order, OrderItem

__all__ = ["Base", "Category", "Customer", "Order", "OrderItem", "Product"]
