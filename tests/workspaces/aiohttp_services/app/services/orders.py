from pydantic import BaseModel

from app.repositories.orders import OrderRepository


class Order(BaseModel):
    id: int
    total_cents: int


class OrderService:
    def __init__(self, repository: OrderRepository) -> None:
        self.repository = repository

    @classmethod
    def from_app(cls, app) -> "OrderService":
        return cls(OrderRepository(app["db"].pool))

    async def get(self, order_id: int) -> Order:
        row = await self.repository.get(order_id)
        return Order(id=row["id"], total_cents=row["total_cents"])
