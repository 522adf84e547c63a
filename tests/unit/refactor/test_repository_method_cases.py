"""Move query to a repository on small projects: naming from the query,
aliased imports, async sessions, a repository module of functions, a chosen
name, values passed as plain attributes, and refusals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from refhelp import apply_fix, expect_fix, expect_refusal, position, view, write_project
from stackguard.refactor.repository_method import (
    check_query,
    model_at,
    move_query_to_repository,
)

MODELS = """\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    reference: Mapped[str] = mapped_column(unique=True)
    paid: Mapped[bool] = mapped_column(default=False)
"""


def project(tmp_path: Path, service: str, **extra: str) -> Path:
    files = {
        "shop/__init__.py": "",
        "shop/models.py": MODELS,
        "shop/services/__init__.py": "",
        "shop/services/orders.py": textwrap.dedent(service),
    }
    files.update({k.replace("__", "/") + ".py": textwrap.dedent(v) for k, v in extra.items()})
    return write_project(tmp_path, files)


def move(root: Path, needle: str, relative: str = "shop/services/orders.py", name: str | None = None):
    return move_query_to_repository(view(root), relative, position(root, relative, needle), name=name)


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("query", "method"),
    [
        ("session.scalar(sa.select(Model).where(Model.reference == reference))", "get_by_reference"),
        ("session.scalars(sa.select(Model).where(Model.customer_id == customer_id)).all()", "list_by_customer"),
        ("session.scalars(sa.select(Model).where(Model.paid.is_(False))).all()", "list_not_paid"),
        ("session.scalar(sa.select(sa.func.count()).select_from(Model).where(Model.customer_id == customer_id))", "count_by_customer"),
        ("session.get(Model, order_id)", "get"),
    ],
)
def test_method_names_come_from_the_query_and_aliases_are_kept(tmp_path: Path, query: str, method: str) -> None:
    root = project(
        tmp_path,
        f"""\
        import sqlalchemy as sa
        from sqlalchemy.orm import Session

        from shop.models import Order as Model


        def lookup(session: Session, reference: str, customer_id: int, order_id: int):
            return {query}
        """,
    )
    fix = expect_fix(move(root, query))
    assert fix.title == f"Move query to `OrderRepository.{method}`"
    apply_fix(fix)
    repository = read(root, "shop/repositories/orders.py")
    assert f"def {method}(self" in repository
    assert ("import sqlalchemy as sa\n" in repository) == ("sa." in query)
    assert "from shop.models import Order as Model\n" in repository
    assert "self.session." in repository and "commit" not in repository
    service = read(root, "shop/services/orders.py")
    assert f"return OrderRepository(session).{method}(" in service
    if "sa." in query:
        assert "import sqlalchemy as sa" not in service  # nothing else used it


def test_async_query_becomes_an_async_method(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession

        from shop.models import Order


        async def paid_orders(session: AsyncSession, customer_id: int) -> list[Order]:
            result = await session.scalars(select(Order).where(Order.customer_id == customer_id, Order.paid.is_(True)))
            return list(result)
        """,
    )
    apply_fix(expect_fix(move(root, "session.scalars")))
    repository = read(root, "shop/repositories/orders.py")
    assert "def __init__(self, session: AsyncSession) -> None:" in repository
    assert "    async def list_paid_by_customer(self, customer_id: int)" in repository
    assert "return await self.session.scalars(" in repository
    assert "result = await OrderRepository(session).list_paid_by_customer(customer_id)" in read(root, "shop/services/orders.py")


def test_repository_module_of_functions_gets_a_function(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from shop.models import Order


        def by_reference(session: Session, reference: str) -> Order | None:
            return session.scalar(select(Order).where(Order.reference == reference))
        """,
        shop__repositories__orders="""\
        from sqlalchemy.orm import Session

        from shop.models import Order


        def get(session: Session, order_id: int) -> Order | None:
            return session.get(Order, order_id)
        """,
    )
    apply_fix(expect_fix(move(root, "session.scalar")))
    repository = read(root, "shop/repositories/orders.py")
    assert "def get_by_reference(session: Session, reference: str) -> Order | None:" in repository
    assert "class " not in repository
    service = read(root, "shop/services/orders.py")
    assert "from shop.repositories import orders as orders_repository" in service
    assert "return orders_repository.get_by_reference(session, reference)" in service


def test_a_chosen_name_and_plain_attribute_arguments(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from shop.models import Order


        def for_payload(session: Session, payload) -> Order | None:
            return session.scalar(select(Order).where(Order.reference == payload.reference))
        """,
    )
    apply_fix(expect_fix(move(root, "session.scalar", name="find_for_checkout")))
    repository = read(root, "shop/repositories/orders.py")
    assert "def find_for_checkout(self, reference: str) -> Order | None:" in repository
    assert "Order.reference == reference" in repository
    assert "OrderRepository(session).find_for_checkout(payload.reference)" in read(root, "shop/services/orders.py")


