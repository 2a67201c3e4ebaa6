"""``streaming.base.format.json.writer``."""

from mds.writer import JSONWriter  # noqa: F401
