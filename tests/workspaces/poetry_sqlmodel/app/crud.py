from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Note


async def list_notes(session: AsyncSession, limit: int = 50) -> list[Note]:
    result = await session.exec(select(Note).limit(limit))
    return list(result.all())
