"""``streaming.base.format.xsv``."""

from mds.writer import CSVWriter, TSVWriter, XSVWriter  # noqa: F401
