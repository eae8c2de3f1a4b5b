"""A Seed entrypoint for batch tests: the input holds the runs directory; each run leaves
``<input name>.<pid>.start`` there, sleeps a little (``TOUCH_SLEEP_S``), and writes
``<input stem>.out`` naming the runs directory too (so a recipe's next node can touch again)."""

import os
import sys
import time
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
runs = Path(source.read_text().strip())
(runs / f"{source.name}.{os.getpid()}.start").write_text("")
time.sleep(float(os.environ.get("TOUCH_SLEEP_S", "0.05")))
(out / f"{source.stem}.out").write_text(str(runs))
