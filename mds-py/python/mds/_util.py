"""Human-readable numbers, as mosaicml-streaming parses them (reference spec §18.3)."""

from __future__ import annotations

_BYTE_UNITS = ["b", "kb", "mb", "gb", "tb", "pb", "eb", "zb", "yb"]
_ABBREV = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def bytes_to_int(value: int | float | str) -> int:
    """Parse a byte count: an int, or a string such as ``"100kb"`` (binary units, 1kb = 1024).

    Raises:
        ValueError: the suffix is unknown or the number is malformed.
    """
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    for power in range(len(_BYTE_UNITS) - 1, 0, -1):
        unit = _BYTE_UNITS[power]
        if text.endswith(unit):
            number = text[: -len(unit)]
            try:
                return int(float(number) * 1024**power)
            except ValueError:
                break
    else:
        if text.endswith("b") and text[:-1].isdigit():
            return int(text[:-1])
    raise ValueError(f"Unsupported value/suffix {value}. Supported suffix are {_BYTE_UNITS}.")


def number_abbrev_to_int(value: int | float | str) -> int:
    """Parse a sample count: an int, or a string such as ``"100k"`` or ``"1.5b"`` (decimal units).

    Raises:
        ValueError: the suffix is unknown or the number is malformed.
    """
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    if text and text[-1] in _ABBREV:
        try:
            return int(float(text[:-1]) * _ABBREV[text[-1]])
        except ValueError:
            pass
    raise ValueError(f"Unsupported value/suffix {value}. Supported suffix are {list(_ABBREV)}.")


def get_list_arg(text: str | None) -> list[str]:
    """Split a comma-separated argument; an empty string gives ``[]``."""
    return text.split(",") if text else []
