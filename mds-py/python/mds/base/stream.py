"""``streaming.base.stream``."""

from mds.stream import Stream, StreamsRegistry, streams_registry  # noqa: F401
