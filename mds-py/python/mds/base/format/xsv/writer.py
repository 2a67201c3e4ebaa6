"""``streaming.base.format.xsv.writer``."""

from mds.writer import CSVWriter, TSVWriter, XSVWriter  # noqa: F401
