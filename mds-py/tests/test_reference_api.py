"""A script written against mosaicml-streaming's documented API runs with `import mds as streaming`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_documented_api_script_runs_unchanged(tmp_path: Path) -> None:
    script = Path(__file__).parent / "scripts" / "reference_api.py"
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK")
