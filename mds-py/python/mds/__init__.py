"""mds: stream MDS datasets (the shard format of mosaicml-streaming) into PyTorch.

A drop-in replacement for ``streaming``: ``from mds import StreamingDataset`` (or
``import mds as streaming``) runs code written for mosaicml-streaming 0.13 unchanged. Classes
are loaded on first use, so ``import mds`` imports neither torch nor numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

from mds._native import (
    Buffer,
    CacheError,
    FetchError,
    MdsError,
    ShardCorruptError,
    __version__,
)

_LAZY = {
    "StreamingDataset": "mds.dataset",
    "Stream": "mds.stream",
    "StreamingDataLoader": "mds.dataloader",
    "MDSWriter": "mds.writer",
    "JSONWriter": "mds.writer",
    "CSVWriter": "mds.writer",
    "TSVWriter": "mds.writer",
    "XSVWriter": "mds.writer",
    "LocalDataset": "mds.local",
    "merge_index": "mds.util",
    "clean_stale_shared_memory": "mds.util",
    "util": "mds.util",
    "base": "mds.base",
}

__all__ = [
    "Buffer",
    "CSVWriter",
    "CacheError",
    "FetchError",
    "JSONWriter",
    "LocalDataset",
    "MDSWriter",
    "MdsError",
    "ShardCorruptError",
    "Stream",
    "StreamingDataLoader",
    "StreamingDataset",
    "TSVWriter",
    "XSVWriter",
    "clean_stale_shared_memory",
    "merge_index",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mds' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith(name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
