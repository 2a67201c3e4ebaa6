"""A real DataLoader with 2 workers over a dataset on the S3 emulator (moto on 127.0.0.1).

Needs the environment of ``scripts/emulators/start.sh`` (``MDS_TEST_S3_ENDPOINT``,
``S3_ENDPOINT_URL``, ``AWS_*``); without it the test skips, or fails under
``MDS_TEST_REQUIRE_BACKENDS=1``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader

import mds
from conftest import require_backend


def test_dataloader_two_workers_over_s3(tmp_path: Path) -> None:
    endpoint = require_backend("MDS_TEST_S3_ENDPOINT")
    os.environ.setdefault("S3_ENDPOINT_URL", endpoint)
    bucket = os.environ.get("MDS_TEST_BUCKET", "mds-test")
    remote = f"s3://{bucket}/mds-py/{uuid.uuid4().hex}"
    columns = {"id": "int", "tok": "ndarray:int32:16", "text": "str"}
    with mds.MDSWriter(out=remote, columns=columns, compression="zstd", hashes=["sha1"], size_limit="8kb") as w:
        for i in range(500):
            w.write({"id": i, "tok": np.full(16, i, dtype=np.int32), "text": f"sample {i}"})
    ds = mds.StreamingDataset(
        remote=remote, local=str(tmp_path / "cache"), batch_size=25, shuffle=True, validate_hash="sha1"
    )
    assert ds.size == 500
    loader = DataLoader(ds, batch_size=25, num_workers=2)
    ids = [int(x) for batch in loader for x in batch["id"]]
    assert sorted(ids) == list(range(500))
    assert ds[7]["text"] == "sample 7"


def test_four_workers_shuffled_under_a_tight_cache_over_s3(tmp_path: Path) -> None:
    # cache_limit just above the accepted minimum (4x the largest shard): every worker's
    # prefetch must take only the room the cache can spare, and no worker may wait for room
    # held by a worker nobody is consuming. The child dumps its stacks if it stalls.
    import json
    import subprocess
    import sys

    endpoint = require_backend("MDS_TEST_S3_ENDPOINT")
    script = f"""
import faulthandler, json, os, sys
faulthandler.dump_traceback_later(150, exit=True)
os.environ.setdefault("S3_ENDPOINT_URL", {endpoint!r})
from torch.utils.data import DataLoader
import mds
remote = "s3://{os.environ.get('MDS_TEST_BUCKET', 'mds-test')}/mds-py/{uuid.uuid4().hex}"
staged = {str(tmp_path / 'staged')!r}
with mds.MDSWriter(out=(staged, remote), columns={{"id": "int", "blob": "bytes"}}, size_limit=20_000, keep_local=True) as w:
    for i in range(1000):
        w.write({{"id": i, "blob": bytes(500)}})
shards = json.load(open(os.path.join(staged, "index.json")))["shards"]
largest = max(s["raw_data"]["bytes"] for s in shards)
local = {str(tmp_path / 'cache')!r}
ds = mds.StreamingDataset(remote=remote, local=local, batch_size=4, shuffle=True, cache_limit=4 * largest)
ids = [int(x) for b in DataLoader(ds, batch_size=4, num_workers=4) for x in b["id"]]
assert sorted(ids) == list(range(1000)), len(ids)
held = sum(os.path.getsize(os.path.join(local, f)) for f in os.listdir(local) if f.startswith("shard."))
assert held <= 5 * largest, (held, largest)
print("ok", len(shards), "shards", held, "bytes held", flush=True)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.startswith("ok ")
    json.dumps(proc.stdout)  # keep the import used


def test_endpoint_from_aws_env_names_and_profile(tmp_path: Path) -> None:
    # AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and a profile's endpoint_url reach the emulator
    # too (plain http allowed), not only the reference's S3_ENDPOINT_URL.
    import subprocess
    import sys

    endpoint = require_backend("MDS_TEST_S3_ENDPOINT")
    os.environ.setdefault("S3_ENDPOINT_URL", endpoint)
    remote = f"s3://{os.environ.get('MDS_TEST_BUCKET', 'mds-test')}/mds-py/{uuid.uuid4().hex}"
    with mds.MDSWriter(out=remote, columns={"id": "int"}) as w:
        for i in range(10):
            w.write({"id": i})
    config = tmp_path / "aws-config"
    config.write_text(f"[profile emu]\nregion = us-east-1\nendpoint_url = {endpoint}\n")
    base = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")}
    read = (
        "import mds, sys; ds = mds.StreamingDataset(remote=sys.argv[1], local=sys.argv[2], batch_size=1);"
        "print(sum(s['id'] for s in ds))"
    )
    for i, extra in enumerate(
        [
            {"AWS_ENDPOINT_URL_S3": endpoint},
            {"AWS_ENDPOINT_URL": endpoint},
            {"AWS_PROFILE": "emu", "AWS_CONFIG_FILE": str(config)},
        ]
    ):
        proc = subprocess.run(
            [sys.executable, "-c", read, remote, str(tmp_path / f"cache{i}")],
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (proc.returncode, proc.stdout.strip()) == (0, "45"), f"{extra}: {proc.stderr}"


def test_local_none_is_the_references_default_directory() -> None:
    import hashlib
    import shutil
    import tempfile

    endpoint = require_backend("MDS_TEST_S3_ENDPOINT")
    os.environ.setdefault("S3_ENDPOINT_URL", endpoint)
    remote = f"s3://{os.environ.get('MDS_TEST_BUCKET', 'mds-test')}/mds-py/{uuid.uuid4().hex}"
    with mds.MDSWriter(out=remote, columns={"id": "int"}) as w:
        for i in range(20):
            w.write({"id": i})
    expected = Path(tempfile.gettempdir()) / hashlib.blake2s(remote.encode(), digest_size=16).hexdigest()
    try:
        ds = mds.StreamingDataset(remote=remote, batch_size=1)
        assert sorted(s["id"] for s in ds) == list(range(20))
        assert (expected / "index.json").is_file()
    finally:
        shutil.rmtree(expected, ignore_errors=True)
