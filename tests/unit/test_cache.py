"""The ``stackguard check`` cache: hits on an unchanged tree, and the right
misses when a file, the settings, a model other files read, or stackguard
itself changes. Asserted through the run's counters, never through timing."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from stackguard import check as check_module
from stackguard.check import CACHE_DIR_NAME, CheckCache, CheckOptions, run_check

MODELS = """\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    lines: Mapped[list["OrderLine"]] = relationship()


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[int]
"""

REPOSITORY = """\
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Order


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def totals(self) -> dict[int, int]:
        orders = self.session.scalars(select(Order).limit(100)).all()
        return {order.id: sum(line.amount for line in order.lines) for order in orders}

    def add(self, order: Order) -> Order:
        self.session.add(order)
        self.session.commit()
        return order
"""

SERVICE = """\
from sqlalchemy.orm import Session

from app.repositories.order_repository import OrderRepository


class OrderService:
    def __init__(self, session: Session) -> None:
        self.orders = OrderRepository(session)

    def grand_total(self) -> int:
        return sum(self.orders.totals().values())
"""

FILES = {
    "pyproject.toml": '[project]\nname = "orders"\ndependencies = ["sqlalchemy>=2.0"]\n',
    "app/__init__.py": "",
    "app/models.py": MODELS,
    "app/repositories/__init__.py": "",
    "app/repositories/order_repository.py": REPOSITORY,
    "app/services/__init__.py": "",
    "app/services/order_service.py": SERVICE,
}
PYTHON_FILES = sum(1 for name in FILES if name.endswith(".py"))


@pytest.fixture(autouse=True)
def pinned_fingerprint(monkeypatch):
    """The real fingerprint includes the mtimes of stackguard's own files:
    pinned so an edit elsewhere in a checkout cannot turn a hit into a miss
    between two runs of one test (test_a_new_stackguard_starts_afresh
    covers the fingerprint)."""
    monkeypatch.setattr(check_module, "code_fingerprint", lambda: "pinned")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def check(root: Path, **options):
    return run_check(CheckOptions(paths=[str(root)], cwd=str(root), jobs=1, **options))


def codes(run) -> list[tuple[str, str]]:
    return sorted((f.relative, f.code) for f in run.findings)


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_unchanged_tree_is_read_from_the_cache(project):
    first = check(project)
    assert codes(first) == [("app/repositories/order_repository.py", "SG105"), ("app/repositories/order_repository.py", "SG202")]
    assert first.stats.parsed == PYTHON_FILES
    assert (first.stats.summary_hits, first.stats.findings_hits) == (0, 0)
    assert first.stats.cache_written
    assert (project / CACHE_DIR_NAME / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"

    second = check(project)
    assert second.stats.parsed == 0
    assert second.stats.summary_hits == second.stats.findings_hits == PYTHON_FILES
    assert [(f.relative, f.line, f.column, f.message) for f in second.findings] == [
        (f.relative, f.line, f.column, f.message) for f in first.findings
    ]
    assert all(f.path == str(project / f.relative) for f in second.findings)
    assert not second.stats.cache_written  # nothing changed, nothing rewritten


def test_editing_a_function_body_rechecks_only_that_file(project):
    check(project)
    edit(project, "app/services/order_service.py", "return sum(self.orders.totals().values())", "totals = self.orders.totals()\n        return sum(totals.values())")
    # Moving code down (a new comment on top) shifts positions but changes no cross-file fact.
    edit(project, "app/services/order_service.py", "from sqlalchemy.orm", "# Order use cases.\nfrom sqlalchemy.orm")
    run = check(project)
    assert run.stats.parsed == 1
    assert run.stats.summary_hits == run.stats.findings_hits == PYTHON_FILES - 1
    assert codes(run) == [("app/repositories/order_repository.py", "SG105"), ("app/repositories/order_repository.py", "SG202")]


def test_a_changed_finding_file_is_rechecked(project):
    check(project)
    edit(project, "app/repositories/order_repository.py", "        self.session.commit()\n", "        self.session.flush()\n")
    run = check(project)
    assert run.stats.parsed == 1 and run.stats.findings_hits == PYTHON_FILES - 1
    assert codes(run) == [("app/repositories/order_repository.py", "SG202")]


def test_changing_a_model_rechecks_the_files_that_read_it(project):
    check(project)
    # An eager default loader on the relationship: the (unchanged) repository's N+1 is gone.
    edit(project, "app/models.py", 'lines: Mapped[list["OrderLine"]] = relationship()', 'lines: Mapped[list["OrderLine"]] = relationship(lazy="selectin")')
    run = check(project)
    assert codes(run) == [("app/repositories/order_repository.py", "SG105")]
    assert run.stats.summary_hits == PYTHON_FILES - 1  # only models.py summarised again
    assert run.stats.findings_hits == 0  # every file may read the model


def test_changing_settings_rechecks_every_file_from_cached_summaries(project):
    check(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.stackguard]\nignore = ["SG105"]\n', encoding="utf-8")
    run = check(project)
    assert codes(run) == [("app/repositories/order_repository.py", "SG202")]
    assert run.stats.summary_hits == PYTHON_FILES and run.stats.findings_hits == 0
    # The command line's selection is a setting too.
    run = check(project, select=["SG105"])
    assert codes(run) == [("app/repositories/order_repository.py", "SG105")]
    assert run.stats.findings_hits == 0
    assert check(project, select=["SG105"]).stats.findings_hits == PYTHON_FILES


def test_layer_settings_invalidate_summaries(project):
    check(project)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.stackguard.layers]\nservice = ["app/repositories/**"]\n', encoding="utf-8")
    run = check(project)
    assert run.stats.summary_hits == 0
    assert ("app/repositories/order_repository.py", "SG105") not in codes(run)  # no longer a repository


def test_no_cache_neither_reads_nor_writes(project):
    run = check(project, use_cache=False)
    assert not (project / CACHE_DIR_NAME).exists()
    assert not run.stats.cache_written
    check(project)
    run = check(project, use_cache=False)
    assert run.stats.summary_hits == run.stats.findings_hits == 0 and run.stats.parsed == PYTHON_FILES


def test_a_new_stackguard_starts_afresh(project, monkeypatch):
    check(project)
    monkeypatch.setattr(check_module, "code_fingerprint", lambda: "another version")
    run = check(project)
    assert run.stats.summary_hits == run.stats.findings_hits == 0


def test_deleted_files_leave_the_cache(project):
    check(project)
    (project / "app/services/order_service.py").unlink()
    check(project)
    cache = CheckCache(str(project), "pinned", True)
    cache.load([])
    assert "app/services/order_service.py" not in cache.data.summaries
    assert "app/services/order_service.py" not in cache.data.findings
    assert "app/models.py" in cache.data.summaries


def cache_file(project: Path) -> Path:
    return project / CACHE_DIR_NAME / CheckCache.FILE_NAME


def test_a_corrupt_cache_is_rebuilt(project):
    check(project)
    cache_file(project).write_bytes(b"\x80\x05not a pickle at all")
    run = check(project)
    assert len(run.findings) == 2
    assert any(n.kind == "cache" and "unreadable cache" in n.message for n in run.notices)
    assert check(project).stats.findings_hits == PYTHON_FILES


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_cache_file_cannot_run_code(project, tmp_path):
    check(project)
    marker = tmp_path / "pwned"
    exploit = _Exploit()
    exploit.marker = marker
    cache_file(project).write_bytes(pickle.dumps(exploit))
    run = check(project)
    assert not marker.exists()
    assert any("refusing to load" in n.message for n in run.notices)
    assert len(run.findings) == 2
