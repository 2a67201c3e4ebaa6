"""``streaming.base.dataset``."""

from mds.dataset import StreamingDataset  # noqa: F401
