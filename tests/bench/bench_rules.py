"""Cost of each rule as a multiple of ``ast.parse`` of the same files,
measured in the same run (CPU time, one process).

Run: ``python tests/bench/bench_rules.py [--files 200]``

Uses bench_check's synthetic workspace (routers, services, repositories,
models). Each line is the engine with that one rule (walk included), so the
walk's share is the smallest line; "all rules" is the engine as the editor
and ``check`` run it. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import generate_workspace  # noqa: E402

from stackguard.analysis.engine import Engine  # noqa: E402
from stackguard.analysis.index import WorkspaceIndex  # noqa: E402
from stackguard.analysis.source import parse_source  # noqa: E402
from stackguard.config import Settings  # noqa: E402
from stackguard.rules import all_rules  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = [p for p in generate_workspace(root, files=args.files) if p.suffix == ".py"]
        relatives = [p.relative_to(root).as_posix() for p in paths]
        texts = [p.read_text() for p in paths]
        started = time.process_time()
        for text in texts:
            ast.parse(text)
        parse = time.process_time() - started
        sources = [parse_source(str(p), r, t) for p, r, t in zip(paths, relatives, texts)]
        index = WorkspaceIndex.build(root, relatives, processes=1)
        layers = {r: index.layer_of(r) or "other" for r in relatives}

        def cost(rules) -> float:
            engine = Engine(Settings(), rules)
            begin = time.process_time()
            for source in sources:
                engine.check(source, layers[source.relative], index=index)
            return (time.process_time() - begin) / parse

        print(f"{len(sources)} files, {sum(t.count(chr(10)) for t in texts)} lines; ast.parse {parse * 1000:.0f} ms CPU")
        print(f"all rules: {cost(None):.2f}x ast.parse")
        for rule in all_rules():
            print(f"  {rule.code} {rule.name:<36} {cost([rule]):.2f}x")


if __name__ == "__main__":
    main()
