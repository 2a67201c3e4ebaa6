"""Helpers users call from mosaicml-streaming's ``streaming.base.util``."""

from __future__ import annotations

from typing import Any

from mds import _native
from mds._util import bytes_to_int, get_list_arg, number_abbrev_to_int

__all__ = [
    "bytes_to_int",
    "clean_stale_shared_memory",
    "get_list_arg",
    "merge_index",
    "number_abbrev_to_int",
]


def clean_stale_shared_memory() -> None:
    """Does nothing: mds keeps no named shared memory, so nothing can go stale after a crash."""


def merge_index(*args: Any, **kwargs: Any) -> None:
    """Merge the ``index.json`` of sub-datasets into one index at their common root.

    Two forms, as the reference: ``merge_index(index_file_urls, out, keep_local=True,
    download_timeout=60)`` with a list of index.json paths (or ``(local, remote)`` pairs), and
    ``merge_index(out, keep_local=True, download_timeout=60)`` which finds every sub-directory
    index under ``out``. Shard basenames become ``<subdir>/<basename>``.
    """
    if args and isinstance(args[0], list):
        urls = args[0]
        out = args[1] if len(args) > 1 else kwargs.pop("out")
        rest = args[2:]
    else:
        urls = None
        out = args[0] if args else kwargs.pop("out")
        rest = args[1:]
    keep_local = rest[0] if len(rest) > 0 else kwargs.pop("keep_local", True)
    download_timeout = rest[1] if len(rest) > 1 else kwargs.pop("download_timeout", 60)
    if kwargs:
        raise TypeError(f"merge_index got unexpected keyword arguments {sorted(kwargs)}")
    if urls is not None and (not urls or not out):
        import logging

        logging.getLogger(__name__).warning("Need to specify both `index_file_urls` and `out`. No index merged")
        return
    del download_timeout  # local merge only: nothing is downloaded
    if isinstance(out, (list, tuple)):
        local, remote = out
    else:
        local, remote = out, None
    if remote is not None and "://" in str(remote):
        raise NotImplementedError("merge_index into a remote `out` is not supported yet by mds")
    files = None
    if urls is not None:
        files = [u[0] if isinstance(u, (list, tuple)) else u for u in urls]
        files = [f[len("file://"):] if f.startswith("file://") else f for f in files]
    _native.merge_local_index(files, local)
    if remote is not None and remote != local:
        import os
        import shutil

        os.makedirs(remote, exist_ok=True)
        shutil.copyfile(os.path.join(local, "index.json"), os.path.join(remote, "index.json"))
    del keep_local
