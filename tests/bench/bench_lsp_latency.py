"""Edit latency through the real server: from ``didChange`` to the matching
``publishDiagnostics`` (same document version) on a 2,000-line file.

Run: ``python tests/bench/bench_lsp_latency.py [--edits 60] [--lines 2000]``

The debounce is set to 0 ms through initializationOptions, so the numbers
are analysis + transport, the part the server controls. The baseline is
``ast.parse`` of the same text in this process, measured in the same run, so
the ratio means the same thing on a fast and a slow machine. Prints p50/p95
in ms and as multiples of the baseline. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

MODELS = '''\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    total: Mapped[int]
    customer: Mapped[Customer] = relationship(back_populates="orders")
'''

HEADER = '''\
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Customer, Order


'''

BLOCK = '''\
class CustomerRepository{n}:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def by_email(self, email: str) -> Customer | None:
        stmt = select(Customer).where(Customer.email == email)
        return self.session.scalars(stmt).first()

    def totals(self) -> dict[str, int]:
        customers = self.session.scalars(select(Customer)).all()
        return {{c.email: sum(o.total for o in c.orders) for c in customers}}

    def search(self, term: str) -> list[Customer]:
        rows = self.session.execute(text(f"SELECT id FROM customers WHERE email LIKE '%{{term}}%'"))
        return [self.session.get(Customer, row.id) for row in rows]

    def add(self, customer: Customer) -> Customer:
        self.session.add(customer)
        self.session.flush()
        return customer


'''


def make_workspace(folder: Path, lines: int) -> Path:
    (folder / "app" / "repositories").mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "bench"\ndependencies = ["sqlalchemy>=2"]\n')
    (folder / "app" / "__init__.py").write_text("")
    (folder / "app" / "repositories" / "__init__.py").write_text("")
    (folder / "app" / "models.py").write_text(MODELS)
    body = HEADER
    n = 0
    while body.count("\n") < lines:
        body += BLOCK.format(n=n)
        n += 1
    target = folder / "app" / "repositories" / "customers.py"
    target.write_text(body)
    return target


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def measure(edits: int, lines: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = make_workspace(folder, lines)
        text = target.read_text()
        line_count = text.count("\n")

        # Baseline: ast.parse of the same text, in this process, this run.
        parse_times = []
        for _ in range(max(10, edits // 2)):
            started = time.perf_counter()
            ast.parse(text)
            parse_times.append(time.perf_counter() - started)
        parse_ms = statistics.median(parse_times) * 1000

        client = LanguageClient("bench", "1")
        published: dict[int, float] = {}
        waiters: dict[int, asyncio.Future[None]] = {}

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_publish(params: types.PublishDiagnosticsParams) -> None:
            if params.version is not None and params.version not in published:
                published[params.version] = time.perf_counter()
                future = waiters.get(params.version)
                if future is not None and not future.done():
                    future.set_result(None)

        await client.start_io(sys.executable, "-m", "stackguard", "serve")
        uri = from_fs_path(str(target))
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    text_document=types.TextDocumentClientCapabilities(
                        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True)
                    )
                ),
                workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(folder)), name="bench")],
                initialization_options={"diagnostics": {"debounceMs": 0}},
            )
        )
        client.initialized(types.InitializedParams())
        loop = asyncio.get_running_loop()
        waiters[1] = loop.create_future()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        )
        await asyncio.wait_for(waiters[1], 60)
        await asyncio.sleep(2.0)  # let the cold index finish and its re-check land

        latencies = []
        lines_of = text.splitlines()
        # Type at the end of `return customer` lines in the middle of the file
        # (a trailing comment grows), so every version parses.
        targets = [i for i, line in enumerate(lines_of) if line.strip() == "return customer"]
        targets = targets[len(targets) // 4 :] or targets
        typed: dict[int, int] = {}
        for index in range(edits):
            version = index + 2
            line_no = targets[index % len(targets)]
            grown = typed.get(line_no, 0)
            insert = "  # " if grown == 0 else "x"
            position = types.Position(line=line_no, character=len(lines_of[line_no]) + grown)
            typed[line_no] = grown + len(insert)
            waiters[version] = loop.create_future()
            sent = time.perf_counter()
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[
                        types.TextDocumentContentChangePartial(range=types.Range(position, position), text=insert)
                    ],
                )
            )
            await asyncio.wait_for(waiters[version], 30)
            latencies.append((published[version] - sent) * 1000)
            await asyncio.sleep(0.02)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()

    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"file: {line_count} lines; edits measured: {len(latencies)} (debounce 0 ms)")
    print(f"baseline ast.parse of the same text: {parse_ms:.1f} ms")
    print(f"didChange -> publishDiagnostics p50: {p50:.1f} ms ({p50 / parse_ms:.1f}x ast.parse)")
    print(f"didChange -> publishDiagnostics p95: {p95:.1f} ms ({p95 / parse_ms:.1f}x ast.parse)")
    print("target: p95 <= 50 ms excluding the debounce")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(measure(args.edits, args.lines))


if __name__ == "__main__":
    main()
