"""Business rules for books."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Book
from app.schemas import BookCreate

MAX_BOOKS_PER_USER = 50


class BookLimitReached(Exception):
    """The owner already lists the most books a member may list."""


def list_books(session: Session, owner_id: int, limit: int, offset: int) -> list[Book]:
    statement = select(Book).where(Book.owner_id == owner_id).order_by(Book.id).limit(limit).offset(offset)
    return list(session.scalars(statement))


def add_book(session: Session, owner_id: int, data: BookCreate) -> Book:
    owned = session.scalar(select(func.count()).select_from(Book).where(Book.owner_id == owner_id)) or 0
    if owned >= MAX_BOOKS_PER_USER:
        raise BookLimitReached(f"user {owner_id} already lists {owned} books")
    book = Book(title=data.title.strip(), summary=data.summary, pages=data.pages, owner_id=owner_id)
    session.add(book)
    session.commit()
    session.refresh(book)
    return book