def test_existing_method_with_another_body_refuses(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from shop.models import Order


        def by_reference(session: Session, reference: str) -> Order | None:
            return session.scalar(select(Order).where(Order.reference == reference))
        """,
        shop__repositories__orders="""\
        from sqlalchemy.orm import Session

        from shop.models import Order


        class OrderRepository:
            def __init__(self, session: Session) -> None:
                self.session = session

            def get_by_reference(self, reference: str) -> Order | None:
                return None
        """,
    )
    assert "with a different body; pick another name" in expect_refusal(move(root, "session.scalar"))
    assert expect_fix(move(root, "session.scalar", name="get_by_reference_exactly"))


@pytest.mark.parametrize(
    ("body", "needle", "reason"),
    [
        ("    session.add(Order(reference=reference))\n", "session.add", "no database query here"),
        ("    return reference.upper()\n", "upper", "no database query here"),
        ("    return session.scalar(select(Order).where(Order.reference == PREFIX + reference))\n", "session.scalar", "defined in this module"),
        ("    return session.execute(text('select 1')).all()\n", "session.execute", "cannot tell which model"),
        ("    return session.get(Order, 1) or session.get_or_404\n", "reference.upper", "no database query here"),
    ],
    ids=["write", "not-a-query", "module-constant", "raw-sql", "not-on-a-query"],
)
def test_refusals(tmp_path: Path, body: str, needle: str, reason: str) -> None:
    source = (
        "from sqlalchemy import select, text\nfrom sqlalchemy.orm import Session\n\nfrom shop.models import Order\n\nPREFIX = 'o-'\n\n\n"
        "def work(session: Session, reference: str):\n" + body
    )
    root = project(tmp_path, source)
    if needle not in source:
        needle = "def work"
    assert reason in expect_refusal(move(root, needle))
    assert not (root / "shop/repositories").exists()


def test_cursor_outside_any_function_and_model_detection(tmp_path: Path) -> None:
    root = project(tmp_path, "from shop.models import Order\n\nQUERY = Order\n")
    checked = check_query(view(root), "shop/services/orders.py", (3, 0))
    assert getattr(checked, "reason", "") == "there is no query inside a function here"
    project_view = view(root)
    assert model_at(project_view, "shop/models.py", position(root, "shop/models.py", "paid:")[0]) == "Order"
    assert model_at(project_view, "shop/models.py", 1) is None


def test_standard_methods_are_async_in_an_asyncio_project(tmp_path: Path) -> None:
    from stackguard.refactor.repository_method import add_standard_method, missing_standard_methods

    root = project(
        tmp_path,
        """\
        from sqlalchemy.ext.asyncio import AsyncSession

        from shop.models import Order


        async def pay(session: AsyncSession, order: Order) -> None:
            order.paid = True
            await session.commit()
        """,
    )
    names = [m.name for m in missing_standard_methods(view(root), "Order")]  # type: ignore[union-attr]
    assert names == ["get", "list", "get_by_reference", "create", "update", "delete"]
    for name in names:
        apply_fix(expect_fix(add_standard_method(view(root), "Order", name)))
    repository = read(root, "shop/repositories/orders.py")
    assert "def __init__(self, session: AsyncSession) -> None:" in repository
    assert "    async def get(self, order_id: int) -> Order | None:\n        return await self.session.get(Order, order_id)" in repository
    assert "return (await self.session.scalars(select(Order).order_by(Order.id).limit(limit).offset(offset))).all()" in repository
    assert "return await self.session.scalar(select(Order).where(Order.reference == reference))" in repository
    assert "    async def create(self, *, customer_id: int, reference: str, paid: bool = False) -> Order:" in repository
    assert "await self.session.flush()" in repository and "await self.session.delete(order)" in repository
    compile(repository, "orders.py", "exec")
