from __future__ import annotations

import os

# app.config reads DATABASE_URL at import time; tests use in-memory SQLite.
os.environ.setdefault("DATABASE_URL", "sqlite+pysqlite:///:memory:")
