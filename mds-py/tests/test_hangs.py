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


_MAIN_WITH_WORKERS = """
import os, sys
from torch.utils.data import DataLoader
import mds
remote, local, pids = sys.argv[1:4]
ds = mds.StreamingDataset(remote=remote, local=local, batch_size=1, download_timeout=600, download_retry=1)
def init(i):
    with open(os.path.join(pids, f"w{i}"), "w") as f:
        f.write(str(os.getpid()))
for _ in DataLoader(ds, batch_size=1, num_workers=2, worker_init_fn=init):
    pass
"""


def test_workers_of_a_killed_main_process_exit(tmp_path: Path) -> None:
    # Shard downloads that never answer keep both workers waiting for samples; once the
    # main process is killed (-9, so nothing of it runs), they must exit within seconds.
    import http.server
    import signal
    import threading
    import time

    src = tmp_path / "src"
    with mds.MDSWriter(out=str(src), columns={"id": "int"}, size_limit=200) as w:
        for i in range(100):
            w.write({"id": i})
    asked = threading.Event()
    release = threading.Event()

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            name = self.path.rsplit("/", 1)[-1]
            if name != "index.json":
                asked.set()
                release.wait(60)
                return
            data = (src / "index.json").read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    script = tmp_path / "main.py"
    script.write_text(_MAIN_WITH_WORKERS)
    url = f"http://127.0.0.1:{server.server_address[1]}/ds"
    main = subprocess.Popen([sys.executable, str(script), url, str(tmp_path / "cache"), str(pids_dir)])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (asked.is_set() and len(list(pids_dir.iterdir())) == 2):
            time.sleep(0.1)
        assert asked.is_set() and len(list(pids_dir.iterdir())) == 2, "the workers never started"
        workers = [int(p.read_text()) for p in pids_dir.iterdir()]
        time.sleep(0.5)  # both are waiting for a shard now
        main.send_signal(signal.SIGKILL)
        main.wait(10)

        def alive(pid: int) -> bool:
            try:
                with open(f"/proc/{pid}/status") as f:
                    return "\nState:\tZ" not in f.read()
            except FileNotFoundError:
                return False

        deadline = time.time() + 20
        while time.time() < deadline and any(alive(p) for p in workers):
            time.sleep(0.2)
        left = [p for p in workers if alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        assert not left, f"workers {left} outlived their main process by 20 s"
    finally:
        release.set()
        if main.poll() is None:
            main.kill()
        server.shutdown()
