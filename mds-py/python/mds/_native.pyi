"""Stubs of the native module ``mds._native`` (hand-written; checked by ``cargo xtask lint``)."""

from collections.abc import Iterator, Sequence
from os import PathLike
from typing import Any, final

__all__ = [
    "Buffer",
    "CacheError",
    "Dataset",
    "FetchError",
    "LocalReader",
    "MdsError",
    "SampleIter",
    "ShardCorruptError",
    "SplitWriter",
    "Writer",
    "__version__",
    "check_remote",
    "merge_local_index",
    "upload_files",
]

__version__: str

class MdsError(Exception):
    """Base class of every error raised by mds."""

class ShardCorruptError(MdsError):
    """A shard or index.json is malformed, truncated or fails its hash check."""

class FetchError(MdsError):
    """Downloading from (or uploading to) remote storage failed."""

class CacheError(MdsError):
    """The local cache directory could not be used."""

@final
class Buffer:
    """Read-only bytes of a shard exposed through the buffer protocol (zero-copy views)."""

    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def to_bytes(self) -> bytes:
        """A copy of the bytes."""

@final
class Dataset:
    """The Rust StreamingDataset of one process (see ``mds.StreamingDataset``)."""

    def __init__(self, config: dict[str, Any]) -> None: ...
    def len(self) -> int:
        """Samples per epoch for this rank."""
    def size(self) -> int:
        """Underlying samples over all streams."""
    def epoch_size(self) -> int:
        """Samples per epoch over all ranks."""
    def num_shards(self) -> int:
        """Shards over all streams."""
    def shard_infos(self) -> list[dict[str, Any]]:
        """Every shard as index.json describes it."""
    def prepare_shard(self, shard_id: int) -> None:
        """Download shard ``shard_id`` into the cache."""
    def evict_shard(self, shard_id: int) -> bool:
        """Remove shard ``shard_id`` from the cache unless it is being read."""
    def config_warnings(self) -> list[str]:
        """The reference's warnings for these settings."""
    def stream_weights(self) -> list[tuple[float, float, int]]:
        """Each stream's derived ``(proportion, repeat, choose)``."""
    def get(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (negative counts from the end); downloads its shard if needed."""
    def begin_epoch(
        self,
        epoch: int,
        resume: dict[str, Any] | None,
        worker_id: int,
        num_workers: int,
        prefetch: bool = True,
        in_worker: bool = False,
    ) -> SampleIter:
        """Start ``epoch`` for one DataLoader worker; iterate the result for its samples."""
    def state_dict(
        self,
        num_samples: int,
        from_beginning: bool,
        next_epoch: int,
        resume: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The reference's checkpoint dict."""

@final
class SampleIter(Iterator[dict[str, Any]]):
    """One worker's samples of one epoch."""

    def __iter__(self) -> SampleIter: ...
    def __next__(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...
    def sample_ids(self) -> list[int]:
        """Global sample ids this iterator yields, in order."""

@final
class LocalReader:
    """Random access to an MDS dataset in a local directory."""

    def __init__(self, dir: str | PathLike[str], allow_pickle: bool = True) -> None: ...
    def __len__(self) -> int: ...
    def samples_per_shard(self) -> list[int]:
        """Samples of each shard, in index order."""
    def get(self, index: int) -> dict[str, Any]:
        """Sample ``index`` as a dict."""

@final
class Writer:
    """Lays encoded samples out into MDS shards and index.json."""

    def __init__(
        self,
        dir: str | PathLike[str],
        columns: Sequence[tuple[str, str]],
        compression: str | None = None,
        hashes: Sequence[str] = ...,
        size_limit: int | None = None,
    ) -> None: ...
    def config_json(self) -> str:
        """The configuration every shard records (sorted JSON text)."""
    def column_names(self) -> list[str]:
        """Column names in the order ``write`` takes values (sorted)."""
    def write(self, values: Sequence[bytes]) -> None:
        """Append one sample of encoded column bytes."""
    def finish(self) -> list[str]:
        """Write the last shard and index.json; the file names written."""

@final
class SplitWriter:
    """Writes JSON-lines, CSV, TSV or XSV shards and index.json."""

    def __init__(
        self,
        dir: str | PathLike[str],
        format: str,
        columns: Sequence[tuple[str, str]],
        compression: str | None = None,
        hashes: Sequence[str] = ...,
        size_limit: int | None = None,
        newline: str = "\n",
        separator: str | None = None,
    ) -> None: ...
    def config_json(self) -> str:
        """The configuration every shard's meta file records (sorted JSON text)."""
    def column_names(self) -> list[str]:
        """Column names in the order ``write`` takes values (sorted)."""
    def write(self, values: Sequence[str | int | float]) -> None:
        """Append one sample of ``str``/``int``/``float`` values."""
    def finish(self) -> list[str]:
        """Write the last shard and index.json; the file names written."""

def merge_local_index(index_files: Sequence[str | PathLike[str]] | None, root: str | PathLike[str]) -> None:
    """Merge sub-directory indexes of ``root`` into ``root/index.json``."""

def check_remote(remote: str) -> None:
    """Raise ValueError if ``remote`` is not a store mds can write to (no request made)."""

def upload_files(remote: str, files: Sequence[tuple[str | PathLike[str], str]], retry: int = 2) -> None:
    """Upload ``(local path, key)`` pairs under the remote root URL ``remote``."""
