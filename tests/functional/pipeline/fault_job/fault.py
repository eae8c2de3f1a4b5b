"""A Seed entrypoint that misbehaves as its input's name says (for the pipeline fault tests)."""

import shutil
import sys
import time
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
kind = source.name.split("_", 1)[0]
started = time.time()
if kind == "slow":
    time.sleep(0.4)
    (out / (source.stem + ".out")).write_text(f"{started} {time.time()}")
    sys.exit(0)
if kind == "hang":
    time.sleep(60)
elif kind.startswith("exit"):
    sys.exit(int(kind[4:]))
target = out / (source.stem + ".out")
target.write_bytes(source.read_bytes())
if kind == "badsidecar":
    Path(f"{target}.metadata.json").write_text('{"type": "Feature", "geometry": 42')
if kind.startswith("huge"):  # the input is the sidecar to leave (made by the test)
    shutil.copyfile(source, f"{target}.metadata.json")
sys.exit(0)
