"""Migrations without a database: what a project's migration history builds
(``history``), how the models differ from it (``diff``), and a new migration
that closes the gap (``generate``).

Alembic histories are read from the ``op.*`` calls of the revision files,
Django histories from the migrations' operations; both statically, with the
standard library ``ast``. Everything here returns plain dataclasses and never
imports pygls.
"""

from __future__ import annotations
