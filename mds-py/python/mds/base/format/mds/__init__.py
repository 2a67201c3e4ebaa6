"""``streaming.base.format.mds``."""

from mds.shards import MDSReader  # noqa: F401
from mds.writer import MDSWriter  # noqa: F401
