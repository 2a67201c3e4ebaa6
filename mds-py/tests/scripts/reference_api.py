"""A training-data script in the style of mosaicml-streaming's documentation.

The only line that differs from a script for the Python library is the import.
Usage: python reference_api.py WORKDIR
"""

import os
import sys

import numpy as np
from PIL import Image
from torch.utils.data import DataLoader

import mds as streaming

work = sys.argv[1]

# 1. Convert: write two small datasets with MDSWriter.
columns = {"image": "jpeg", "label": "int", "tokens": "ndarray:int64:8"}
for part in ("a", "b"):
    out = os.path.join(work, "remote", part)
    with streaming.MDSWriter(out=out, columns=columns, compression="zstd", hashes=["sha1"], size_limit="64kb") as w:
        for i in range(64):
            img = Image.fromarray(np.full((8, 8, 3), i, dtype=np.uint8))
            w.write({"image": img, "label": i if part == "a" else 1000 + i, "tokens": np.arange(8) + i})

# 2. Stream: one remote, shuffled, through a DataLoader; a subclass turns images into arrays.
class ImageDataset(streaming.StreamingDataset):
    def __getitem__(self, idx):
        obj = super().__getitem__(idx)
        return {"x": np.asarray(obj["image"]), "label": obj["label"], "tokens": obj["tokens"]}


streaming.base.util.clean_stale_shared_memory()
dataset = ImageDataset(
    remote=os.path.join(work, "remote", "a"),
    local=os.path.join(work, "cache", "a"),
    shuffle=True,
    batch_size=16,
    validate_hash="sha1",
)
loader = DataLoader(dataset, batch_size=16, num_workers=2)
labels = sorted(int(x) for batch in loader for x in batch["label"])
assert labels == list(range(64)), labels
sample = dataset[3]
assert sample["x"].shape == (8, 8, 3) and sample["tokens"].tolist() == list(range(3, 11))

# 3. Mix streams and checkpoint mid-epoch with StreamingDataLoader.
class LabelDataset(streaming.StreamingDataset):
    def __getitem__(self, idx):
        obj = super().__getitem__(idx)
        return {"label": obj["label"]}


streams = [
    streaming.Stream(remote=os.path.join(work, "remote", "a"), local=os.path.join(work, "cache", "a2"), proportion=0.5),
    streaming.Stream(remote=os.path.join(work, "remote", "b"), local=os.path.join(work, "cache", "b"), proportion=0.5),
]
mixed = LabelDataset(streams=streams, shuffle=True, batch_size=8, epoch_size=96)
loader = streaming.StreamingDataLoader(mixed, batch_size=8)
seen = []
for batch in loader:
    seen.extend(int(x) for x in batch["label"])
    if len(seen) == 40:
        break
state = loader.state_dict()
assert state["sample_in_epoch"] == 40, state
resumed = LabelDataset(streams=streams, shuffle=True, batch_size=8, epoch_size=96)
loader2 = streaming.StreamingDataLoader(resumed, batch_size=8)
loader2.load_state_dict(state)
rest = [int(x) for batch in loader2 for x in batch["label"]]
assert len(seen) + len(rest) == 96, (len(seen), len(rest))
print("OK", len(seen), len(rest))
