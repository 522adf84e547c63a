"""Benchmark of ``stackguard check`` against ``ast.parse`` of the same files.

Run as a script (pytest does not collect tests/bench):

    python tests/bench/bench_check.py [--files 1000] [--keep DIR] [--repeat 5]

It generates a synthetic FastAPI + SQLAlchemy workspace (about 100k lines
over about 1,000 files: models, schemas, repositories, services, routers,
plus a few deliberate guardrail violations) in a temporary folder, then
measures in the same run:

a. read + ``ast.parse`` of every file, in this process (the baseline);
b. the whole process ``stackguard check --no-cache --exit-zero`` (a
   subprocess: interpreter start, imports, stack detection, discovery,
   parsing, the index, every rule, output);
c. ``stackguard check`` twice with the cache: the first run fills it, the
   second (timed) is the warm re-check of an unchanged tree.

and prints the times and the ratios b/a and c/a. It prints numbers, never
pass/fail (DESIGN.md "Quality bars"); the target is b/a <= 2.5.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_CHECK_RATIO = 2.5

NOUNS = [
    "product", "order", "customer", "invoice", "payment", "shipment", "warehouse", "supplier", "coupon",
    "review", "cart", "refund", "subscription", "plan", "ticket", "agent", "team", "project", "task",
    "comment", "attachment", "tag", "category", "brand", "address", "region", "store", "employee",
    "shift", "booking", "room", "guest", "vehicle", "driver", "route", "parcel", "device", "sensor",
    "reading", "alert", "policy", "claim", "account", "ledger", "transfer", "budget", "report", "campaign",
]


def camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def model_module(entity: str, parent: str | None, rng: random.Random) -> str:
    cls = camel(entity)
    extra_columns = "\n".join(
        f"    {field}: Mapped[{typ}] = mapped_column({col}{', nullable=True' if rng.random() < 0.3 else ''})"
        for field, typ, col in rng.sample(
            [
                ("title", "str", "String(200)"),
                ("description", "str", "Text"),
                ("status", "str", "String(32), index=True"),
                ("quantity", "int", "Integer, default=0"),
                ("price_cents", "int", "Integer"),
                ("is_active", "bool", "Boolean, default=True"),
                ("external_ref", "str", "String(64), unique=True"),
                ("notes", "str", "Text"),
                ("priority", "int", "Integer, default=3"),
                ("currency", "str", "String(3), default='EUR'"),
            ],
            k=6,
        )
    )
    parent_part = ""
    if parent:
        parent_cls = camel(parent)
        parent_part = f"""
    {parent}_id: Mapped[int] = mapped_column(ForeignKey("{parent}s.id"), index=True)
    {parent}: Mapped["{parent_cls}"] = relationship(back_populates="{entity}s")
"""
    return f'''"""{cls} persistence model."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base

if TYPE_CHECKING:
    from app.models.line import Line


