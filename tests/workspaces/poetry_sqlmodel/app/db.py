import os

from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

engine = create_async_engine(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///notes.db"))


async def get_session():
    async with AsyncSession(engine) as session:
        yield session
