"""Edit latency through the real server: from ``didChange`` to the matching
``publishDiagnostics`` (same document version) on a 2,000-line file.

Run: ``python tests/bench/bench_lsp_latency.py [--edits 80] [--lines 2000]``

Four kinds of edits in functions (a trailing comment growing, an identifier
growing, Enter on a new line so the lines below all move, a character typed
into a signature), which the server analyses incrementally
(``analysis/incremental.py``), and edits of module-level code (an import
line), which change the context every statement is judged in and take the
slow path (parse and check the whole file); each kind is reported on its
own.

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
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


class RawClient:
    """A minimal LSP client: JSON-RPC over the server's stdio, ``json`` only.

    The time a pygls client spends turning a hundred diagnostics into
    lsprotocol objects (cattrs, in this process, on the same two CPUs) is
    not the server's latency, and an editor parses JSON natively; so the
    benchmark reads the raw messages and notes when the publish for a
    version arrives."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.published: dict[int, float] = {}
        self.waiters: dict[int, asyncio.Future[None]] = {}
        self._pending: dict[int, asyncio.Future[object]] = {}
        self._next_id = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self, *command: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        self._reader = asyncio.create_task(self._read())

    def _send(self, message: dict[str, object]) -> None:
        assert self.process is not None and self.process.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: object) -> None:
        self._send({"method": method, "params": params})

    async def request(self, method: str, params: object) -> object:
        self._next_id += 1
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        self._send({"id": self._next_id, "method": method, "params": params})
        return await asyncio.wait_for(future, 60)

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        stream = self.process.stdout
        while True:
            length = 0
            while True:
                header = await stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(await stream.readexactly(length))
            if "method" in message and "id" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            elif "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message.get("result"))
            elif message.get("method") == "textDocument/publishDiagnostics":
                version = message["params"].get("version")
                if version is not None and version not in self.published:
                    self.published[version] = time.perf_counter()
                    waiter = self.waiters.get(version)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)

    async def stop(self) -> None:
        assert self.process is not None
        await self.request("shutdown", None)
        self.notify("exit", None)
        await asyncio.wait_for(self.process.wait(), 10)
        if self._reader is not None:
            self._reader.cancel()


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

        client = RawClient()
        published, waiters = client.published, client.waiters
        await client.start(sys.executable, "-m", "stackguard", "serve")
        uri = from_fs_path(str(target))
        await client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": None,
                "capabilities": {"textDocument": {"publishDiagnostics": {"versionSupport": True}}},
                "workspaceFolders": [{"uri": from_fs_path(str(folder)), "name": "bench"}],
                "initializationOptions": {"diagnostics": {"debounceMs": 0}},
            },
        )
        client.notify("initialized", {})
        loop = asyncio.get_running_loop()
        waiters[1] = loop.create_future()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
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
        #   module     - a trailing comment grows on the first import line
        #                (module-level code changed: the slow path, the
        #                whole file is checked again)
        returns = [i for i, line in enumerate(lines_of) if line.strip() == "return customer"]
        returns = returns[len(returns) // 4 : 3 * len(returns) // 4] or returns
        kinds = ["comment", "identifier", "newline", "signature"]
        plan = [kinds[i % 4] for i in range(edits)] + ["module"] * max(1, edits // 6)
        latencies: dict[str, list[float]] = {kind: [] for kind in [*kinds, "module"]}
        import_line = next(i for i, line in enumerate(lines_of) if line.startswith("from "))
        version = 1
        for index, kind in enumerate(plan):
            version += 1
            line_no = returns[(index * 7) % len(returns)]
            line = lines_of[line_no]
            if kind == "comment":
                insert = "  # " if "#" not in line else "x"
                position = {"line": line_no, "character": len(line)}
                lines_of[line_no] = line + insert
            elif kind == "identifier":
                column = line.index("customer") + len("customer")
                insert = "x"
                position = {"line": line_no, "character": column}
                lines_of[line_no] = line[:column] + insert + line[column:]
            elif kind == "newline":
                insert = "\n"
                position = {"line": line_no, "character": 0}
                lines_of.insert(line_no, "")
                returns = [r + 1 if r >= line_no else r for r in returns]
            elif kind == "module":
                line = lines_of[import_line]
                insert = "  # " if "#" not in line else "x"
                position = {"line": import_line, "character": len(line)}
                lines_of[import_line] = line + insert
            else:
                header = line_no  # up to `def add(self, customer: Customer) -> Customer:`
                while not lines_of[header].lstrip().startswith("def add"):
                    header -= 1
                column = lines_of[header].rindex("Customer") + len("Customer")
                insert = "x"
                position = {"line": header, "character": column}
                lines_of[header] = lines_of[header][:column] + insert + lines_of[header][column:]
            waiters[version] = loop.create_future()
            sent = time.perf_counter()
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"range": {"start": position, "end": position}, "text": insert}],
                },
            )
            await asyncio.wait_for(waiters[version], 30)
            latencies[kind].append((published[version] - sent) * 1000)
            await asyncio.sleep(0.02)
        await client.stop()

    print(f"file: {line_count} lines (debounce 0 ms); baseline ast.parse of the same text: {parse_ms:.1f} ms")
    print(f"{'edit':<28} {'count':>5} {'p50 ms':>8} {'p95 ms':>8} {'p95/parse':>10}")

    def row(label: str, values: list[float]) -> None:
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        print(f"{label:<28} {len(values):>5} {p50:>8.1f} {p95:>8.1f} {p95 / parse_ms:>9.2f}x")

    incremental = [value for kind in ("comment", "identifier", "newline", "signature") for value in latencies[kind]]
    for kind in ("comment", "identifier", "newline", "signature"):
        row(f"  {kind}", latencies[kind])
    row("functions (incremental)", incremental)
    row("module level (slow path)", latencies["module"])
    print("target: p95 <= 50 ms excluding the debounce")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=80)
    parser.add_argument("--lines", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(measure(args.edits, args.lines))


if __name__ == "__main__":
    main()
