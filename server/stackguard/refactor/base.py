"""What every refactor shares: the refusal result, a read-only view of the
project (index + file texts, open documents first), the set of files a
refactor changes, imports copied from one module into another, and the
type and naming helpers the generated code uses.

Nothing here raises on user input: a refactor that cannot proceed returns a
``RefactorRefusal`` with a sentence the editor can show.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.codemod import (
    Codemod,
    TransformExit,
    TransformFailure,
    TransformSkip,
    TransformSuccess,
    transform_module,
)

from ..analysis.engine import module_name
from ..analysis.index import WorkspaceIndex
from ..fixes.edits import (
    FileEdit,
    Fix,
    add_from_import,
    imported_name,
    insert_import,
    module_bindings,
    text_edits,
)

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2_000_000


@dataclass(frozen=True)
class RefactorRefusal:
    """Why a refactor is not offered (or is shown disabled) here."""

    reason: str


RefactorResult = Fix | RefactorRefusal


class Refuse(Exception):
    """Raised inside a refactor to stop with a reason; turned into a
    ``RefactorRefusal`` at the refactor's entry point."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ProjectView:
    """The project one refactor reads: its root, its workspace index, and the
    current text of files (``overlay`` holds open documents, by relative
    path; everything else is read from disk)."""

    root: Path
    index: WorkspaceIndex
    overlay: Mapping[str, str] = field(default_factory=dict)
    # Held while a refactor reads the index from a worker thread (the editor
    # updates the index as documents change).
    lock: AbstractContextManager[object] | None = None

    def reading(self) -> AbstractContextManager[object]:
        return self.lock if self.lock is not None else nullcontext()

    def path(self, relative: str) -> str:
        return os.path.join(str(self.root), *relative.split("/"))

    def relative(self, path: str | Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return None

    def text(self, relative: str) -> str | None:
        """The file's text, None when it does not exist or cannot be read."""
        if relative in self.overlay:
            return self.overlay[relative]
        path = self.path(relative)
        try:
            if not os.path.isfile(path) or os.path.getsize(path) > MAX_FILE_BYTES:
                return None
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def exists(self, relative: str) -> bool:
        return relative in self.overlay or os.path.exists(self.path(relative))

    def is_dir(self, relative: str) -> bool:
        return os.path.isdir(self.path(relative))

    @property
    def first_party(self) -> frozenset[str]:
        """Top-level packages of the project (isort's first-party section)."""
        return frozenset(module.split(".", 1)[0] for module in self.index.modules if module)


class ChangeSet:
    """The files a refactor writes, each step reading the others' results:
    two steps editing one file (the router that is also the app module)
    produce one ``FileEdit``."""

    def __init__(self, project: ProjectView) -> None:
        self.project = project
        self._original: dict[str, str | None] = {}
        self._current: dict[str, str] = {}

    def text(self, relative: str) -> str | None:
        if relative in self._current:
            return self._current[relative]
        return self.project.text(relative)

    def set(self, relative: str, new_text: str) -> None:
        if relative not in self._original:
            self._original[relative] = self.project.text(relative)
        self._current[relative] = new_text

    def changed(self) -> dict[str, str]:
        return {rel: text for rel, text in self._current.items() if text != self._original.get(rel)}

    def created(self, relative: str) -> bool:
        return relative in self._current and self._original.get(relative) is None

    def tidy(self) -> None:
        """isort-style import blocks in every Python file we changed."""
        first_party = self.project.first_party
        for relative, text in list(self._current.items()):
            if relative.endswith(".py") and text:
                self._current[relative] = tidy_imports(self._original.get(relative), text, first_party)

    def to_fix(self, title: str, code: str, kind: str) -> Fix | None:
        self.tidy()
        edits: list[FileEdit] = []
        for relative in sorted(self._current, key=lambda rel: (self._original.get(rel) is None, rel)):
            new_text = self._current[relative]
            old_text = self._original.get(relative)
            path = self.project.path(relative)
            if old_text is None:
                edits.append(FileEdit(path=path, create=True, new_text=new_text))
            elif new_text != old_text:
                edits.append(FileEdit(path=path, edits=text_edits(old_text, new_text)))
        if not edits:
            return None
        return Fix(title=title, code=code, edits=tuple(edits), safe=False, kind=kind)


def _name_key(name: str) -> tuple[int, str]:
    """isort/ruff ``order-by-type``: CONSTANTS, then Classes, then the rest."""
    if name.isupper() and len(name) > 1:
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def _is_sorted(names: list[str]) -> bool:
    return names == sorted(names, key=_name_key)


def _import_block(body: list[cst.BaseStatement]) -> list[int]:
    """Indexes of the module's leading import statements (after the docstring)."""
    found: list[int] = []
    for index, statement in enumerate(body):
        if _statement_import(statement) is not None:
            found.append(index)
            continue
        if index == 0 and isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Expr):
            continue
        break
    return found


