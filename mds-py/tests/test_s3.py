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
