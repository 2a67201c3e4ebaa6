"""``streaming.base.format.mds.reader``."""

from mds.shards import FileInfo, MDSReader  # noqa: F401
