"""Route handler holds business logic beyond validation and response mapping.

## What it does
Measures each route handler and flags it when the body does more than
validate, call a service and map the result to a response. The signals, each
conservative on its own:

- a `for`/`while` loop that computes or mutates values (augmented assignment,
  arithmetic on domain values, setting attributes, decisions inside the loop);
- more than 2 decision branches (`if`/`elif`/`match` arms) that are not
  validation guards: an arm that only raises, returns, aborts or clamps a
  parameter is a guard; `request.method` dispatch and `form.is_valid()` are
  not counted;
- 2 or more arithmetic expressions on domain values outside such loops
  (pagination arithmetic with `page`/`limit`/`offset`, string building and
  constants are not counted);
- a call to an external HTTP API (`requests`, `httpx`, `aiohttp.ClientSession`,
  `urllib.request.urlopen`) or sending mail (`send_mail`, `smtplib`,
  Flask-Mail, fastapi-mail);
- more than 25 statements.

The message lists what was measured, for example "(a loop that computes or
mutates values at line 22, 4 decision branches)".

## Why is this bad?
Business rules in a route handler can only run through HTTP: they cannot be
reused by a worker or a CLI, they are tested through the web client, and the
next endpoint that needs the same rule copies it. Handlers should validate
input, call one service method and map its result (or its domain exception)
to a response.

## Example
```python
@router.post("/orders/{order_id}/checkout")
async def checkout(order_id: int, service: OrderService = Depends()) -> OrderOut:
    order = await service.get(order_id)
    total = 0
    for line in order.lines:
        total += line.price * line.quantity
    if order.coupon:
        total -= order.coupon.amount
    order.total = total
    return OrderOut.model_validate(order)
```

## Use instead
```python
@router.post("/orders/{order_id}/checkout")
async def checkout(order_id: int, service: OrderService = Depends()) -> OrderOut:
    return OrderOut.model_validate(await service.checkout(order_id))
```

## Fix
The refactor `refactor.extract.service` (Extract to service) moves the
handler's body into a service method.

## References
- FastAPI: [Bigger applications](https://fastapi.tiangolo.com/tutorial/bigger-applications/)
- HackSoft Django Styleguide: [APIs & serializers](https://github.com/HackSoftware/Django-Styleguide#apis--serializers)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..analysis.semantics import FunctionNode, ImportMap, dotted_name
from ._layering import function_name_span, handler_display_name, handler_for_function
from ._sql import child_nodes
from .base import Rule

MAX_GUARDED_BRANCHES = 2
MIN_ARITHMETIC = 2
MAX_STATEMENTS = 25

ARITHMETIC_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
# Names that make arithmetic pagination or bookkeeping rather than domain logic.
PAGINATION_NAMES = frozenset(
    {"page", "per_page", "page_size", "pagesize", "size", "limit", "offset", "skip", "start", "end", "take", "cursor", "page_number", "elapsed", "started"}
)
EXTERNAL_CALLS = frozenset(
    {
        *(f"requests.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")),
        "requests.Session",
        *(f"httpx.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")),
        "httpx.Client",
        "httpx.AsyncClient",
        "aiohttp.ClientSession",
        "aiohttp.request",
        "urllib.request.urlopen",
        "urllib3.PoolManager",
    }
)
MAIL_CALLS = frozenset(
    {
        "django.core.mail.send_mail",
        "django.core.mail.send_mass_mail",
        "django.core.mail.mail_admins",
        "django.core.mail.EmailMessage",
        "django.core.mail.EmailMultiAlternatives",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "aiosmtplib.send",
        "aiosmtplib.SMTP",
        "flask_mail.Message",
        "fastapi_mail.FastMail",
    }
)


@dataclass
class Measurement:
    loops: list[int] = field(default_factory=list)
    branches: int = 0
    arithmetic: int = 0
    external: list[str] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)
    statements: int = 0

    def reasons(self) -> list[str]:
        parts: list[str] = []
        if self.loops:
            lines = ", ".join(str(line) for line in self.loops)
            noun = "a loop that computes" if len(self.loops) == 1 else f"{len(self.loops)} loops that compute"
            parts.append(f"{noun} or mutate{'s' if len(self.loops) == 1 else ''} values at line{'s' if len(self.loops) > 1 else ''} {lines}")
        if self.branches > MAX_GUARDED_BRANCHES:
            parts.append(f"{self.branches} decision branches")
        if self.arithmetic >= MIN_ARITHMETIC:
            parts.append(f"{self.arithmetic} arithmetic expressions on domain values")
        if self.external:
            parts.append(f"calls an external API with {', '.join(f'`{name}`' for name in _unique(self.external))}")
        if self.mail:
            parts.append(f"sends mail with {', '.join(f'`{name}`' for name in _unique(self.mail))}")
        if self.statements > MAX_STATEMENTS:
            parts.append(f"{self.statements} statements, over {MAX_STATEMENTS}")
        if parts:
            # Below their own thresholds these only add to the picture.
            if 0 < self.branches <= MAX_GUARDED_BRANCHES:
                parts.append(f"{self.branches} decision branch{'es' if self.branches > 1 else ''}")
            if 0 < self.arithmetic < MIN_ARITHMETIC:
                parts.append("1 arithmetic expression on domain values")
        return parts


class LogicInRouter(Rule):
    code = "SG102"
    name = "logic-in-router"
    default_severity = "warning"
    layers = frozenset({"router"})
    # Route handler detection is the framework gate, as in SG101.
    frameworks = None
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"
    fix_title = None

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        handler = handler_for_function(self.ctx, node)
        if handler is None:
            return
        measured = measure(node, self.ctx.imports)
        reasons = measured.reasons()
        if not reasons:
            return
        shown, owner = handler_display_name(node)
        self.report(
            function_name_span(self.ctx, node),
            f"Route handler `{shown}` holds business logic ({', '.join(reasons)}); move it into a service",
            data={
                "handler": node.name,
                "class": owner,
                "line": node.lineno,
                "loop_lines": measured.loops,
                "branches": measured.branches,
                "arithmetic": measured.arithmetic,
                "external_calls": _unique(measured.external),
                "mail": _unique(measured.mail),
                "statements": measured.statements,
            },
        )


def measure(func: FunctionNode, imports: ImportMap) -> Measurement:
    """The logic signals of one handler body (nested functions excluded)."""
    result = Measurement()
    params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    # (node, inside a computing loop)
    stack: list[tuple[ast.AST, bool]] = [(stmt, False) for stmt in reversed(body)]
    # One type test per node, then the branch for that type: this loop runs
    # for every node of every handler body.
    while stack:
        node, in_loop = stack.pop()
        node_type = type(node)
        if node_type in _NESTED_SCOPES:
            if node_type is not ast.Lambda:
                result.statements += 1
            continue
        if isinstance(node, ast.stmt):
            result.statements += 1
        if node_type in _LOOPS:
            if not in_loop and _loop_computes(node, params):  # type: ignore[arg-type]
                result.loops.append(node.lineno)  # type: ignore[attr-defined]
                in_loop = True
        elif node_type is ast.If:
            result.branches += _if_branches(node, params)  # type: ignore[arg-type]
        elif node_type is ast.Match:
            result.branches += sum(1 for case in node.cases if not _is_guard(case.body, params))  # type: ignore[attr-defined]
        elif node_type is ast.BinOp:
            if not in_loop and _domain_arithmetic(node):  # type: ignore[arg-type]
                result.arithmetic += 1
                continue  # the operands are part of this expression
        elif node_type is ast.AugAssign:
            if not in_loop and _domain_augassign(node):  # type: ignore[arg-type]
                result.arithmetic += 1
        elif node_type is ast.Call:
            resolved = imports.resolve(node.func)  # type: ignore[attr-defined]
            if resolved in EXTERNAL_CALLS:
                result.external.append(resolved)
            elif resolved in MAIL_CALLS:
                result.mail.append(resolved.rsplit(".", 1)[-1])
        stack.extend([(child, in_loop) for child in child_nodes(node)[::-1]])
    return result


_NESTED_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
_LOOPS = frozenset({ast.For, ast.AsyncFor, ast.While})


def _if_branches(node: ast.If, params: set[str]) -> int:
    """Non-guard arms of this ``if``: its body, and its ``else`` block when the
    body is not a guard (after a guard, ``else`` is just the main path). An
    ``elif`` is a separate ``If`` node, counted when it is visited."""
    if _is_dispatch_or_validation(node.test) or _is_guard(node.body, params):
        return 0
    orelse = node.orelse
    has_else = bool(orelse) and not (len(orelse) == 1 and isinstance(orelse[0], ast.If))
    return 1 + (1 if has_else and not _is_guard(orelse, params) else 0)


def _is_dispatch_or_validation(test: ast.expr) -> bool:
    """``request.method == "POST"`` and ``form.is_valid()``: framework plumbing."""
    for sub in ast.walk(test):
        if isinstance(sub, ast.Attribute) and sub.attr == "method" and (dotted_name(sub.value) or "").endswith("request"):
            return True
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "is_valid":
            return True
    return False


def _is_guard(body: list[ast.stmt], params: set[str]) -> bool:
    """An arm that only rejects or short-circuits (raise/return/abort/continue,
    optionally after logging), clamps/defaults a parameter or sets one key
    of the response."""
    if not body:
        return True
    last = body[-1]
    leading = body[:-1]
    if len(body) <= 3 and all(isinstance(s, ast.Expr) and isinstance(s.value, (ast.Call, ast.Await)) for s in leading):
        if isinstance(last, (ast.Raise, ast.Return, ast.Continue, ast.Break, ast.Pass)):
            return True
        if isinstance(last, ast.Expr) and isinstance(last.value, ast.Call):
            name = (dotted_name(last.value.func) or "").rsplit(".", 1)[-1]
            if name in ("abort", "abort_json", "raise_for_status"):
                return True
    if len(body) == 1 and isinstance(last, (ast.Assign, ast.AnnAssign)):
        targets = last.targets if isinstance(last, ast.Assign) else [last.target]
        if all(isinstance(t, ast.Name) and (t.id in params or t.id in PAGINATION_NAMES) for t in targets):
            return True
        # `if include_total: payload["total"] = count` is response mapping.
        if all(isinstance(t, ast.Subscript) for t in targets):
            return True
    return False


def _loop_computes(loop: ast.For | ast.AsyncFor | ast.While, params: set[str]) -> bool:
    stack: list[ast.AST] = [*loop.body, *loop.orelse]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.AugAssign) and not _is_string_value(node.value):
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) for t in targets):
                return True
        if isinstance(node, ast.BinOp) and _domain_arithmetic(node):
            return True
        if isinstance(node, ast.If) and not _is_dispatch_or_validation(node.test) and not _is_guard(node.body, params):
            return True
        stack.extend(child_nodes(node))
    return False


def _is_string_value(expr: ast.expr) -> bool:
    return isinstance(expr, ast.JoinedStr) or (isinstance(expr, ast.Constant) and isinstance(expr.value, (str, bytes)))


def _domain_arithmetic(node: ast.BinOp) -> bool:
    """Arithmetic on values that are neither constants, strings, containers,
    ``len()`` results nor pagination parameters."""
    if not isinstance(node.op, ARITHMETIC_OPS):
        return False
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [node]
    while stack:
        expr = stack.pop()
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ARITHMETIC_OPS):
            if isinstance(expr.op, ast.Mod) and _is_string_value(expr.left):
                return False  # "%s" % value formatting
            stack.extend((expr.left, expr.right))
        elif isinstance(expr, ast.UnaryOp):
            stack.append(expr.operand)
        else:
            operands.append(expr)
    variable = False
    for operand in operands:
        if _is_string_value(operand) or isinstance(operand, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp, ast.SetComp, ast.DictComp)):
            return False
        if isinstance(operand, ast.Constant):
            continue
        if isinstance(operand, ast.Call) and (dotted_name(operand.func) or "") in ("len", "str", "repr"):
            continue
        if _mentions(operand, PAGINATION_NAMES):
            return False
        variable = True
    return variable


def _domain_augassign(node: ast.AugAssign) -> bool:
    if not isinstance(node.op, ARITHMETIC_OPS) or _is_string_value(node.value):
        return False
    if isinstance(node.value, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp)):
        return False
    return not _mentions(node.target, PAGINATION_NAMES) and not _mentions(node.value, PAGINATION_NAMES)


def _mentions(expr: ast.AST, names: frozenset[str]) -> bool:
    for sub in ast.walk(expr):
        if isinstance(sub, ast.Name) and sub.id.lower() in names:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr.lower() in names:
            return True
    return False


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
