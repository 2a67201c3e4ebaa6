"""StreamingDataset inside torch DataLoaders: workers, start methods, epochs, checkpoints."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset

import mds
from mds.torch import collate


def _write(path: Path, n: int = 300) -> str:
    import numpy as np

    with mds.MDSWriter(out=str(path), columns={"id": "int", "tok": "ndarray:int32:4"}, size_limit=1 << 11) as w:
        for i in range(n):
            w.write({"id": i, "tok": np.full(4, i, dtype=np.int32)})
    return str(path)


def _ids(loader) -> list[int]:
    return [int(x) for batch in loader for x in batch["id"]]


def test_is_an_iterable_dataset(tmp_path: Path) -> None:
    ds = mds.StreamingDataset(local=_write(tmp_path / "d"), batch_size=4)
    assert isinstance(ds, IterableDataset)
    assert len(ds) == 300


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_two_workers_read_each_sample_once(tmp_path: Path, context: str) -> None:
    ds = mds.StreamingDataset(local=_write(tmp_path / "d"), batch_size=10, shuffle=True)
    loader = DataLoader(ds, batch_size=10, num_workers=2, multiprocessing_context=context, collate_fn=collate)
    ids = _ids(loader)
    assert sorted(ids) == list(range(300))


def test_persistent_workers_see_new_epochs(tmp_path: Path) -> None:
    ds = mds.StreamingDataset(local=_write(tmp_path / "d"), batch_size=10, shuffle=True)
    loader = DataLoader(ds, batch_size=10, num_workers=2, persistent_workers=True)
    first, second = _ids(loader), _ids(loader)
    assert sorted(first) == sorted(second) == list(range(300))
    assert first != second  # epoch 1 is shuffled differently
    assert ds.next_epoch == 2


def test_num_workers_zero_matches_plain_iteration(tmp_path: Path) -> None:
    path = _write(tmp_path / "d")
    ds = mds.StreamingDataset(local=path, batch_size=10, shuffle=True)
    plain = [s["id"] for s in mds.StreamingDataset(local=path, batch_size=10, shuffle=True)]
    assert _ids(DataLoader(ds, batch_size=10)) == plain


def test_collate_copies_read_only_arrays_once(tmp_path: Path) -> None:
    ds = mds.StreamingDataset(local=_write(tmp_path / "d"), batch_size=8)
    batch = next(iter(DataLoader(ds, batch_size=8, collate_fn=collate)))
    assert batch["tok"].shape == (8, 4) and batch["tok"].dtype == torch.int32
    batch["tok"] += 1  # writable: a copy, not the shard


def test_dataset_pickles_without_native_state(tmp_path: Path) -> None:
    ds = mds.StreamingDataset(local=_write(tmp_path / "d"), batch_size=8)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone.size == 300 and clone[5]["id"] == 5


_RESUME = """
import json, sys
import mds
from mds import StreamingDataLoader, StreamingDataset
ds = StreamingDataset(local=sys.argv[1], batch_size=10, shuffle=True)
loader = StreamingDataLoader(ds, batch_size=10, num_workers=2)
ds.load_state_dict(json.loads(sys.argv[2]))
ids = [int(x) for b in loader for x in b["id"]]
print(json.dumps(ids))
"""


def test_state_dict_resumes_in_a_new_process(tmp_path: Path) -> None:
    path = _write(tmp_path / "d")
    full = _ids(StreamingDataLoader_(path))
    ds = mds.StreamingDataset(local=path, batch_size=10, shuffle=True)
    loader = mds.StreamingDataLoader(ds, batch_size=10, num_workers=2)
    seen: list[int] = []
    for batch in loader:
        seen.extend(int(x) for x in batch["id"])
        if len(seen) == 120:
            break
    state = loader.state_dict()
    assert state["epoch"] == 0 and state["sample_in_epoch"] == 120
    assert set(state) == {"epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed", "initial_physical_nodes"}
    out = subprocess.run(
        [sys.executable, "-c", _RESUME, path, json.dumps(state)],
        check=True, capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    rest = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(seen + rest) == list(range(300))
    assert seen + rest == full or sorted(seen + rest) == sorted(full)


def StreamingDataLoader_(path: str) -> mds.StreamingDataLoader:  # noqa: N802
    ds = mds.StreamingDataset(local=path, batch_size=10, shuffle=True)
    return mds.StreamingDataLoader(ds, batch_size=10, num_workers=2)


_DEFAULT_COLLATE = """
import sys, warnings
import numpy as np
warnings.simplefilter("error")  # torch's 'not writable' warning would fail here
from torch.utils.data import DataLoader
import mds
path = sys.argv[1]
with mds.MDSWriter(out=path, columns={"id": "int", "tok": "ndarray:int32:4", "dyn": "ndarray:uint8"}, size_limit=1 << 11) as w:
    for i in range(64):
        w.write({"id": i, "tok": np.full(4, i, dtype=np.int32), "dyn": np.arange(i % 5 + 1, dtype=np.uint8)})
ds = mds.StreamingDataset(local=path, batch_size=1, shuffle=True)
n = 0
for batch in DataLoader(ds, batch_size=1):
    batch["tok"] += 1
    n += 1
assert n == 64
a = ds[5]["tok"]
a[:] = -1  # writable, and a write does not reach the shard or the next read
assert ds[5]["tok"].tolist() == [5, 5, 5, 5]
print("quiet")
"""


def test_default_collate_is_quiet_and_arrays_are_writable(tmp_path: Path) -> None:
    script = tmp_path / "collate.py"
    script.write_text(_DEFAULT_COLLATE)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "d")], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout.strip()) == (0, "quiet"), out.stderr
