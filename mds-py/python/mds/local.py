"""`LocalDataset`: map-style access to an MDS dataset already on local disk."""

from __future__ import annotations

import os
from typing import Any

from mds import _native

try:
    from torch.utils.data import Dataset as _Base
except ImportError:  # torch is optional
    _Base = object  # type: ignore[assignment,misc]


class LocalDataset(_Base):  # type: ignore[misc,valid-type]
    """Random access to ``local/split`` (no download, no hash check), as the reference's class.

    Args:
        local: Dataset directory (holds index.json, or ``split/index.json``).
        split: Optional sub-directory.

    Raises:
        FileNotFoundError: index.json is missing.
        mds.ShardCorruptError: index.json is malformed.
    """

    def __init__(self, local: str, split: str | None = None) -> None:
        self.local = local
        self.split = split or ""
        self._reader = _native.LocalReader(os.path.join(os.path.expanduser(local), self.split))
        self.samples_per_shard = self._reader.samples_per_shard()
        self.num_samples = len(self._reader)

    @property
    def size(self) -> int:
        """Total samples."""
        return self.num_samples

    def __len__(self) -> int:
        return self.num_samples

    def get_item(self, sample_id: int) -> dict[str, Any]:
        """Sample ``sample_id`` as a dict (subclasses override to transform)."""
        return self._reader.get(sample_id)

    def __getitem__(self, at: Any) -> Any:
        """``ds[i]`` (negative wraps), ``ds[slice]``, ``ds[list or array]``."""
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(self.num_samples))]
        if isinstance(at, (list, tuple)):
            return [self[i] for i in at]
        if type(at).__module__ == "numpy":
            return self[int(at)] if getattr(at, "ndim", 0) == 0 else [self[i] for i in at.tolist()]
        if isinstance(at, int):
            i = at + self.num_samples if -self.num_samples <= at < 0 else at
            if not 0 <= i < self.num_samples:
                raise IndexError(f"Invalid sample index `{at}`: 0 <= {at} < {self.num_samples}")
            return self.get_item(i)
        raise ValueError(f"Unsupported argument type passed to __getitem__: {type(at)}.")

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_reader"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reader = _native.LocalReader(os.path.join(os.path.expanduser(self.local), self.split))
