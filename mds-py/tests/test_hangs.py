"""The two hangs of the past: a shuffled epoch under a small cache_limit, and DataLoader
workers over a remote. Each check runs in a child process that dumps every thread's stack
and exits if it stalls, so a regression fails here instead of hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mds

SCRIPTS = Path(__file__).parent / "scripts"
CASES = [
    f"{layout}:{cache}:{comp}:{order}"
    for layout in ("tiny", "big")
    for cache in ("nolimit", "tight")
    for comp in ("raw", "zstd")
    for order in ("seq", "shuffle")
]


def _run(args: list[str], timeout: int = 240) -> str:
    env = dict(os.environ, MDS_HANG_TIMEOUT=str(timeout - 20), PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_dataloader_workers_over_a_remote_finish(tmp_path: Path, workers: int) -> None:
    out = _run([str(SCRIPTS / "hang_check.py"), str(tmp_path), str(workers), *CASES])
    assert out.split("\n").count("") <= 1
    assert [line.split()[1] for line in out.splitlines()] == CASES


_SHUFFLE_UNDER_LIMIT = """
import faulthandler, sys
faulthandler.dump_traceback_later(float(sys.argv[2]), exit=True)
import mds
root = sys.argv[1]
with mds.MDSWriter(out=f"{root}/src", columns={"id": "int", "blob": "bytes"}, size_limit=100_000) as w:
    for i in range(2000):
        w.write({"id": i, "blob": b"x" * 1000})
for limit in ("1mb", "512kb"):
    for algo in ("py1e", "py1s", "py2s", "py1b", "py1br", "naive"):
        ds = mds.StreamingDataset(remote=f"{root}/src", local=f"{root}/cache-{limit}-{algo}",
                                  cache_limit=limit, batch_size=1, shuffle=True, shuffle_algo=algo)
        ids = [s["id"] for s in ds]
        # py1s/py2s default to 64 canonical nodes, whose padding repeats a few samples
        assert sorted(set(ids)) == list(range(2000)), (limit, algo, len(ids))
        print("ok", limit, algo, flush=True)
"""


def test_shuffled_epoch_under_a_small_cache_limit_finishes(tmp_path: Path) -> None:
    script = tmp_path / "shuffle_under_limit.py"
    script.write_text(_SHUFFLE_UNDER_LIMIT)
    out = _run([str(script), str(tmp_path), "200"])
    assert out.count("ok ") == 12


def test_a_shard_deleted_from_local_mid_epoch_is_fetched_again(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    with mds.MDSWriter(out=str(remote), columns={"id": "int"}, size_limit=200) as w:
        for i in range(300):
            w.write({"id": i})
    local = tmp_path / "local"
    ds = mds.StreamingDataset(remote=str(remote), local=str(local), batch_size=1)
    seen = []
    for s in ds:
        seen.append(s["id"])
        if len(seen) % 25 == 10:  # while shards are open, pinned, or being prefetched
            for p in local.glob("shard.*.mds"):
                p.unlink(missing_ok=True)
    assert seen == list(range(300))
    # a fresh epoch finds every shard again
    assert [s["id"] for s in mds.StreamingDataset(remote=str(remote), local=str(local), batch_size=1)] == list(range(300))
