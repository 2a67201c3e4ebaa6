"""Turning what the native reader yields into the values mosaicml-streaming returns.

The native code decodes each column into a primitive (int, float, str, bytes, or a zero-copy
:class:`mds.Buffer`) and, where the reference returns a richer type, calls the function
:func:`decoder` picked for that column once per dataset. numpy, Pillow and pickle are only
touched by columns that need them.
"""

from __future__ import annotations

import struct
from io import BytesIO
from typing import Any, Callable

_NP_SCALARS = (
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float64",
)  # fmt: skip


def _unsafe(_: Any) -> Any:
    raise ValueError("Unpickling is disabled: pass allow_unsafe_types=True to read pkl columns.")


def _pil(buf: Any) -> Any:
    from PIL import Image

    view = memoryview(buf)
    width, height, m = struct.unpack_from("<III", view)
    mode = bytes(view[12 : 12 + m]).decode("utf-8")
    return Image.frombytes(mode, (width, height), bytes(view[12 + m :]))


def _image_file(buf: Any) -> Any:
    from PIL import Image

    return Image.open(BytesIO(bytes(buf)))


def _ndarray(buf: Any, dtype: str, shape: tuple[int, ...]) -> Any:
    import numpy as np

    return np.frombuffer(buf, dtype).reshape(shape)


def _float16(bits: int) -> Any:
    import numpy as np

    return np.array(bits, np.uint16).view(np.float16)[()]


def _float32(bits: int) -> Any:
    import numpy as np

    return np.array(bits, np.uint32).view(np.float32)[()]


def decoder(enc: str, allow_pickle: bool = True) -> Callable[..., Any] | None:
    """The function that finishes a value of encoding ``enc``, or None if the primitive is final.

    Calling conventions, by the primitive the native reader passes:
      * numpy scalars (int8..uint64, float64): the Python int / float; float16 and float32
        receive the raw bits as an int, so NaN payloads survive;
      * integers out of i64 range: a Python int; ``str_decimal``, ``json``: the text;
      * ``pkl``: the pickle bytes; ``ndarray``: (Buffer, dtype name, shape tuple);
      * images: a Buffer over the stored bytes; lists of images: a list of Buffers.
    """
    import decimal
    import json
    import pickle

    if enc in _NP_SCALARS:
        import numpy as np

        return getattr(np, enc)
    if enc == "float16":
        return _float16
    if enc == "float32":
        return _float32
    if enc == "str_int":
        return int
    if enc == "str_decimal":
        return decimal.Decimal
    if enc == "json":
        return json.loads
    if enc == "pkl":
        return pickle.loads if allow_pickle else _unsafe
    if enc.startswith("ndarray"):
        return _ndarray
    if enc == "pil":
        return _pil
    if enc in ("png", "jpeg"):
        return _image_file
    if enc in ("list[png]", "list[jpeg]", "jpeg_array", "jpegarray"):
        return lambda bufs: [_image_file(b) for b in bufs]
    if enc == "list[pil]":
        return lambda bufs: [_pil(b) for b in bufs]
    return None
