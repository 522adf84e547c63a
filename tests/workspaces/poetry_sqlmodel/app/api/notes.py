from fastapi import APIRouter, Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from app import crud
from app.db import get_session
from app.models import Note

router = APIRouter()


@router.get("/notes")
async def list_notes(session: AsyncSession = Depends(get_session)) -> list[Note]:
    return await crud.list_notes(session)
