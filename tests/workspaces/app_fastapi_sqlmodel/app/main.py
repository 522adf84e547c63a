from __future__ import annotations

from fastapi import FastAPI

from app.routers import heroes, teams

app = FastAPI(title="Heroes")
app.include_router(heroes.router)
app.include_router(teams.router)
