"""A member's books. Listing and adding go through the books service; reading
one book is still done in the handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy.orm import Session

from app.db import get_session
from app.models import Book, User
from app.schemas import BookCreate, BookRead
from app.services import books as book_service

router = APIRouter(prefix="/users/{user_id}/books", tags=["books"])


@router.get("/", response_model=list[BookRead])
def list_books(user_id: int, session: Annotated[Session, Depends(get_session)], limit: int = 20, offset: int = 0) -> list[Book]:
    return book_service.list_books(session, user_id, limit=min(limit, 100), offset=offset)


@router.post("/", response_model=BookRead, status_code=status.HTTP_201_CREATED)
def add_book(user_id: int, payload: BookCreate, session: Annotated[Session, Depends(get_session)]) -> Book:
    if session.get(User, user_id) is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
    try:
        return book_service.add_book(session, user_id, payload)
    except book_service.BookLimitReached as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/{book_id}", response_model=BookRead)
def read_book(user_id: int, book_id: int, session: Annotated[Session, Depends(get_session)]) -> Book:
    book = session.get(Book, book_id)
    if book is None or book.owner_id != user_id:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Book not found")
    return book
