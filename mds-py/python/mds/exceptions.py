"""Exceptions raised by mds.

Every error from the native code is an :class:`MdsError` (or a standard exception such as
``ValueError`` for bad arguments and ``FileNotFoundError`` for a missing remote object), and its
message carries the whole Rust cause chain.
"""

from mds._native import CacheError, FetchError, MdsError, ShardCorruptError

__all__ = ["MdsError", "ShardCorruptError", "FetchError", "CacheError"]