def tidy_imports(original: str | None, new_text: str, first_party: frozenset[str] | set[str]) -> str:
    """Keep the import block as isort would leave it after our edits: names
    of a from-import sorted (when they were before), at most one blank line
    between imports, and in a module this refactor created every import in
    its section and order."""
    try:
        tree = cst.parse_module(new_text)
    except cst.ParserSyntaxError:
        return new_text
    sorted_before: set[str] = set()
    if original is not None:
        try:
            for statement in cst.parse_module(original).body:
                if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                    small = statement.body[0]
                    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                        names = [code_of(a.name) for a in small.names]
                        if _is_sorted(names):
                            sorted_before.add(code_of(small.module) if small.module is not None else "")
        except cst.ParserSyntaxError:
            pass
    if original is not None:
        tree = _resort_new_imports(tree, original, first_party)
    body = list(tree.body)
    block = _import_block(body)
    for index in block:
        statement = body[index]
        assert isinstance(statement, cst.SimpleStatementLine)
        small = statement.body[0]
        if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar) and not small.relative:
            module = code_of(small.module) if small.module is not None else ""
            names = list(small.names)
            if (original is None or module in sorted_before) and not _is_sorted([code_of(a.name) for a in names]):
                commas = [a.comma for a in names]
                ordered = sorted(names, key=lambda a: _name_key(code_of(a.name)))
                names = [alias.with_changes(comma=comma) for alias, comma in zip(ordered, commas)]
                body[index] = statement.with_changes(body=[small.with_changes(names=names)])
        lines = list(body[index].leading_lines)
        if len(lines) > 1 and all(line.comment is None for line in lines):
            body[index] = body[index].with_changes(leading_lines=lines[:1])
    if original is None and block:
        statements = [body[i] for i in block]
        keyed = []
        for statement in statements:
            module, is_from = _statement_import(statement)  # type: ignore[misc]
            keyed.append(((import_section(module, first_party), is_from, module.lower()), statement))
        keyed.sort(key=lambda item: item[0])
        previous_section: int | None = None
        ordered_statements = []
        for key, statement in keyed:
            blank = [cst.EmptyLine()] if previous_section is not None and key[0] != previous_section else []
            if previous_section is None:
                blank = list(body[block[0]].leading_lines)
            ordered_statements.append(statement.with_changes(leading_lines=blank))
            previous_section = key[0]
        for position, statement in zip(block, ordered_statements):
            body[position] = statement
    return tree.with_changes(body=body).code


