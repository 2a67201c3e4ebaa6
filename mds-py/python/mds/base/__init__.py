"""Compatibility with ``streaming.base``: the same names under ``mds.base``."""

from mds.base import util

__all__ = ["util"]
