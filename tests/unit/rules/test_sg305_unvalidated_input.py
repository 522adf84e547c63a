"""SG305 unvalidated-input: which raw reads are used as data, which go
straight into validation, and when query parameters are parsed by hand."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings

FASTAPI = """\
from fastapi import APIRouter, Request

from app.schemas import ItemIn

router = APIRouter()


@router.post("/items")
async def create(request: Request, session):
"""
FLASK = """\
from flask import Flask, request

app = Flask(__name__)


@app.route("/items", methods=["POST"])
def create():
"""


def lint(head: str, body: str, *, path: str = "app/api/routes/items.py"):
    code = head + textwrap.indent(textwrap.dedent(body), "    ")
    source = parse_source(f"/p/{path}", path, code)
    assert source.tree is not None, code
    result = Engine(Settings(select=["SG305"])).check(source, "router")
    assert not result.rule_errors, result.rule_errors
    return result.findings


@pytest.mark.parametrize(
    "body",
    [
        "data = await request.json()\nreturn service.create(session, data['name'])\n",
        "return service.create(session, **(await request.json()))\n",
        "form = await request.form()\nreturn service.create(session, form.get('name'))\n",
        "raw = await request.body()\nreturn service.store(session, raw)\n",
        "if (data := await request.json()):\n    return service.create(session, data)\n",
        "return {'echo': await request.json()}\n",
    ],
)
def test_fastapi_raw_body_used_as_data(body):
    (finding,) = lint(FASTAPI, body)
    assert finding.data["source"] == "body"
    assert finding.message.startswith("`create` uses the raw request body")
    assert finding.message.endswith("declare a Pydantic model parameter")


@pytest.mark.parametrize(
    "body",
    [
        "return service.create(session, ItemIn(**await request.json()))\n",
        "data = await request.json()\nitem = ItemIn.model_validate(data)\nreturn service.create(session, item)\n",
        "payload = await request.json()\nif not payload:\n    return None\nlogger.info('payload %s', payload)\nreturn service.create(session, ItemIn.model_validate(payload))\n",
        "body = await request.body()\nverify_signature(body, request.headers['x-signature'])\nreturn {}\n",
        "return service.search(session, request.query_params.get('q'))\n",
        "return service.create(session, TypeAdapter(list[ItemIn]).validate_python(await request.json()))\n",
        "data = await request.json()\nreturn service.create(session, ItemIn(name=data['name']) if data else None)\n",
    ],
)
def test_fastapi_validated_or_harmless(body):
    assert lint(FASTAPI, body) == []


def test_model_names_from_the_index_are_mass_assignment():
    from stackguard.analysis.index import WorkspaceIndex

    models = "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\nclass ItemModel(Base):\n    __tablename__ = 'items'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
    code = FASTAPI + "    return service.save(session, ItemModel(**await request.json()))\n"
    index = WorkspaceIndex()
    for relative, text in (("app/models.py", models), ("app/api/routes/items.py", code)):
        index.update_tree(relative, parse_source(relative, relative, text).tree)
    source = parse_source("/p/app/api/routes/items.py", "app/api/routes/items.py", code)
    findings = Engine(Settings(select=["SG305"])).check(source, "router", index=index).findings
    assert [f.data["source"] for f in findings] == ["body"]
    # Without the index the `…Model` suffix reads as a schema.
    assert lint(FASTAPI, "return service.save(session, ItemModel(**await request.json()))\n") == []


@pytest.mark.parametrize(
    ("body", "source"),
    [
        ("return service.create(request.get_json()['name'])\n", "body"),
        ("return service.create(request.json.get('name'))\n", "body"),
        ("return service.create(**request.form)\n", "body"),
        ("return service.create(request.values.get('name'))\n", "body"),
        ("return service.search(dict(request.args))\n", "query"),
        ("return service.search(request.args.to_dict())\n", "query"),
        ("a = request.args['a']\nb = request.args.get('b')\nc = request.args.get('c')\nreturn service.search(a, b, c)\n", "query_fields"),
    ],
)
def test_flask_reads(body, source):
    (finding,) = lint(FLASK, body, path="web/items.py")
    assert finding.data["source"] == source


@pytest.mark.parametrize(
    "body",
    [
        "return service.page(request.args.get('page', 1, type=int))\n",
        "return service.page(request.args.get('page', 1, type=int), request.args.get('per_page', 20, type=int))\n",
        "return service.create(schema.load(request.get_json()))\n",
        "return service.create(ItemSchema().load(request.json))\n",
        "return service.upload(request.files['file'])\n",
        "return service.create(request.headers.get('X-Request-Id'))\n",
        "if request.method == 'POST':\n    return service.create(ItemForm(request.form))\nreturn None\n",
        "return service.create(ItemIn(name=request.form['name'], price=request.form['price']))\n",
    ],
)
def test_flask_quiet(body):
    assert lint(FLASK, body, path="web/items.py") == []


def test_one_finding_per_source_with_a_count():
    (finding,) = lint(FLASK, "return service.create(request.form['a'], request.form['b'], request.form['c'])\n", path="web/items.py")
    assert finding.data["count"] == 3 and "(`request.form`, 3 reads)" in finding.message


def test_non_handlers_are_out_of_scope():
    code = "from flask import request\n\n\ndef helper():\n    return request.get_json()['x']\n"
    source = parse_source("/p/web/util.py", "web/util.py", code)
    assert Engine(Settings(select=["SG305"])).check(source, "router").findings == []