def _resort_new_imports(tree: cst.Module, original: str, first_party: frozenset[str] | set[str]) -> cst.Module:
    """Import statements added after the module's import block by other
    codemods (appended, not sorted) move to their isort place."""
    try:
        before = {code_of(s).strip() for s in cst.parse_module(original).body if _statement_import(s) is not None}
    except cst.ParserSyntaxError:
        return tree
    body = list(tree.body)
    block = _import_block(body)
    added = [i for i in block if code_of(body[i]).strip() not in before]
    if not added or len(added) == len(block):
        return tree
    statements = [body[i] for i in added]
    for index in reversed(added):
        removed = body.pop(index)
        if index < len(body) and removed.leading_lines and not body[index].leading_lines and index in block:
            body[index] = body[index].with_changes(leading_lines=removed.leading_lines)
    tree = tree.with_changes(body=body)
    for statement in statements:
        assert isinstance(statement, cst.SimpleStatementLine)
        tree = insert_import_sorted(tree, statement.with_changes(leading_lines=[]), first_party)
    return tree


def run_transform(codemod: Codemod, text: str) -> str:
    """Run one libcst transform (``transform_module`` never raises); its
    ``SkipFile`` reason becomes a ``Refuse``."""
    result = transform_module(codemod, text)
    if isinstance(result, TransformSuccess):
        return result.code
    if isinstance(result, TransformSkip):
        raise Refuse(result.skip_description or "nothing to change")
    if isinstance(result, TransformFailure):
        if isinstance(result.error, Refuse):
            raise result.error
        if isinstance(result.error, cst.ParserSyntaxError):
            raise Refuse("the file does not parse")
        log.warning("%s failed: %r\n%s", type(codemod).__name__, result.error, result.traceback_str)
        raise Refuse(f"internal error in {type(codemod).__name__}: {result.error!r}")
    assert isinstance(result, TransformExit)
    raise Refuse("interrupted")


def parse_python(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# --- imports ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSpec:
    """``from module import name as asname`` (``module`` set) or ``import
    name as asname``; ``local`` is the name it binds."""

    module: str | None
    name: str
    asname: str | None = None

    @property
    def local(self) -> str:
        if self.asname:
            return self.asname
        return self.name if self.module is not None else self.name.split(".", 1)[0]

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name


def _absolute(module: str | None, level: int, current: str) -> str | None:
    if not level:
        return module
    package = current.split(".")[:-1] if current else []
    if level > 1:
        if level - 1 > len(package):
            return None
        package = package[: len(package) - (level - 1)]
    parts = [*package, module] if module else package
    return ".".join(parts) or None


def import_bindings(tree: ast.Module, current_module: str, *, package: bool = False) -> dict[str, ImportSpec]:
    """Local name → where it comes from, for the module-level imports (also
    those under ``if``/``try`` at module level). ``package``: the module is an
    ``__init__.py`` (relative imports start at itself)."""
    base = current_module + ".__init__" if package else current_module
    found: dict[str, ImportSpec] = {}
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        statement = stack.pop(0)
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                spec = ImportSpec(None, alias.name, alias.asname)
                found[spec.local] = spec
        elif isinstance(statement, ast.ImportFrom):
            module = _absolute(statement.module, statement.level, base)
            if module is None:
                continue
            for alias in statement.names:
                if alias.name == "*":
                    continue
                spec = ImportSpec(module, alias.name, alias.asname)
                found[spec.local] = spec
        elif isinstance(statement, (ast.If, ast.Try)):
            stack.extend(statement.body)
            stack.extend(getattr(statement, "orelse", []))
            for handler in getattr(statement, "handlers", []):
                stack.extend(handler.body)
    return found


def has_star_import(tree: ast.Module) -> bool:
    return any(isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names) for s in tree.body)


def import_section(module: str, first_party: frozenset[str] | set[str] = frozenset()) -> int:
    """isort's sections: 0 future, 1 standard library, 2 third party, 3 first party."""
    top = module.split(".", 1)[0]
    if top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return 1
    if top in first_party or not top:
        return 3
    return 2


