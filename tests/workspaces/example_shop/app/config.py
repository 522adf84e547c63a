"""Configuration from the environment (twelve-factor): no secrets in code."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    page_size_limit: int = 100


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ["DATABASE_URL"],
        page_size_limit=int(os.environ.get("PAGE_SIZE_LIMIT", "100")),
    )


settings = load_settings()
