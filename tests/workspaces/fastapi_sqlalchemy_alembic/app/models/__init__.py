from app.models.item import Item

__all__ = ["Item"]