def _statement_import(statement: cst.BaseStatement) -> tuple[str, bool] | None:
    """(module, is a from-import) of a one-import statement line."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return code_of(small.names[0].name), False
    if isinstance(small, cst.ImportFrom):
        dots = "." * len(small.relative)
        return dots + (code_of(small.module) if small.module is not None else ""), True
    return None


def insert_import_sorted(tree: cst.Module, statement: cst.SimpleStatementLine, first_party: frozenset[str] | set[str]) -> cst.Module:
    """Insert an import into the module's leading import block where isort
    would put it: in its section (future, stdlib, third party, first party),
    plain imports before from-imports, by module name; a new section gets a
    blank line before it."""
    found = _statement_import(statement)
    if found is None:
        return insert_import(tree, statement)
    module, is_from = found
    section = 3 if module.startswith(".") else import_section(module, first_party)
    key = (section, is_from, module.lower())
    body = list(tree.body)
    block: list[tuple[int, tuple[int, bool, str]]] = []
    for index, existing in enumerate(body):
        info = _statement_import(existing)
        if info is None:
            if index == 0 and isinstance(existing, cst.SimpleStatementLine) and isinstance(existing.body[0], cst.Expr):
                continue  # the docstring
            if isinstance(existing, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in existing.body):
                continue
            break
        other_module, other_from = info
        other_section = 3 if other_module.startswith(".") else import_section(other_module, first_party)
        block.append((index, (other_section, other_from, other_module.lower())))
    if not block:
        return insert_import(tree, statement)
    same = [(i, k) for i, k in block if k[0] == section]
    if same:
        after = [i for i, k in same if k <= key]
        position = (after[-1] + 1) if after else same[0][0]
        if not after:
            # Taking the section's first place: its blank line moves to us.
            first = body[position]
            statement = statement.with_changes(leading_lines=first.leading_lines)
            body[position] = first.with_changes(leading_lines=[])
        body.insert(position, statement.with_changes(leading_lines=statement.leading_lines if not after else []))
        return tree.with_changes(body=body)
    before = [i for i, k in block if k[0] < section]
    if before:
        position = before[-1] + 1
        body.insert(position, statement.with_changes(leading_lines=[cst.EmptyLine()]))
        if position + 1 < len(body) and position + 1 in {i + 1 for i, _ in block}:
            following = body[position + 1]
            if not following.leading_lines:
                body[position + 1] = following.with_changes(leading_lines=[cst.EmptyLine()])
        return tree.with_changes(body=body)
    position = block[0][0]
    first = body[position]
    body[position] = first.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, statement.with_changes(leading_lines=first.leading_lines))
    return tree.with_changes(body=body)


def ensure_import(
    tree: cst.Module, spec: ImportSpec, current_module: str, first_party: frozenset[str] | set[str] = frozenset()
) -> tuple[cst.Module, str]:
    """``tree`` importing ``spec`` at module level, and the local name that
    refers to it there (an existing import of the same thing is reused,
    whatever its alias). Raises ``Refuse`` when the wanted name is taken by
    something else."""
    if spec.module is not None:
        existing = imported_name(tree, spec.module, spec.name, current_module)
        if existing is not None:
            return tree, existing
        wanted = spec.local
        if wanted in module_bindings(tree):
            raise Refuse(f"`{wanted}` already names something else in {current_module or 'the module'}")
        if spec.asname and spec.asname != spec.name:
            statement = cst.parse_statement(f"from {spec.module} import {spec.name} as {spec.asname}\n")
            return insert_import_sorted(tree, statement, first_party), spec.asname  # type: ignore[arg-type]
        if _imports_from(tree, spec.module, current_module):
            return add_from_import(tree, spec.module, spec.name, current_module), spec.name
        statement = cst.parse_statement(f"from {spec.module} import {spec.name}\n")
        return insert_import_sorted(tree, statement, first_party), spec.name  # type: ignore[arg-type]
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    dotted = cst.Module([]).code_for_node(alias.name)
                    bound = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
                    if dotted == spec.name and (bound or dotted.split(".", 1)[0]) == spec.local:
                        return tree, spec.local
    if spec.local in module_bindings(tree):
        raise Refuse(f"`{spec.local}` already names something else in {current_module or 'the module'}")
    text = f"import {spec.name} as {spec.asname}\n" if spec.asname else f"import {spec.name}\n"
    return insert_import_sorted(tree, cst.parse_statement(text), first_party), spec.local  # type: ignore[arg-type]


def _imports_from(tree: cst.Module, module: str, current_module: str) -> bool:
    """Whether a module-level, unaliased-module ``from module import …`` exists
    (so a new name joins it instead of a new statement)."""
    for statement in tree.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                found = _absolute(code_of(small.module) if small.module is not None else None, len(small.relative), current_module)
                if found == module:
                    return True
    return False


def ensure_imports(
    tree: cst.Module, specs: Iterable[ImportSpec], current_module: str, first_party: frozenset[str] | set[str] = frozenset()
) -> tuple[cst.Module, dict[str, str]]:
    """Every spec imported; returns the renames {wanted local: actual local}
    for specs an existing import binds under another name."""
    renames: dict[str, str] = {}
    seen: set[ImportSpec] = set()
    for spec in sorted(specs, key=lambda s: (s.module is not None, s.module or "", s.name)):
        if spec in seen:
            continue
        seen.add(spec)
        tree, local = ensure_import(tree, spec, current_module, first_party)
        if local != spec.local:
            renames[spec.local] = local
    return tree, renames


def used_names(tree: ast.Module) -> set[str]:
    """Every name read (or listed in ``__all__``) anywhere in the module."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            names.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            # String annotations ("Book") keep their import alive.
            names.add(node.value)
    return names


