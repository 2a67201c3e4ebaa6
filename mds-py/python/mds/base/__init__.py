"""Compatibility with ``streaming.base``: the same names and module paths under ``mds.base``
(``mds.base.StreamingDataset``, ``mds.base.format.mds.writer.MDSWriter``, ...). Names load on
first use, so importing ``mds.base`` imports neither torch nor numpy."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "StreamingDataLoader": "mds.dataloader",
    "StreamingDataset": "mds.dataset",
    "Stream": "mds.stream",
    "LocalDataset": "mds.local",
    "MDSWriter": "mds.writer",
    "JSONWriter": "mds.writer",
    "CSVWriter": "mds.writer",
    "TSVWriter": "mds.writer",
    "XSVWriter": "mds.writer",
}
_SUBMODULES = ("util", "format", "dataset", "stream", "dataloader", "local")

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        mod = importlib.import_module(f"mds.base.{name}")
        globals()[name] = mod
        return mod
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mds.base' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
