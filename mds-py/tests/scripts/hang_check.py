"""Reads datasets through DataLoaders with several workers; each sample must come exactly once.

Usage: python hang_check.py WORKDIR WORKERS [CASE ...]
A CASE is ``layout:cache:compression:shuffle`` with layout ``tiny`` (20 shards of 100
samples) or ``big`` (two shards), cache ``nolimit`` or ``tight`` (cache_limit just above the
accepted minimum, 4x the largest shard), compression ``raw`` or ``zstd``, shuffle ``seq`` or
``shuffle``. Prints ``ok CASE`` per case. A hang dumps every thread's stack and exits 3.
"""

import faulthandler
import json
import os
import sys

faulthandler.dump_traceback_later(float(os.environ.get("MDS_HANG_TIMEOUT", "100")), exit=True)

from torch.utils.data import DataLoader  # noqa: E402

import mds  # noqa: E402

N = 2000


def write(root: str, layout: str, compression: str) -> tuple[str, int]:
    out = os.path.join(root, f"remote-{layout}-{compression}")
    if os.path.exists(os.path.join(out, "index.json")):
        with open(os.path.join(out, "index.json")) as f:
            shards = json.load(f)["shards"]
        return out, max(s["raw_data"]["bytes"] + (s["zip_data"] or {}).get("bytes", 0) for s in shards)
    # tiny: 20 shards of 100 samples; big: 2 shards (index.json stays under 4 shards' size)
    size_limit = 4000 if layout == "tiny" else 1 << 20
    blob = b"x" * (20 if layout == "tiny" else 600)
    with mds.MDSWriter(
        out=out,
        columns={"id": "int", "data": "bytes"},
        size_limit=size_limit,
        compression=None if compression == "raw" else "zstd",
    ) as w:
        for i in range(N):
            w.write({"id": i, "data": bytes([i % 256]) + blob})
    with open(os.path.join(out, "index.json")) as f:
        shards = json.load(f)["shards"]
    largest = max(s["raw_data"]["bytes"] + (s["zip_data"] or {}).get("bytes", 0) for s in shards)
    return out, largest


def run(root: str, workers: int, case: str) -> None:
    layout, cache, compression, order = case.split(":")
    remote, largest = write(root, layout, compression)
    local = os.path.join(root, f"local-{case.replace(':', '-')}-{workers}")
    ds = mds.StreamingDataset(
        remote=remote,
        local=local,
        batch_size=1,
        shuffle=order == "shuffle",
        cache_limit=4 * largest + 1 if cache == "tight" else None,
    )
    ids = [int(b["id"][0]) for b in DataLoader(ds, batch_size=1, num_workers=workers)]
    if sorted(ids) != list(range(N)):
        missing = sorted(set(range(N)) - set(ids))[:10]
        sys.exit(f"{case}: {len(ids)} samples, {len(set(ids))} distinct, missing e.g. {missing}")
    if cache == "tight":
        used = 0
        for dirpath, _, files in os.walk(local):
            if ".mds-cache" in dirpath:
                continue
            used += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files if f.startswith("shard."))
        # what the cache holds: within the limit plus one shard
        if used > 5 * largest + 1:
            sys.exit(f"{case}: cache holds {used} bytes, limit {4 * largest + 1}")
    print("ok", case, flush=True)


if __name__ == "__main__":
    work, n = sys.argv[1], int(sys.argv[2])
    for c in sys.argv[3:]:
        run(work, n, c)
