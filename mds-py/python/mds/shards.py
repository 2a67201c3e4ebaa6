"""Per-shard objects of `StreamingDataset.shards`, with the reference's attribute names
(`streaming.base.format.mds.reader.MDSReader` and `streaming.base.format.base.reader.FileInfo`).
They describe a shard as index.json does; reading goes through the dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FileInfo:
    """One file of a shard: its basename, size in bytes and hashes (algorithm -> hex)."""

    basename: str
    bytes: int
    hashes: dict[str, str] = field(default_factory=dict)


class MDSReader:
    """A shard of an MDS stream as index.json describes it.

    Attributes: ``dirname`` and ``split`` (the stream's local root and split), ``compression``,
    ``hashes`` (algorithm names), ``samples``, ``size_limit``, ``column_encodings``,
    ``column_names``, ``column_sizes``, ``raw_data`` and ``zip_data`` (:class:`FileInfo`).
    """

    def __init__(self, info: dict[str, Any], dirname: str | None, split: str | None) -> None:
        self.dirname = dirname
        self.split = split or ""
        self.compression = info["compression"]
        self.hashes = list(info["hash_names"])
        self.samples = int(info["samples"])
        self.size_limit = info["size_limit"]
        self.column_encodings = list(info["column_encodings"])
        self.column_names = list(info["column_names"])
        self.column_sizes = list(info["column_sizes"])
        self.raw_data = FileInfo(info["basename"], int(info["bytes"]), dict(info["hashes"]))
        zip_data = info["zip"]
        self.zip_data = None if zip_data is None else FileInfo(zip_data[0], int(zip_data[1]), dict(zip_data[2]))
        self.stream_id = int(info["stream"])

    def __len__(self) -> int:
        return self.samples

    def get_raw_size(self) -> int:
        """Bytes of the raw (decompressed) shard file."""
        return self.raw_data.bytes

    def get_zip_size(self) -> int | None:
        """Bytes of the compressed shard file, if compressed."""
        return None if self.zip_data is None else self.zip_data.bytes

    def get_max_size(self) -> int:
        """Bytes the shard can take on disk at once: raw plus compressed."""
        return self.raw_data.bytes + (self.zip_data.bytes if self.zip_data else 0)

    def get_persistent_size(self, keep_zip: bool) -> int:
        """Bytes the shard keeps on disk once prepared."""
        if self.zip_data is not None and keep_zip:
            return self.raw_data.bytes + self.zip_data.bytes
        return self.raw_data.bytes

    def __repr__(self) -> str:
        return f"MDSReader({self.raw_data.basename!r}, samples={self.samples})"
