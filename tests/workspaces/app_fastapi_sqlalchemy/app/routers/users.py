"""Members. These handlers still talk to the database themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_session
from app.models import User
from app.schemas import UserCreate, UserRead

router = APIRouter(prefix="/users", tags=["users"])


@router.get("/", response_model=list[UserRead])
def list_users(session: Annotated[Session, Depends(get_session)], limit: int = 20, offset: int = 0) -> list[User]:
    statement = select(User).where(User.is_active.is_(True)).order_by(User.id).limit(limit).offset(offset)
    return list(session.scalars(statement))


@router.get("/{user_id}", response_model=UserRead)
def read_user(user_id: int, session: Annotated[Session, Depends(get_session)]) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
    return user


@router.post("/", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(payload: UserCreate, session: Annotated[Session, Depends(get_session)]) -> User:
    email = payload.email.lower()
    existing = session.scalar(select(User).where(User.email == email))
    if existing is not None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Email already registered")
    user = User(email=email, full_name=payload.full_name.strip())
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def deactivate_user(user_id: int, session: Annotated[Session, Depends(get_session)]) -> None:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
    user.is_active = False
    session.commit()
