"""The baseline of `bench/crud.py`: a FastAPI service written the way the documentation teaches it.

SQLAlchemy 2 async ORM, a session per request through a dependency, `select(Item).offset(o)
.limit(l)` and `scalars().all()`, `response_model` models with `from_attributes`, and
`session.add` / `commit` / `refresh` for creates: the FastAPI and SQLAlchemy tutorials, with no
hardening at all (no edge layer, no access log, no problem details, no input bounds beyond
the types). It serves the same table as the rendered service (same columns and indexes), with
the same driver and pool size, on one uvicorn worker with httptools and uvloop.

Not part of the service: `bench/crud.py` starts it as `python bench/conventional_app.py PORT`
with `CONVENTIONAL_DATABASE_URL`, `CONVENTIONAL_SCHEMA` (PostgreSQL only) and
`CONVENTIONAL_POOL_SIZE` in the environment.
"""

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import BigInteger, DateTime, Integer, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ["CONVENTIONAL_DATABASE_URL"]
SCHEMA = os.environ.get("CONVENTIONAL_SCHEMA") or None
POOL_SIZE = int(os.environ.get("CONVENTIONAL_POOL_SIZE", "5"))

engine = create_async_engine(DATABASE_URL, pool_size=POOL_SIZE)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012 - SQLAlchemy's declarative attribute

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ItemCreate(BaseModel):
    name: str
    description: str | None = None


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/items", response_model=list[ItemRead])
async def list_items(
    session: SessionDep, offset: int = 0, limit: Annotated[int, Query(le=100)] = 50
) -> list[Item]:
    result = await session.execute(select(Item).offset(offset).limit(limit))
    return list(result.scalars().all())


@app.get("/items/{item_id}", response_model=ItemRead)
async def get_item(item_id: int, session: SessionDep) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise HTTPException(status_code=404, detail="Item not found")
    return item


@app.post("/items", response_model=ItemRead, status_code=201)
async def create_item(data: ItemCreate, session: SessionDep) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    await session.commit()
    await session.refresh(item)
    return item


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
