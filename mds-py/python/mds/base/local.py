"""``streaming.base.local``."""

from mds.local import LocalDataset  # noqa: F401
