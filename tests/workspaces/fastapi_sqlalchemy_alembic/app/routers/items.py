from fastapi import APIRouter, Depends

from app.schemas.item import ItemOut
from app.services.items import ItemService, get_item_service

router = APIRouter(prefix="/items", tags=["items"])


@router.get("/{item_id}", response_model=ItemOut)
async def read_item(item_id: int, service: ItemService = Depends(get_item_service)) -> ItemOut:
    return await service.get(item_id)
