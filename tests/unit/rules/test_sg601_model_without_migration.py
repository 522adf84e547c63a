"""SG601 through the engine and the workspace index, as the editor and the
CLI run it: findings on open model files, the data a code action needs,
quiet without an index, and SG602 on migrations written by the generator."""

from __future__ import annotations

import shutil
from pathlib import Path

from stackguard.analysis.engine import Engine
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.project import ProjectAnalyzer, python_files
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.migrations.generate import plan_alembic_migration, write_new_file

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"
MODEL_CHANGE = (
    "    pages: Mapped[int] = mapped_column(default=0)\n",
    "    pages: Mapped[int] = mapped_column(default=0)\n    isbn: Mapped[str | None] = mapped_column(String(13))\n",
)


def app_copy(tmp_path: Path) -> Path:
    target = tmp_path / "app"
    shutil.copytree(WORKSPACES / "app_fastapi_sqlalchemy", target, ignore=shutil.ignore_patterns("__pycache__"))
    models = target / "app/models.py"
    models.write_text(models.read_text().replace(*MODEL_CHANGE))
    return target


def test_findings_carry_what_the_generate_action_needs(tmp_path: Path):
    root = app_copy(tmp_path)
    analyzer = ProjectAnalyzer(root, None, Settings(select=["SG6"]))
    analyzer.build_index()
    analysis = analyzer.analyze_file(str(root / "app/models.py"))
    [finding] = analysis.findings
    assert (finding.code, finding.line, finding.column) == ("SG601", 32, 4)
    assert finding.fix_title == "Generate a migration" and not finding.fixable
    assert finding.data == {
        "table": "books",
        "column": "isbn",
        "kind": "missing_column",
        "tool": "alembic",
        "location": "alembic/versions",
        "root": str(root),
    }


def test_a_new_revision_clears_the_finding_and_passes_sg602(tmp_path: Path):
    root = app_copy(tmp_path)
    analyzer = ProjectAnalyzer(root, None, Settings(select=["SG6"]))
    analyzer.build_index()
    assert analyzer.analyze_file(str(root / "app/models.py")).findings
    result = plan_alembic_migration(root, analyzer.index, "isbn")
    write_new_file(result.path, result.content)
    new_file = analyzer.analyze_file(str(result.path))
    assert new_file.findings == []  # the generated revision has a real downgrade (SG602 quiet)
    assert "app/models.py" in new_file.affected
    assert analyzer.analyze_file(str(root / "app/models.py")).findings == []


def test_quiet_without_an_index():
    text = (WORKSPACES / "app_fastapi_sqlalchemy/app/models.py").read_text().replace(*MODEL_CHANGE)
    source = parse_source("/x/app/models.py", "app/models.py", text)
    assert Engine(Settings(select=["SG601"])).check(source, "model").findings == []


def test_excluded_test_models_and_histories_are_ignored(tmp_path: Path):
    root = app_copy(tmp_path)
    index = WorkspaceIndex.build(root, python_files(root), processes=1)
    source = parse_source(str(root / "app/models.py"), "app/models.py", (root / "app/models.py").read_text())
    findings = Engine(Settings(select=["SG601"])).check(source, "test", index=index).findings
    assert findings == []
