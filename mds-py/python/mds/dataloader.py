"""`StreamingDataLoader`: a DataLoader that can checkpoint a StreamingDataset mid-epoch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from mds.dataset import StreamingDataset


class StreamingDataLoader(DataLoader):
    """``torch.utils.data.DataLoader`` that counts the samples it yielded on this rank.

    :meth:`state_dict` turns that count into a dataset checkpoint (all ranks together, assuming
    each rank yielded as many), and :meth:`load_state_dict` resumes the dataset from one.
    Takes exactly DataLoader's arguments.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.num_samples_yielded = 0

    def _get_batch_size(self, batch: Any) -> int:
        """Samples in ``batch``: length of a tensor, of a dict's first value, or of a sequence's first item."""
        import torch

        if isinstance(batch, torch.Tensor):
            return len(batch)
        if isinstance(batch, dict) or hasattr(batch, "data") and isinstance(batch.data, dict):
            mapping = batch if isinstance(batch, dict) else batch.data
            if not mapping:
                raise ValueError("Batch is empty")
            return len(next(iter(mapping.values())))
        return len(batch[0])

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        self.num_samples_yielded = 0
        for batch in super().__iter__():
            self.num_samples_yielded += self._get_batch_size(batch)
            yield batch

    def state_dict(self) -> dict[str, Any] | None:
        """The dataset's checkpoint after the samples yielded so far, or None for other datasets."""
        if not isinstance(self.dataset, StreamingDataset):
            return None
        world_size = int(os.environ.get("WORLD_SIZE", 1))
        num_samples = self.num_samples_yielded * world_size
        if self.dataset.replication is not None:
            num_samples //= self.dataset.replication
        return self.dataset.state_dict(num_samples, False)

    def load_state_dict(self, obj: dict[str, Any]) -> None:
        """Resume the dataset from ``obj`` at the next iteration."""
        if isinstance(self.dataset, StreamingDataset):
            self.dataset.load_state_dict(obj)

    def __del__(self) -> None:
        it = getattr(self, "_iterator", None)
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()
