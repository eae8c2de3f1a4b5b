"""A Seed entrypoint that forks a child into its process group, sleeps, and leaves markers of
which process started and which finished in the directory its input names (crash tests)."""

import os
import subprocess
import sys
import time
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
runs = Path(source.read_text().strip())
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
(runs / f"{os.getpid()}.start").write_text(f"{os.getpid()} {child.pid}")
time.sleep(4)
child.kill()
child.wait()
(out / "slept.out").write_text("slept")
(runs / f"{os.getpid()}.done").write_text(str(os.getpid()))
