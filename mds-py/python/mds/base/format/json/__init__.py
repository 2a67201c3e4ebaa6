"""``streaming.base.format.json``."""

from mds.writer import JSONWriter  # noqa: F401
