"""Tables and the API schemas derived from them (SQLModel style).

No ``from __future__ import annotations`` here: SQLModel reads the
annotations at class creation.
"""

from sqlmodel import Field, Relationship, SQLModel


class TeamBase(SQLModel):
    name: str = Field(max_length=80, index=True)
    headquarters: str = Field(max_length=120)


class Team(TeamBase, table=True):
    id: int | None = Field(default=None, primary_key=True)

    heroes: list["Hero"] = Relationship(back_populates="team")


class TeamCreate(TeamBase):
    pass


class TeamPublic(TeamBase):
    id: int


class HeroBase(SQLModel):
    name: str = Field(max_length=80, index=True)
    secret_name: str = Field(max_length=80)
    age: int | None = Field(default=None, index=True)


class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")

    team: Team | None = Relationship(back_populates="heroes")


class HeroCreate(HeroBase):
    team_id: int | None = None


class HeroPublic(HeroBase):
    id: int
    team_id: int | None


class HeroUpdate(SQLModel):
    name: str | None = None
    secret_name: str | None = None
    age: int | None = None
    team_id: int | None = None
