"""A process tree for the cancellation and timeout tests: starts a child
that sleeps, records both process ids in the file named by argv[1] (written
whole, then renamed, so a reader never sees half of it), then sleeps."""

import os
import subprocess
import sys
import time
from pathlib import Path

target = Path(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
partial = target.with_suffix(".partial")
partial.write_text(f"{os.getpid()} {child.pid}\n")
os.replace(partial, target)
print("process tree started", flush=True)
time.sleep(300)
