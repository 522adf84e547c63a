"""Command line: ``stackguard serve | stack`` (more subcommands plug in the
same way).

Each subcommand is one ``add_<name>_parser(subparsers)`` function that builds
its parser and sets ``handler`` (``args -> exit code``); adding a subcommand
means writing such a function and listing it in ``SUBCOMMANDS``. Heavy
imports (pygls for ``serve``) happen inside handlers so ``stackguard stack``
and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from stackguard import __version__
from stackguard.check import add_check_parser
from stackguard.rules_cli import add_rules_parser
from stackguard.verify.cli import add_verify_parser

EXIT_OK = 0
EXIT_USAGE = 2

SubcommandAdder = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


# -- serve -------------------------------------------------------------------
def _tcp_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def add_serve_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the language server (stdio unless --tcp)",
        description="Run the stackguard language server. Editors start it over stdio.",
    )
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", type=_tcp_address, help="listen on a TCP socket instead")
    parser.add_argument(
        "--log-level",
        choices=["error", "warning", "info", "debug"],
        default="info",
        help="level of the log written to stderr (default: info)",
    )
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # stdout carries the protocol; every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.log_level != "debug":
        # pygls logs every message it sends at INFO; that is trace, not log.
        logging.getLogger("pygls").setLevel(logging.WARNING)
    from stackguard.lsp.server import create_server

    # Every keystroke parses a whole file (~100k AST objects): with the
    # default threshold of 700 allocations the cyclic GC runs hundreds of
    # times per analysis and now and then walks the whole heap, which was
    # the p95 of edit latency. Long-lived state is frozen after indexing.
    gc.set_threshold(50_000, 50, 100)
    server = create_server()
    if args.tcp:
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    return EXIT_OK


# -- stack -------------------------------------------------------------------
def add_stack_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stack",
        help="show the detected stack of a folder and why",
        description="Detect the stack of every project root in PATH and print each fact with its evidence.",
    )
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="workspace folder (default: .)")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default: text)")
    parser.set_defaults(handler=run_stack)


def _display_path(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def run_stack(args: argparse.Namespace) -> int:
    from stackguard.profile_report import render_text, root_entry, unique_problems
    from stackguard.stack import detect_workspace

    folder = Path(args.path)
    if not folder.is_dir():
        reason = "does not exist" if not folder.exists() else "is not a directory"
        print(f"stackguard stack: {args.path}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    folder = folder.resolve()
    profiles = detect_workspace(folder)
    if args.format == "json":
        payload = {"folder": str(folder), "roots": [root_entry(profile, profile.root) for profile in profiles]}
        print(json.dumps(payload, indent=2, sort_keys=False))
    else:
        sys.stdout.write(render_text(profiles))
    # Problems in the project's files are findings, not a failed command.
    for problem in unique_problems(profiles):
        print(
            f"{_display_path(problem.path)}:{max(problem.line, 1)}:{max(problem.column, 1)}: {problem.message}",
            file=sys.stderr,
        )
    return EXIT_OK


# -- parser ------------------------------------------------------------------
SUBCOMMANDS: list[SubcommandAdder] = [
    add_serve_parser,
    add_stack_parser,
    add_verify_parser,
    add_check_parser,  # stackguard.check
    add_rules_parser,  # stackguard.rules_cli
]


def build_parser(subcommands: Sequence[SubcommandAdder] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stackguard",
        description="Guardrails for backend code: a language server and its command line.",
    )
    parser.add_argument("--version", action="version", version=f"stackguard {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in subcommands if subcommands is not None else SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `stackguard stack | head`
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
