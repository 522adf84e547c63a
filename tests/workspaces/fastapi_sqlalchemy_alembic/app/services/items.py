from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session
from app.repositories.items import ItemRepository
from app.schemas.item import ItemOut


class ItemNotFound(Exception):
    pass


class ItemService:
    def __init__(self, repository: ItemRepository) -> None:
        self.repository = repository

    async def get(self, item_id: int) -> ItemOut:
        item = await self.repository.get(item_id)
        if item is None:
            raise ItemNotFound(item_id)
        return ItemOut.model_validate(item)


def get_item_service(session: AsyncSession = Depends(get_session)) -> ItemService:
    return ItemService(ItemRepository(session))
