"""The ASGI application."""

from __future__ import annotations

from fastapi import FastAPI

from app.routers import books, users

app = FastAPI(title="Library API")
app.include_router(users.router)
app.include_router(books.router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
