"""Stress loop of the multi-worker DataLoader checks (not part of CI): runs
tests/scripts/hang_check.py RUNS times for 2, 4 and 8 workers and reports any run that failed
or stalled (the script dumps its stacks and exits after MDS_HANG_TIMEOUT seconds).

Usage: python mds-py/bench/stress_dataloader.py [RUNS] [CASE ...]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "tests" / "scripts" / "hang_check.py"
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
cases = sys.argv[2:] or ["tiny:nolimit:raw:seq", "tiny:tight:raw:shuffle"]
failures = 0
started = time.time()
with tempfile.TemporaryDirectory() as work:
    for run in range(runs):
        for workers in (2, 4, 8):
            t = time.time()
            proc = subprocess.run(
                [sys.executable, str(SCRIPT), os.path.join(work, f"r{run}w{workers}"), str(workers), *cases],
                capture_output=True,
                text=True,
                env=dict(os.environ, MDS_HANG_TIMEOUT="60"),
            )
            if proc.returncode != 0:
                failures += 1
                print(f"run {run} workers {workers}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}", flush=True)
            else:
                print(f"run {run} workers {workers}: ok in {time.time() - t:.1f} s", flush=True)
print(f"{runs * 3} loops of {len(cases)} cases, {failures} failed or stalled, {time.time() - started:.0f} s")
sys.exit(1 if failures else 0)
