"""The reference's writers: `MDSWriter` (MDS shards) and `JSONWriter`, `CSVWriter`, `TSVWriter`,
`XSVWriter` (JSON-lines and separated-value shards), byte for byte as mosaicml-streaming writes
them."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from types import TracebackType
from typing import Any

from mds import _native
from mds._encode import column_encoder, fixed_size, supported_encodings
from mds._util import bytes_to_int

log = logging.getLogger(__name__)

_WRITER_KWARGS = {"progress_bar", "max_workers", "retry", "exist_ok"}


def _split_out(out: str | tuple[str, str] | list[str]) -> tuple[str, str | None, bool]:
    """``(local dir, remote or None, local dir is a temp dir)`` for the writer's ``out``."""
    if isinstance(out, (tuple, list)):
        if len(out) != 2:
            raise ValueError(
                f"Invalid `out` argument. It is either a string of local/remote directory or a "
                f"list of two strings with [local, remote]. Got {out}."
            )
        if "://" in out[1]:
            _native.check_remote(out[1])
        return os.path.expanduser(out[0]), out[1], False
    if "://" in out:
        _native.check_remote(out)  # a bad remote fails here, not after every shard is written
        return tempfile.mkdtemp(prefix="mds-writer-"), out, True
    return os.path.expanduser(out), None, False


