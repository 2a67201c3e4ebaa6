"""``streaming.base.format.mds.writer``."""

from mds.writer import MDSWriter  # noqa: F401
