"""Compatibility with ``streaming.base.util``."""

from mds.util import (  # noqa: F401
    bytes_to_int,
    clean_stale_shared_memory,
    get_list_arg,
    merge_index,
    number_abbrev_to_int,
)