def loaded_names(tree: ast.Module) -> set[str]:
    """Names read anywhere (or exported in ``__all__``, or named in a string
    annotation), not counting names only assigned."""
    stored_only = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded | (used_names(tree) - stored_only)


class RenameNames(cst.CSTTransformer):
    """Rename names in expressions (not attribute names, keyword argument
    names or parameters); a replacement may be any expression
    (``session`` → ``self.session``)."""

    def __init__(self, renames: Mapping[str, cst.BaseExpression]) -> None:
        super().__init__()
        self.renames = renames

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        replacement = self.renames.get(original_node.value)
        return replacement if replacement is not None else updated_node

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        return updated_node.with_changes(name=original_node.name)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return updated_node.with_changes(name=original_node.name)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        return updated_node.with_changes(name=original_node.name)


def rename(node: cst.CSTNode, renames: Mapping[str, str | cst.BaseExpression]) -> cst.CSTNode:
    if not renames:
        return node
    expressions = {old: (cst.Name(new) if isinstance(new, str) else new) for old, new in renames.items() if old != new}
    if not expressions:
        return node
    return node.visit(RenameNames(expressions))


# --- names ------------------------------------------------------------------


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().strip("_")


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def singular(word: str) -> str:
    if word.endswith("oes") and word[:-2].rsplit("_", 1)[-1] in _O_PLURALS:
        return word[:-2]
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 1:
        return word[:-1]
    return word


_O_PLURALS = frozenset({"hero", "potato", "tomato", "echo", "veto", "torpedo", "cargo", "embargo"})


def plural(word: str) -> str:
    if word.rsplit("_", 1)[-1] in _O_PLURALS:
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def module_of(relative: str) -> str:
    return module_name(relative)


def new_module_text(docstring: str) -> str:
    return f'"""{docstring}"""\n\nfrom __future__ import annotations\n'


def code_of(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def normalized(code: str) -> str:
    """Code without comments and formatting, for "is this the same function"."""
    tree = parse_python(code)
    return ast.dump(tree) if tree is not None else code.strip()


def absolute_path_for(root: Path, relative: str) -> str:
    return os.path.join(str(root), *relative.split("/"))


ReadText = Callable[[str], "str | None"]
