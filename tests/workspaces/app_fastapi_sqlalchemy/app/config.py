"""Settings read from the environment (12-factor): nothing here is a secret."""

from __future__ import annotations

import os

DATABASE_URL = os.environ.get("DATABASE_URL", "sqlite:///./app.db")
PAGE_SIZE_MAX = int(os.environ.get("PAGE_SIZE_MAX", "100"))
