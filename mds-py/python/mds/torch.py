"""torch glue: a collate function that stacks sample arrays with one copy.

``StreamingDataset`` yields writable numpy arrays (the sample's own memory where nothing else
references it, else one copy), so torch's default collate works quietly. ``LocalDataset``
yields read-only views of the shard bytes; :func:`collate` stacks either kind into one fresh
writable array per column (the single copy), then lets torch share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import default_collate


def _writable(x: Any) -> Any:
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        return np.array(x)
    return x


def collate(batch: Sequence[Any]) -> Any:
    """``default_collate`` for samples holding read-only numpy arrays (pass as ``collate_fn``).

    Arrays of one column are stacked into one tensor of shape ``(len(batch), *shape)`` with
    one copy; everything else is collated as ``default_collate`` does.
    """
    first = batch[0]
    if isinstance(first, Mapping):
        return {key: collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, np.ndarray):
        return torch.from_numpy(np.stack(batch))
    return default_collate([_writable(x) for x in batch])
