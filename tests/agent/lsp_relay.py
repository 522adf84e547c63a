"""Run a language server and record everything it exchanges.

``python lsp_relay.py LOG_DIR -- COMMAND...`` starts COMMAND, copies this
process's stdin to it and its stdout to this process's stdout byte for byte,
and writes both directions to ``LOG_DIR/client_to_server.bin`` and
``LOG_DIR/server_to_client.bin``, and the server's stderr to
``LOG_DIR/stderr.log`` (also forwarded to this process's stderr). The agent
tests assert on these files that the API key never crosses the wire or
reaches a log. When stdin closes the server's stdin is closed; when this
process is terminated the server is too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path


def pump(source, sinks, close_after=None) -> None:  # type: ignore[no-untyped-def]
    while True:
        chunk = source.read1(65536) if hasattr(source, "read1") else source.read(65536)
        if not chunk:
            break
        for sink in sinks:
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):
                pass
    if close_after is not None:
        try:
            close_after.close()
        except OSError:
            pass


def main() -> int:
    log_dir = Path(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1 :]
    log_dir.mkdir(parents=True, exist_ok=True)
    to_server = open(log_dir / "client_to_server.bin", "ab")
    to_client = open(log_dir / "server_to_client.bin", "ab")
    stderr_log = open(log_dir / "stderr.log", "ab")
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        child.terminate()

    signal.signal(signal.SIGTERM, stop)
    threads = [
        threading.Thread(target=pump, args=(sys.stdin.buffer, [child.stdin, to_server], child.stdin), daemon=True),
        threading.Thread(target=pump, args=(child.stdout, [sys.stdout.buffer, to_client]), daemon=True),
        threading.Thread(target=pump, args=(child.stderr, [sys.stderr.buffer, stderr_log]), daemon=True),
    ]
    for thread in threads:
        thread.start()
    code = child.wait()
    for thread in threads[1:]:
        thread.join(timeout=5)
    return code


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # The stdin pump may still be blocked in a read; leave without the
    # interpreter's shutdown waiting on its buffer lock.
    os._exit(code)