def _upload(files: list[tuple[str, str]], remote: str, retry: int) -> None:
    """Copy (plain path) or upload (URL) ``(local path, name)`` pairs under ``remote``."""
    if "://" not in remote:
        for path, name in files:
            dest = os.path.join(remote, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(path, dest)
        return
    _native.upload_files(remote, files, max(retry, 1))


class _Writer:
    """What every writer shares: ``out`` and its upload, compression, hashes, size limit,
    ``finish`` and the context manager. Subclasses build the native writer and encode samples."""

    format = ""

    def __init__(
        self,
        *,
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        bad = sorted(set(kwargs) - _WRITER_KWARGS)
        if bad:
            raise ValueError(f"Invalid Writer argument(s): {bad} ")
        self.retry = int(kwargs.get("retry", 2))
        exist_ok = bool(kwargs.get("exist_ok", False))
        hashes = list(hashes or [])
        if hashes != sorted(hashes):
            raise ValueError("Hashes must be unique and in sorted order.")
        if size_limit:
            size_limit = bytes_to_int(size_limit)
            if size_limit < 0:
                raise ValueError(
                    f"`size_limit` must be greater than zero, instead, found as {size_limit}."
                )
            if size_limit >= 2**32:
                raise ValueError(
                    f"`size_limit` must be less than 2**32 bytes (u32 shard offsets), got {size_limit}."
                )
        else:
            size_limit = None
        self.compression = compression or None
        self.hashes = hashes
        self.size_limit = size_limit
        self.keep_local = keep_local
        self.local, self.remote, self._temp = _split_out(out)
        if os.path.exists(self.local) and not self._temp:
            if exist_ok:
                log.warning("Directory %s exists and is not empty; exist_ok=True: deleting it", self.local)
                shutil.rmtree(self.local)
            elif os.listdir(self.local):
                raise FileExistsError(f"Directory is not empty: {self.local}")
        os.makedirs(self.local, exist_ok=True)
        self._finished = False
        self._writer: Any = None

    def get_config(self) -> dict[str, Any]:
        """The writing configuration every shard records: ``version``, ``format``,
        ``compression``, ``hashes``, ``size_limit`` and the format's own keys."""
        return json.loads(self._writer.config_json())

    def write(self, sample: dict[str, Any]) -> None:
        """Append one sample ``{column: value}``."""
        self._writer.write(self.encode_sample(sample))

    def encode_sample(self, sample: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def finish(self) -> None:
        """Write the last shard and index.json, then upload (if remote). Idempotent."""
        if self._finished:
            return
        self._finished = True
        files = self._writer.finish()
        if self.remote is not None:
            present = [(os.path.join(self.local, n), n) for n in files]
            # the raw form of a compressed shard is never written; index.json goes last
            present = [(p, n) for p, n in present if os.path.exists(p)]
            _upload([f for f in present if f[1] != "index.json"], self.remote, self.retry)
            _upload([f for f in present if f[1] == "index.json"], self.remote, self.retry)
            if not self.keep_local:
                shutil.rmtree(self.local, ignore_errors=True)

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish()


class MDSWriter(_Writer):
    """Writes samples (dicts) into MDS shards plus ``index.json``; a context manager.

    The bytes written are those of mosaicml-streaming 0.13 for the same arguments: same column
    encodings, shard boundaries, compression, hashes and index.json.

    Args:
        columns: ``{name: encoding}``, e.g. ``{"tokens": "ndarray:int32:2048", "id": "int"}``.
        out: A local directory, a remote URL (staged in a temp dir, then uploaded) or a
            ``(local, remote)`` pair.
        keep_local: With a remote, keep the local copies after upload.
        compression: ``zstd``, ``zstd:7``, ``gz``, ``bz2``, ``br``, ``snappy`` or None.
        hashes: Sorted hash algorithm names recorded per file (``["sha1", "xxh64"]``).
        size_limit: Max raw shard size in bytes (int or ``"64mb"``); None or 0 = unlimited.
        progress_bar: Accepted for compatibility (no effect).
        max_workers: Accepted for compatibility (uploads run at finish).
        retry: Upload attempts per file (default 2).
        exist_ok: Delete an existing non-empty local directory instead of failing.

    Raises:
        ValueError: bad arguments (unknown kwargs, compression, hashes, size_limit).
        TypeError: an unsupported column encoding.
        FileExistsError: the local directory is not empty and ``exist_ok`` is False.
    """

    format = "mds"

    def __init__(
        self,
        *,
        columns: dict[str, str],
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        encoders = {}
        for name, enc in columns.items():
            try:
                encoders[name] = column_encoder(enc)
            except (TypeError, ValueError):
                raise TypeError(
                    f"MDSWriter passed column `{name}` with encoding `{enc}` is unsupported. "
                    f"Supported encodings are {supported_encodings()}"
                ) from None
        super().__init__(
            out=out, keep_local=keep_local, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )
        self.encoders = encoders
        self.columns = dict(columns)
        self._writer = _native.Writer(
            self.local,
            list(self.columns.items()),
            self.compression,
            self.hashes,
            self.size_limit,
        )
        self._order = self._writer.column_names()
        self._sizes = [fixed_size(self.columns[n]) for n in self._order]

    def encode_sample(self, sample: dict[str, Any]) -> list[bytes]:
        """The stored bytes of each column of ``sample``, in the writer's (sorted) column order.

        A ``bytes`` value is stored verbatim whatever the encoding, as the reference does.
        """
        out = []
        for name, size in zip(self._order, self._sizes):
            value = sample[name]
            data = value if isinstance(value, bytes) else self.encoders[name](value)
            if size is not None and len(data) != size:
                raise KeyError(
                    "Unexpected data size; was this data typed with the correct encoding "
                    f"({self.columns[name]})?"
                )
            out.append(data)
        return out


class JSONWriter(_Writer):
    """Writes samples into JSON-lines shards (``shard.NNNNN.json`` + ``.json.meta``) plus
    ``index.json``, as the reference does. Columns are ``str``, ``int`` or ``float``.

    Args:
        columns: ``{name: "str" | "int" | "float"}``.
        newline: Text after each sample (default ``"\\n"``).
        out, keep_local, compression, hashes, size_limit: as for :class:`MDSWriter`.
    """

    format = "json"

    def __init__(
        self,
        *,
        columns: dict[str, str],
        newline: str = "\n",
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            out=out, keep_local=keep_local, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )
        self.columns = dict(columns)
        self.newline = newline
        self._writer = self._split_writer(None)

    def _split_writer(self, separator: str | None) -> Any:
        return _native.SplitWriter(
            self.local,
            self.format,
            list(self.columns.items()),
            self.compression,
            self.hashes,
            self.size_limit,
            self.newline,
            separator,
        )

    def encode_sample(self, sample: dict[str, Any]) -> list[Any]:
        """The values of ``sample`` in the writer's (sorted) column order."""
        return [sample[name] for name in self._writer.column_names()]


class XSVWriter(JSONWriter):
    """Writes samples into shards of values separated by ``separator`` (``shard.NNNNN.xsv`` +
    ``.xsv.meta``) plus ``index.json``. No quoting: a value holding the separator or the
    newline is an error, as in the reference.

    Args:
        columns: ``{name: "str" | "int" | "float"}``.
        separator: Text between the values of a sample.
        newline: Text after each sample (default ``"\\n"``).
        out, keep_local, compression, hashes, size_limit: as for :class:`MDSWriter`.
    """

    format = "xsv"
    separator: str | None = None

    def __init__(
        self,
        *,
        columns: dict[str, str],
        separator: str,
        newline: str = "\n",
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        _Writer.__init__(
            self, out=out, keep_local=keep_local, compression=compression, hashes=hashes, size_limit=size_limit, **kwargs
        )
        self.columns = dict(columns)
        self.newline = newline
        self.separator = separator
        self._writer = self._split_writer(separator if self.format == "xsv" else None)


class CSVWriter(XSVWriter):
    """:class:`XSVWriter` with ``,`` as the separator (``shard.NNNNN.csv``)."""

    format = "csv"
    separator = ","

    def __init__(
        self,
        *,
        columns: dict[str, str],
        newline: str = "\n",
        out: str | tuple[str, str],
        keep_local: bool = False,
        compression: str | None = None,
        hashes: list[str] | None = None,
        size_limit: int | str | None = 1 << 26,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            columns=columns,
            separator=type(self).separator or ",",
            newline=newline,
            out=out,
            keep_local=keep_local,
            compression=compression,
            hashes=hashes,
            size_limit=size_limit,
            **kwargs,
        )


class TSVWriter(CSVWriter):
    """:class:`XSVWriter` with a tab as the separator (``shard.NNNNN.tsv``)."""

    format = "tsv"
    separator = "\t"
