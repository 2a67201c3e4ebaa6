"""``streaming.base.dataloader``."""

from mds.dataloader import StreamingDataLoader  # noqa: F401
