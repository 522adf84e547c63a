"""Edit latency through the real server: from ``didChange`` to the matching
``publishDiagnostics`` (same document version) on a 2,000-line file.

Run: ``python tests/bench/bench_lsp_latency.py [--edits 60] [--lines 2000]``

Three kinds of edits inside method bodies (a trailing comment growing, an
identifier growing, Enter on a new line: the lines below all move), which
the server analyses incrementally (``analysis/incremental.py``), and edits in
a ``def`` line, which change the module's outline and take the slow path
(parse and check the whole file); each kind is reported on its own.

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

        lines_of = text.splitlines()
        # Edits in the middle half of the file, each a version that parses:
        #   comment    - a trailing comment grows at the end of `return customer`
        #   identifier - `customer` in that line grows a character
        #   newline    - Enter: an empty line inside the method (every line
        #                below moves down)
        #   signature  - a character typed in a `def` line's return annotation
        #                (the module's outline changes: the slow path)
        returns = [i for i, line in enumerate(lines_of) if line.strip() == "return customer"]
        returns = returns[len(returns) // 4 : 3 * len(returns) // 4] or returns
        kinds = ["comment", "identifier", "newline"]
        plan = [kinds[i % 3] for i in range(edits)] + ["signature"] * max(1, edits // 6)
        latencies: dict[str, list[float]] = {kind: [] for kind in [*kinds, "signature"]}
        version = 1
        for index, kind in enumerate(plan):
            version += 1
            line_no = returns[(index * 7) % len(returns)]
            line = lines_of[line_no]
            if kind == "comment":
                insert = "  # " if "#" not in line else "x"
                position = types.Position(line=line_no, character=len(line))
                lines_of[line_no] = line + insert
            elif kind == "identifier":
                column = line.index("customer") + len("customer")
                insert = "x"
                position = types.Position(line=line_no, character=column)
                lines_of[line_no] = line[:column] + insert + line[column:]
            elif kind == "newline":
                insert = "\n"
                position = types.Position(line=line_no, character=0)
                lines_of.insert(line_no, "")
                returns = [r + 1 if r >= line_no else r for r in returns]
            else:
                header = line_no  # up to `def add(self, customer: Customer) -> Customer:`
                while not lines_of[header].lstrip().startswith("def add"):
                    header -= 1
                column = lines_of[header].rindex("Customer") + len("Customer")
                insert = "x"
                position = types.Position(line=header, character=column)
                lines_of[header] = lines_of[header][:column] + insert + lines_of[header][column:]
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
            latencies[kind].append((published[version] - sent) * 1000)
            await asyncio.sleep(0.02)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()

    print(f"file: {line_count} lines (debounce 0 ms); baseline ast.parse of the same text: {parse_ms:.1f} ms")
    print(f"{'edit':<28} {'count':>5} {'p50 ms':>8} {'p95 ms':>8} {'p95/parse':>10}")

    def row(label: str, values: list[float]) -> None:
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(f"{label:<28} {len(values):>5} {p50:>8.1f} {p95:>8.1f} {p95 / parse_ms:>9.2f}x")

    body = [value for kind in ("comment", "identifier", "newline") for value in latencies[kind]]
    for kind in ("comment", "identifier", "newline"):
        row(f"  {kind}", latencies[kind])
    row("typing in function bodies", body)
    row("signature (slow path)", latencies["signature"])
    print("target: p95 <= 50 ms excluding the debounce")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=60)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(measure(args.edits, args.lines))


if __name__ == "__main__":
    main()
