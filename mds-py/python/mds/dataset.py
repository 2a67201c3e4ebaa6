"""`StreamingDataset`: the drop-in replacement of mosaicml-streaming's class.

With torch importable it is a ``torch.utils.data.IterableDataset``; without torch, a plain
iterable. Only picklable configuration lives on the object: the native dataset is built
lazily in each process (and rebuilt after a fork), so DataLoader workers under ``fork``,
``spawn`` and ``forkserver`` and ``persistent_workers=True`` all work.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from mds import _native
from mds._shared import SharedState
from mds._util import bytes_to_int, number_abbrev_to_int
from mds.stream import Stream, streams_registry

try:  # the one place torch is imported, and only when this module is
    from torch.utils.data import IterableDataset as _Base
    from torch.utils.data import get_worker_info as _worker_info
except ImportError:  # torch is optional
    _Base = object  # type: ignore[assignment,misc]

    def _worker_info() -> Any:
        return None


_SHUFFLE_ALGOS = ("naive", "py1b", "py1br", "py1e", "py1s", "py2s")


class StreamingDataset(_Base):  # type: ignore[misc,valid-type]
    """Streams MDS samples for this rank and DataLoader worker, in the reference's order.

    Every parameter, its default and its validation match mosaicml-streaming 0.13
    (reference spec §10.2); samples are dicts ``{column: value}`` typed as the reference
    decodes them. Iterating yields this worker's share of one epoch; indexing (``ds[i]``)
    reads any underlying sample, downloading its shard on demand.

    Args:
        streams: Streams to mix (exclusive with ``remote``/``local``).
        remote: Remote dataset root, single-stream shortcut.
        local: Local cache directory, single-stream shortcut.
        split: Sub-directory of every stream.
        download_retry: Total download attempts per file (default 2).
        download_timeout: Seconds per download (default 60).
        validate_hash: Hash algorithm checked on download (default none).
        keep_zip: Keep compressed shards after decompressing (default False).
        epoch_size: Samples per epoch over all ranks (int or ``"100k"``-style string).
        predownload: Samples each worker may prefetch ahead (default ``8 * batch_size``).
        cache_limit: Max bytes of local cache (int or ``"10gb"``-style string); None = no limit.
        sampling_method: ``"balanced"`` or ``"fixed"``.
        sampling_granularity: Samples drawn per shard when resampling (>= 1).
        partition_algo: ``"orig"`` or ``"relaxed"``.
        num_canonical_nodes: Canonical node count fixing the global order.
        batch_size: Per-device batch size (required before iterating).
        shuffle: Shuffle samples (default False).
        shuffle_algo: ``naive``, ``py1b``, ``py1br``, ``py1e`` (default), ``py1s``, ``py2s``.
        shuffle_seed: Seed (default 9176).
        shuffle_block_size: Shuffle block size in samples.
        batching_method: ``random``, ``stratified``, ``per_stream``, ``device_per_stream``.
        allow_unsafe_types: Allow ``pkl`` columns (unpickling runs code).
        replication: Consecutive ranks that receive identical samples.
        stream_name: Name of the ``Stream`` class in ``streams_registry`` built for
            ``remote``/``local`` (default ``"stream"``; register subclasses there).
        stream_config: Extra keyword arguments of the single stream.

    Raises:
        ValueError: invalid or conflicting arguments, unsafe columns without opt-in.
        FileNotFoundError: a remote index.json does not exist.
        mds.MdsError: the index cannot be fetched or parsed.
    """

    def __init__(
        self,
        *,
        streams: Sequence[Stream] | None = None,
        remote: str | None = None,
        local: str | None = None,
        split: str | None = None,
        download_retry: int = 2,
        download_timeout: float = 60,
        validate_hash: str | None = None,
        keep_zip: bool = False,
        epoch_size: int | str | None = None,
        predownload: int | None = None,
        cache_limit: int | str | None = None,
        sampling_method: str = "balanced",
        sampling_granularity: int = 1,
        partition_algo: str = "relaxed",
        num_canonical_nodes: int | None = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        shuffle_algo: str = "py1e",
        shuffle_seed: int = 9176,
        shuffle_block_size: int | None = None,
        batching_method: str = "random",
        allow_unsafe_types: bool = False,
        replication: int | None = None,
        stream_name: str = "stream",
        stream_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"StreamingDataset got unexpected keyword arguments {sorted(kwargs)}")
        if streams and (remote is not None or local is not None):
            raise ValueError(
                "You must provide either `streams` or `remote`/`local`, but not both."
            )
        if not streams and remote is None and local is None:
            raise ValueError("You must provide either `streams` or `remote`/`local`, but not both.")
        if sampling_method not in ("balanced", "fixed"):
            raise ValueError(
                f"Invalid sampling method: {sampling_method}. Must be one of `balanced` or `fixed`."
            )
        if sampling_granularity <= 0:
            raise ValueError(
                "`sampling_granularity` must be a positive integer, but got: "
                f"{sampling_granularity}."
            )
        if batching_method not in ("random", "stratified", "per_stream", "device_per_stream"):
            raise ValueError(
                f"Invalid batching method: {batching_method}. Must be one of `random`, "
                "`stratified`, `per_stream`, or `device_per_stream`."
            )
        if shuffle_seed < 0:
            raise ValueError(
                f"`shuffle_seed` must be a non-negative integer, but found {shuffle_seed}."
            )
        if stream_name not in streams_registry:
            raise ValueError(
                f"stream_name {stream_name!r} is not registered in streams_registry "
                f"(registered: {sorted(streams_registry.get_all())})"
            )
        if epoch_size is not None:
            epoch_size = number_abbrev_to_int(epoch_size)
            if epoch_size < 0:
                raise ValueError(f"Epoch size cannot be negative. Received {epoch_size}.")
        if cache_limit is not None:
            cache_limit = bytes_to_int(cache_limit)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if predownload is None and batch_size is not None:
            predownload = 8 * batch_size
        elif predownload is None:
            predownload = 64

        if streams:
            stream_list = list(streams)
        else:
            extra = dict(stream_config or {})
            stream_list = [streams_registry.get(stream_name)(remote=remote, local=local, **extra)]
        self.streams = stream_list
        self.split = split
        self.download_retry = download_retry
        self.download_timeout = download_timeout
        self.validate_hash = validate_hash
        self.keep_zip = keep_zip
        self.predownload = predownload
        self.cache_limit = cache_limit
        self.sampling_method = sampling_method
        self.sampling_granularity = sampling_granularity
        self.partition_algo = partition_algo
        self.num_canonical_nodes = num_canonical_nodes
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.shuffle_algo = shuffle_algo
        self.shuffle_seed = shuffle_seed
        self.shuffle_block_size = shuffle_block_size
        self.batching_method = batching_method
        self.allow_unsafe_types = allow_unsafe_types
        self.replication = replication
        self._epoch_size_arg = epoch_size or None
        self._shards: list[Any] | None = None
        self._shared = SharedState()
        self._native_obj: Any = None
        self._native_pid = -1
        native = self._native()  # load the indexes now, as the reference does
        for message in native.config_warnings():
            warnings.warn(message, UserWarning, stacklevel=2)
        for stream, weights in zip(self.streams, native.stream_weights()):
            stream._apply_weights(*weights)

    # --- configuration -----------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return {
            "streams": [s._config() for s in self.streams],
            "split": self.split,
            "download_retry": self.download_retry,
            "download_timeout": float(self.download_timeout),
            "validate_hash": self.validate_hash,
            "keep_zip": self.keep_zip,
            "epoch_size": self._epoch_size_arg,
            "predownload": self.predownload,
            "cache_limit": self.cache_limit,
            "sampling_method": self.sampling_method,
            "sampling_granularity": self.sampling_granularity,
            "partition_algo": self.partition_algo,
            "num_canonical_nodes": self.num_canonical_nodes,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "shuffle_algo": self.shuffle_algo,
            "shuffle_seed": self.shuffle_seed,
            "shuffle_block_size": self.shuffle_block_size,
            "batching_method": self.batching_method,
            "allow_unsafe_types": self.allow_unsafe_types,
            "replication": self.replication,
        }

    def _native(self) -> Any:
        # Rebuilt in every process: a forked child inherits no runtime threads.
        if self._native_obj is None or self._native_pid != os.getpid():
            self._native_obj = _native.Dataset(self._config())
            self._native_pid = os.getpid()
        return self._native_obj

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_native_obj"] = None
        state["_native_pid"] = -1
        return state

    # --- sizes ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """Samples per epoch for this rank: ``ceil(epoch_size / num_ranks)``."""
        return self._native().len()

    @property
    def size(self) -> int:
        """Underlying samples over all streams (not resampled)."""
        return self._native().size()

    @property
    def num_samples(self) -> int:
        """Same as :attr:`size`."""
        return self.size

    @property
    def epoch_size(self) -> int:
        """Samples per epoch over all ranks after stream weighting."""
        return self._native().epoch_size()

    @property
    def num_shards(self) -> int:
        """Shards over all streams."""
        return self._native().num_shards()

    @property
    def next_epoch(self) -> int:
        """The epoch the next iteration starts (unless a loaded checkpoint says otherwise)."""
        return int(self._shared.read()["next_epoch"])

    @next_epoch.setter
    def next_epoch(self, epoch: int) -> None:
        self._shared.set_next_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch the next iteration starts (``DistributedSampler``-style)."""
        self._shared.set_next_epoch(epoch)

    @property
    def shards(self) -> list[Any]:
        """One object per shard over all streams, with the reference's attributes
        (``samples``, ``compression``, ``hashes``, ``raw_data``, ``zip_data``, ...)."""
        if getattr(self, "_shards", None) is None:
            from mds.shards import MDSReader

            self._shards = [
                MDSReader(info, self.streams[info["stream"]].local, self.streams[info["stream"]].split or self.split)
                for info in self._native().shard_infos()
            ]
        return self._shards

    def prepare_shard(self, shard_id: int, blocking: bool = True) -> None:
        """Download shard ``shard_id`` into the local cache (evicting others under a
        ``cache_limit``). Always waits (``blocking`` is accepted for compatibility)."""
        self._native().prepare_shard(shard_id)

    def evict_shard(self, shard_id: int) -> None:
        """Remove shard ``shard_id`` from the local cache, unless a worker is reading it.

        A stream read in place (no remote) is never deleted: it is the dataset, not a cache.
        """
        self._native().evict_shard(shard_id)

    # --- access --------------------------------------------------------------------------

    def get_item(self, sample_id: int) -> dict[str, Any]:
        """Sample ``sample_id`` of the underlying samples; subclasses override this to transform."""
        return self._native().get(sample_id)

    def __getitem__(self, at: Any) -> Any:
        """``ds[i]`` (negative wraps), ``ds[slice]`` and ``ds[list or array]`` (lists)."""
        if isinstance(at, slice):
            return [self[i] for i in range(*at.indices(self.size))]
        if isinstance(at, (list, tuple)):
            return [self[i] for i in at]
        if type(at).__module__ == "numpy":
            if getattr(at, "ndim", 0) == 0:
                return self[int(at)]
            return [self[i] for i in at.tolist()]
        if isinstance(at, int):
            return self.get_item(at)
        raise ValueError(f"Unsupported argument type passed to __getitem__: {type(at)}.")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield this worker's samples of the next epoch (resuming a loaded checkpoint)."""
        info = _worker_info()
        worker_id, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch, resume = self._shared.claim(num_workers)
        native = self._native()
        cls = type(self)
        custom = cls.__getitem__ is not StreamingDataset.__getitem__ or cls.get_item is not StreamingDataset.get_item
        samples = native.begin_epoch(epoch, resume, worker_id, num_workers, not custom, info is not None)
        if cls.__getitem__ is not StreamingDataset.__getitem__:  # a subclass transforms samples
            return (self[i] for i in samples.sample_ids())
        if cls.get_item is not StreamingDataset.get_item:
            return (self.get_item(i) for i in samples.sample_ids())
        return samples

    # --- checkpoints ---------------------------------------------------------------------

    def state_dict(self, num_samples: int, from_beginning: bool) -> dict[str, Any]:
        """Checkpoint after ``num_samples`` more global samples of the current epoch.

        Returns a dict with the reference's keys: ``epoch``, ``sample_in_epoch``,
        ``num_canonical_nodes``, ``shuffle_seed``, ``initial_physical_nodes``; it can be
        loaded by mds and by mosaicml-streaming alike.
        """
        st = self._shared.read()
        return self._native().state_dict(
            num_samples, from_beginning, int(st["next_epoch"]), st.get("resume")
        )

    def load_state_dict(self, obj: dict[str, Any]) -> None:
        """Resume from ``obj`` (a :meth:`state_dict`) at the next iteration, in every worker."""
        self._shared.set_resume(dict(obj))
