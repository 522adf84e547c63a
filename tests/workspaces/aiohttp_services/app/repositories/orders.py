class OrderRepository:
    def __init__(self, pool) -> None:
        self.pool = pool

    async def get(self, order_id: int):
        async with self.pool.acquire() as connection:
            return await connection.fetchrow("SELECT id, total_cents FROM orders WHERE id = $1", order_id)