class {cls}(Base):
    """A {entity.replace("_", " ")} as stored in the database."""

    __tablename__ = "{entity}s"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
{extra_columns}
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
{parent_part}
    lines: Mapped[list["Line"]] = relationship(back_populates="{entity}", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<{cls} id={{self.id}} name={{self.name!r}}>"

    @property
    def display_name(self) -> str:
        return self.name.strip().title()

    def is_recent(self, now: datetime, days: int = 7) -> bool:
        return (now - self.created_at).days < days

    def touch(self, now: datetime) -> None:
        self.updated_at = now

    def can_transition(self, target: str) -> bool:
        allowed = {{
            "draft": {{"active", "archived"}},
            "active": {{"archived"}},
            "archived": set(),
        }}
        return target in allowed.get(getattr(self, "status", "draft"), set())

    def summary(self) -> dict[str, object]:
        return {{
            "id": self.id,
            "name": self.display_name,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }}


class {cls}Archive(Base):
    """Rows moved out of {entity}s after retention."""

    __tablename__ = "{entity}_archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    original_id: Mapped[int] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
'''


def schema_module(entity: str) -> str:
    cls = camel(entity)
    return f'''"""Request and response schemas for {entity}s."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class {cls}Base(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="draft", pattern="^(draft|active|archived)$")
    priority: int = Field(default=3, ge=1, le=5)


class {cls}Create({cls}Base):
    external_ref: str | None = Field(default=None, max_length=64)

    @field_validator("name")
    @classmethod
    def strip_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name must not be blank")
        return value


class {cls}Update(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = None
    status: str | None = Field(default=None, pattern="^(draft|active|archived)$")
    priority: int | None = Field(default=None, ge=1, le=5)


class {cls}Read({cls}Base):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    updated_at: datetime


class {cls}Page(BaseModel):
    items: list[{cls}Read]
    total: int
    limit: int
    offset: int


class {cls}Filter(BaseModel):
    status: str | None = None
    search: str | None = Field(default=None, max_length=100)
    created_after: datetime | None = None
    created_before: datetime | None = None

    @field_validator("created_before")
    @classmethod
    def range_is_ordered(cls, value: datetime | None, info) -> datetime | None:
        after = info.data.get("created_after")
        if value is not None and after is not None and value <= after:
            raise ValueError("created_before must be after created_after")
        return value


class {cls}Export(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    priority: int
    created_at: datetime

    def to_row(self) -> list[str]:
        return [str(self.id), self.name, self.status, str(self.priority), self.created_at.isoformat()]


class {cls}Import(BaseModel):
    rows: list[{cls}Create] = Field(max_length=1000)
    dry_run: bool = False
'''


def repository_module(entity: str, violation: str | None) -> str:
    cls = camel(entity)
    commit = "        await self.session.commit()\n" if violation == "commit" else "        await self.session.flush()\n"
    search = (
        f'''        statement = text(f"SELECT id FROM {entity}s WHERE name LIKE '%{{term}}%'")
        rows = await self.session.execute(statement)
        return [row.id for row in rows]
'''
        if violation == "sql"
        else f'''        statement = text("SELECT id FROM {entity}s WHERE name LIKE :pattern")
        rows = await self.session.execute(statement, {{"pattern": f"%{{term}}%"}})
        return [row.id for row in rows]
'''
    )
    return f'''"""Data access for {entity}s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.models.{entity} import {cls}, {cls}Archive
from app.schemas.{entity} import {cls}Filter


class {cls}Repository:
    """Reads and writes {cls} rows; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, {entity}_id: int) -> {cls} | None:
        return await self.session.get({cls}, {entity}_id)

    async def get_with_lines(self, {entity}_id: int) -> {cls} | None:
        statement = select({cls}).options(selectinload({cls}.lines)).where({cls}.id == {entity}_id)
        result = await self.session.execute(statement)
        return result.scalar_one_or_none()

    async def list(self, filters: {cls}Filter, limit: int = 50, offset: int = 0) -> Sequence[{cls}]:
        statement = select({cls}).order_by({cls}.id).limit(limit).offset(offset)
        if filters.status is not None:
            statement = statement.where({cls}.status == filters.status)
        if filters.search:
            statement = statement.where({cls}.name.ilike(f"%{{filters.search}}%"))
        if filters.created_after is not None:
            statement = statement.where({cls}.created_at >= filters.created_after)
        if filters.created_before is not None:
            statement = statement.where({cls}.created_at < filters.created_before)
        result = await self.session.scalars(statement)
        return result.all()

    async def count(self, filters: {cls}Filter) -> int:
        statement = select(func.count({cls}.id))
        if filters.status is not None:
            statement = statement.where({cls}.status == filters.status)
        result = await self.session.execute(statement)
        return int(result.scalar_one())

    async def search_ids(self, term: str) -> list[int]:
{search}
    async def add(self, {entity}: {cls}) -> {cls}:
        self.session.add({entity})
{commit}        return {entity}

    async def update(self, {entity}: {cls}, changes: dict[str, object], now: datetime) -> {cls}:
        for field, value in changes.items():
            setattr({entity}, field, value)
        {entity}.touch(now)
        await self.session.flush()
        return {entity}

    async def delete(self, {entity}: {cls}) -> None:
        await self.session.delete({entity})
        await self.session.flush()

    async def exists_with_name(self, name: str) -> bool:
        statement = select({cls}.id).where({cls}.name == name).limit(1)
        result = await self.session.execute(statement)
        return result.first() is not None

    async def stale(self, older_than: datetime, limit: int = 500) -> Sequence[{cls}]:
        statement = (
            select({cls})
            .where({cls}.updated_at < older_than)
            .order_by({cls}.updated_at)
            .limit(limit)
        )
        result = await self.session.scalars(statement)
        return result.all()

    async def archive(self, rows: Sequence[{cls}]) -> int:
        archived = 0
        for row in rows:
            self.session.add({cls}Archive(original_id=row.id, payload=repr(row)))
            await self.session.delete(row)
            archived += 1
        await self.session.flush()
        return archived

    async def counts_by_status(self) -> dict[str, int]:
        statement = select({cls}.status, func.count({cls}.id)).group_by({cls}.status)
        result = await self.session.execute(statement)
        return {{status: count for status, count in result.all()}}

    async def names_starting_with(self, prefix: str, limit: int = 20) -> list[str]:
        statement = (
            select({cls}.name)
            .where({cls}.name.startswith(prefix))
            .order_by({cls}.name)
            .limit(limit)
        )
        result = await self.session.scalars(statement)
        return list(result.all())

    async def add_many(self, rows: Sequence[{cls}]) -> int:
        self.session.add_all(rows)
        await self.session.flush()
        return len(rows)

    async def existing_names(self, names: Sequence[str]) -> set[str]:
        if not names:
            return set()
        statement = select({cls}.name).where({cls}.name.in_(names))
        result = await self.session.scalars(statement)
        return set(result.all())
'''


def service_module(entity: str, violation: str | None) -> str:
    cls = camel(entity)
    missing = (
        f'''            raise HTTPException(status_code=404, detail="{entity} not found")'''
        if violation == "http"
        else f'''            raise NotFoundError("{entity}", {entity}_id)'''
    )
    http_import = "from fastapi import HTTPException\n" if violation == "http" else ""
    totals = (
        f'''    async def line_totals(self, filters: {cls}Filter) -> dict[int, int]:
        totals: dict[int, int] = {{}}
        for {entity} in await self.repository.list(filters):
            totals[{entity}.id] = sum(line.amount for line in {entity}.lines)
        return totals
'''
        if violation == "n_plus_one"
        else f'''    async def line_totals(self, filters: {cls}Filter) -> dict[int, int]:
        totals: dict[int, int] = {{}}
        for {entity}_id in await self.repository.search_ids(filters.search or ""):
            {entity} = await self.repository.get_with_lines({entity}_id)
            if {entity} is not None:
                totals[{entity}.id] = sum(line.amount for line in {entity}.lines)
        return totals
'''
    )
    return f'''"""Business operations on {entity}s."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

{http_import}from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ConflictError, NotFoundError
from app.models.{entity} import {cls}
from app.repositories.{entity}_repository import {cls}Repository
from app.schemas.{entity} import {cls}Create, {cls}Filter, {cls}Import, {cls}Page, {cls}Read, {cls}Update

log = logging.getLogger(__name__)


class {cls}Service:
    """Use cases for {entity}s; one transaction per public method."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = {cls}Repository(session)

    async def get(self, {entity}_id: int) -> {cls}Read:
        {entity} = await self.repository.get({entity}_id)
        if {entity} is None:
{missing}
        return {cls}Read.model_validate({entity})

    async def list(self, filters: {cls}Filter, limit: int, offset: int) -> {cls}Page:
        items = await self.repository.list(filters, limit=limit, offset=offset)
        total = await self.repository.count(filters)
        return {cls}Page(
            items=[{cls}Read.model_validate(item) for item in items],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def create(self, data: {cls}Create) -> {cls}Read:
        async with self.session.begin():
            if await self.repository.exists_with_name(data.name):
                raise ConflictError("{entity}", data.name)
            {entity} = {cls}(**data.model_dump())
            await self.repository.add({entity})
        log.info("created {entity} %s", {entity}.id)
        return {cls}Read.model_validate({entity})

    async def update(self, {entity}_id: int, data: {cls}Update) -> {cls}Read:
        async with self.session.begin():
            {entity} = await self.repository.get({entity}_id)
            if {entity} is None:
                raise NotFoundError("{entity}", {entity}_id)
            changes = data.model_dump(exclude_unset=True)
            await self.repository.update({entity}, changes, datetime.now(timezone.utc))
        return {cls}Read.model_validate({entity})

    async def delete(self, {entity}_id: int) -> None:
        async with self.session.begin():
            {entity} = await self.repository.get({entity}_id)
            if {entity} is None:
                raise NotFoundError("{entity}", {entity}_id)
            await self.repository.delete({entity})
        log.info("deleted {entity} %s", {entity}_id)

{totals}
    @staticmethod
    def priority_label(priority: int) -> str:
        if priority >= 5:
            return "urgent"
        if priority >= 4:
            return "high"
        if priority >= 2:
            return "normal"
        return "low"

    async def archive_stale(self, days: int = 90) -> int:
        cutoff = datetime.now(timezone.utc).replace(microsecond=0)
        cutoff = cutoff.replace(day=1) if days >= 30 else cutoff
        async with self.session.begin():
            rows = await self.repository.stale(cutoff)
            archived = await self.repository.archive(rows)
        if archived:
            log.info("archived %d stale {entity}s", archived)
        return archived

    async def dashboard(self) -> dict[str, object]:
        counts = await self.repository.counts_by_status()
        total = sum(counts.values())
        active = counts.get("active", 0)
        ratio = active / total if total else 0.0
        return {{
            "total": total,
            "by_status": counts,
            "active_ratio": round(ratio, 3),
            "health": "ok" if ratio >= 0.5 else "degraded",
        }}

    async def suggest(self, prefix: str) -> list[str]:
        prefix = prefix.strip()
        if len(prefix) < 2:
            return []
        names = await self.repository.names_starting_with(prefix)
        seen: set[str] = set()
        unique = []
        for name in names:
            key = name.casefold()
            if key not in seen:
                seen.add(key)
                unique.append(name)
        return unique

    async def bulk_import(self, data: {cls}Import) -> dict[str, int]:
        names = [row.name for row in data.rows]
        async with self.session.begin():
            existing = await self.repository.existing_names(names)
            fresh = [{cls}(**row.model_dump()) for row in data.rows if row.name not in existing]
            if data.dry_run:
                await self.session.rollback()
                return {{"would_create": len(fresh), "skipped": len(existing)}}
            created = await self.repository.add_many(fresh)
        return {{"created": created, "skipped": len(existing)}}
'''


def router_module(entity: str, violation: str | None) -> str:
    cls = camel(entity)
    stats = (
        f'''@router.get("/stats/count")
async def count_{entity}s(session: AsyncSession = Depends(get_session)) -> dict[str, int]:
    result = await session.execute(select(func.count({cls}.id)))
    return {{"count": int(result.scalar_one())}}
'''
        if violation == "router_db"
        else f'''@router.get("/stats/count")
async def count_{entity}s(service: {cls}Service = Depends(get_{entity}_service)) -> dict[str, int]:
    page = await service.list({cls}Filter(), limit=1, offset=0)
    return {{"count": page.total}}
'''
    )
    return f'''"""HTTP endpoints for {entity}s."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session
from app.models.{entity} import {cls}
from app.schemas.{entity} import {cls}Create, {cls}Filter, {cls}Import, {cls}Page, {cls}Read, {cls}Update
from app.services.{entity}_service import {cls}Service

router = APIRouter(prefix="/{entity}s", tags=["{entity}s"])


def get_{entity}_service(session: AsyncSession = Depends(get_session)) -> {cls}Service:
    return {cls}Service(session)


@router.get("", response_model={cls}Page)
async def list_{entity}s(
    status_filter: str | None = Query(default=None, alias="status"),
    search: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
    service: {cls}Service = Depends(get_{entity}_service),
) -> {cls}Page:
    filters = {cls}Filter(status=status_filter, search=search)
    return await service.list(filters, limit=limit, offset=offset)


@router.get("/{{{entity}_id}}", response_model={cls}Read)
async def get_{entity}({entity}_id: int, service: {cls}Service = Depends(get_{entity}_service)) -> {cls}Read:
    return await service.get({entity}_id)


@router.post("", response_model={cls}Read, status_code=status.HTTP_201_CREATED)
async def create_{entity}(data: {cls}Create, service: {cls}Service = Depends(get_{entity}_service)) -> {cls}Read:
    return await service.create(data)


@router.patch("/{{{entity}_id}}", response_model={cls}Read)
async def update_{entity}(
    {entity}_id: int, data: {cls}Update, service: {cls}Service = Depends(get_{entity}_service)
) -> {cls}Read:
    return await service.update({entity}_id, data)


@router.delete("/{{{entity}_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_{entity}({entity}_id: int, service: {cls}Service = Depends(get_{entity}_service)) -> None:
    await service.delete({entity}_id)


@router.get("/dashboard/summary")
async def {entity}_dashboard(service: {cls}Service = Depends(get_{entity}_service)) -> dict[str, object]:
    return await service.dashboard()


@router.get("/suggest/names")
async def suggest_{entity}_names(
    prefix: str = Query(min_length=2, max_length=50),
    service: {cls}Service = Depends(get_{entity}_service),
) -> list[str]:
    return await service.suggest(prefix)


@router.post("/import", status_code=status.HTTP_202_ACCEPTED)
async def import_{entity}s(
    data: {cls}Import, service: {cls}Service = Depends(get_{entity}_service)
) -> dict[str, int]:
    return await service.bulk_import(data)


@router.post("/maintenance/archive", status_code=status.HTTP_202_ACCEPTED)
async def archive_stale_{entity}s(
    days: int = Query(default=90, ge=1, le=3650),
    service: {cls}Service = Depends(get_{entity}_service),
) -> dict[str, int]:
    return {{"archived": await service.archive_stale(days)}}


{stats}'''


SHARED = {
    "pyproject.toml": """\
[project]
name = "bench-shop"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["fastapi>=0.115", "sqlalchemy[asyncio]>=2.0", "asyncpg>=0.29", "alembic>=1.13", "pydantic>=2.7"]

[dependency-groups]
dev = ["pytest>=8", "ruff>=0.6", "mypy>=1.11"]
""",
    "app/__init__.py": "",
    "app/models/__init__.py": "",
    "app/schemas/__init__.py": "",
    "app/repositories/__init__.py": "",
    "app/services/__init__.py": "",
    "app/routers/__init__.py": "",
    "app/models/base.py": '''"""Declarative base shared by every model."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
''',
    "app/models/line.py": '''"""Line items shared by every entity."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Line(Base):
    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
''',
    "app/db.py": '''"""Engine and session factory; sessions are created per request."""

import os
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
SessionFactory = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionFactory() as session:
        yield session
''',
    "app/errors.py": '''"""Domain errors, mapped to HTTP responses in app.main."""


class DomainError(Exception):
    status_code = 400


class NotFoundError(DomainError):
    status_code = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")


class ConflictError(DomainError):
    status_code = 409

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} already exists")
''',
}


def generate_workspace(root: Path, files: int = 1000, seed: int = 7) -> list[Path]:
    """Write the synthetic workspace under ``root``; returns every .py file."""
    rng = random.Random(seed)
    for relative, text in SHARED.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    domains = max(1, (files - len(SHARED)) // 5)
    entities = []
    for number in range(domains):
        base = NOUNS[number % len(NOUNS)]
        entities.append(base if number < len(NOUNS) else f"{base}_{number // len(NOUNS)}")
    main_imports = []
    for number, entity in enumerate(entities):
        parent = entities[number - 1] if number and rng.random() < 0.5 else None
        violation = rng.choice([None] * 6 + ["commit", "sql", "http", "n_plus_one", "router_db"])
        modules = {
            f"app/models/{entity}.py": model_module(entity, parent, rng),
            f"app/schemas/{entity}.py": schema_module(entity),
            f"app/repositories/{entity}_repository.py": repository_module(entity, violation),
            f"app/services/{entity}_service.py": service_module(entity, violation),
            f"app/routers/{entity}.py": router_module(entity, violation),
        }
        for relative, text in modules.items():
            (root / relative).write_text(text, encoding="utf-8")
        main_imports.append(entity)
    main = ["from fastapi import FastAPI", ""]
    main += [f"from app.routers import {entity} as {entity}_router" for entity in main_imports]
    main += ["", 'app = FastAPI(title="bench shop")']
    main += [f"app.include_router({entity}_router.router)" for entity in main_imports]
    (root / "app/main.py").write_text("\n".join(main) + "\n", encoding="utf-8")
    return sorted(root.rglob("*.py"))


def time_parse(paths: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds to read and ``ast.parse`` every file here."""
    wall, cpu = time.perf_counter(), time.process_time()
    for path in paths:
        ast.parse(path.read_bytes(), filename=str(path))
    return time.perf_counter() - wall, time.process_time() - cpu


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_check(root: Path, *extra: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall, CPU of every process of the run, the run) of one
    ``stackguard check``; the workers' CPU is included (they are the check's
    children, reaped before it exits)."""
    command = [sys.executable, "-m", "stackguard", "check", ".", "--exit-zero", "--format", "json", *extra]
    cpu = children_cpu()
    start = time.perf_counter()
    env = {**os.environ, "STACKGUARD_TIMINGS": "1"}
    completed = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"stackguard check failed ({completed.returncode}):\n{completed.stderr}")
    return elapsed, children_cpu() - cpu, completed


def timings(completed: subprocess.CompletedProcess[str]) -> dict:
    for line in completed.stderr.splitlines():
        if line.startswith("stackguard-timings: "):
            return json.loads(line.split(": ", 1)[1])
    return {}


def ensure_bytecode() -> str:
    """Compile stackguard's modules to ``__pycache__`` as ``pip install``
    does. A development checkout run with PYTHONDONTWRITEBYTECODE (or never
    imported before) would otherwise compile ~70 modules in every measured
    process, a cost no installed copy pays."""
    import compileall

    import stackguard

    package = Path(stackguard.__file__).parent
    compileall.compile_dir(package, quiet=1, force=False)
    return str(package)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="about how many files to generate (default 1000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (for profiling)")
    args = parser.parse_args(argv)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="stackguard-bench-"))
    if args.keep and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        paths = generate_workspace(workdir, args.files)
        lines = sum(path.read_text(encoding="utf-8").count("\n") for path in paths)
        print(f"workspace: {workdir} ({len(paths)} files, {lines} lines)")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; bytecode of {ensure_bytecode()} compiled beforehand")

        # Interleaved, so a machine that speeds up or slows down during the
        # run (shared CPUs, frequency scaling) moves both sides alike.
        parse_runs, cold_runs = [], []
        for _ in range(args.repeat):
            parse_runs.append(time_parse(paths))
            cold_runs.append(time_check(workdir, "--no-cache"))
        parse_s = statistics.median(wall for wall, _ in parse_runs)
        parse_cpu = statistics.median(cpu for _, cpu in parse_runs)
        cold_s = statistics.median(wall for wall, _, _ in cold_runs)
        cold_cpu = statistics.median(cpu for _, cpu, _ in cold_runs)
        findings = cold_runs[0][2].stdout.count('"code":')

        shutil.rmtree(workdir / ".stackguard_cache", ignore_errors=True)
        time_check(workdir)  # fills the cache
        warm_runs = [time_check(workdir) for _ in range(args.repeat)]
        # A run whose cache was invalidated meanwhile (stackguard's own files
        # changed, as in a development checkout) is not a warm run.
        hits = [timings(run).get("findings_hits") for _, _, run in warm_runs]
        fully_cached = [run for run, hit in zip(warm_runs, hits) if hit == len(paths)] or warm_runs
        warm_s = statistics.median(wall for wall, _, _ in fully_cached)
        warm_cpu = statistics.median(cpu for _, cpu, _ in fully_cached)
        warm = timings(fully_cached[-1][2])
        warm_findings = warm_runs[0][2].stdout.count('"code":')
        steps = timings(cold_runs[-1][2]).get("timings", {})

        print(f"findings: {findings} (cold), {warm_findings} (warm)")
        print(f"load average before the runs: {os.getloadavg()[0]:.2f} (ratios are unreliable on a busy machine)")
        print("                                       wall        CPU (all processes)")
        print(f"(a) read + ast.parse, in process  {parse_s * 1000:8.0f} ms  {parse_cpu * 1000:8.0f} ms")
        print(f"(b) stackguard check --no-cache   {cold_s * 1000:8.0f} ms  {cold_cpu * 1000:8.0f} ms")
        print(f"(c) stackguard check, warm cache  {warm_s * 1000:8.0f} ms  {warm_cpu * 1000:8.0f} ms")
        print(f"b/a = {cold_s / parse_s:.2f} wall (target <= {TARGET_CHECK_RATIO}), {cold_cpu / parse_cpu:.2f} CPU")
        print(f"c/a = {warm_s / parse_s:.2f} wall, {warm_cpu / parse_cpu:.2f} CPU")
        print("steps of the last cold run (s): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
        print(
            f"warm runs: files from the cache per run {hits}; the medians use the {len(fully_cached)} fully cached "
            f"(last: {warm.get('findings_hits', '?')} of {warm.get('files', '?')} from the cache, {warm.get('parsed', '?')} parsed)"
        )
        print(f"medians of {args.repeat} runs; (b) and (c) are whole processes (interpreter start included)")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
