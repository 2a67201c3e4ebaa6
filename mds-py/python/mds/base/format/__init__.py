"""``streaming.base.format``: the writers."""

from mds.writer import CSVWriter, JSONWriter, MDSWriter, TSVWriter, XSVWriter  # noqa: F401

__all__ = ["CSVWriter", "JSONWriter", "MDSWriter", "TSVWriter", "XSVWriter"]
