"""Teams."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlmodel import select

from app.database import SessionDep
from app.models import Team, TeamCreate, TeamPublic

router = APIRouter(prefix="/teams", tags=["teams"])


@router.post("/", response_model=TeamPublic, status_code=201)
def create_team(team: TeamCreate, session: SessionDep) -> Team:
    if session.exec(select(Team).where(Team.name == team.name)).first() is not None:
        raise HTTPException(status_code=409, detail="Team name taken")
    db_team = Team.model_validate(team)
    session.add(db_team)
    session.commit()
    session.refresh(db_team)
    return db_team


@router.get("/{team_id}", response_model=TeamPublic)
def read_team(team_id: int, session: SessionDep) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise HTTPException(status_code=404, detail="Team not found")
    return team
