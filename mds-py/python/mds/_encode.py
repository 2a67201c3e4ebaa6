"""Encoding Python values into MDS column bytes for :class:`mds.MDSWriter`.

The byte layouts are those of mosaicml-streaming 0.13 (reference spec §4); the native writer
only lays the bytes out into shards. numpy and Pillow are imported on first use.
"""

from __future__ import annotations

import json
import pickle
import struct
from decimal import Decimal
from io import BytesIO
from typing import Any, Callable

# ndarray dtype codes (reference spec §4.1)
_DTYPE_CODES = {
    "uint8": 8, "int8": 9, "uint16": 16, "int16": 17, "float16": 18,
    "uint32": 32, "int32": 33, "float32": 34, "uint64": 64, "int64": 65, "float64": 66,
}  # fmt: skip
_SCALARS = {
    "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8,
    "int8": 1, "int16": 2, "int32": 4, "int64": 8,
    "float16": 2, "float32": 4, "float64": 8,
}  # fmt: skip
_SIMPLE = [
    "bytes", "str", "int", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
    "int64", "float16", "float32", "float64", "str_int", "str_float", "str_decimal", "pil",
    "jpeg", "png", "jpeg_array", "jpegarray", "list[pil]", "list[jpeg]", "list[png]", "pkl",
    "json", "ndarray",
]  # fmt: skip


def supported_encodings() -> list[str]:
    """Every encoding name the writer accepts (``ndarray`` also takes ``:DTYPE[:SHAPE]``)."""
    return list(_SIMPLE)


def is_encoding(enc: str) -> bool:
    """Whether ``enc`` names an MDS column encoding."""
    try:
        column_encoder(enc)
    except (TypeError, ValueError):
        return False
    return True


def _check(obj: Any, expected: type | tuple[type, ...]) -> None:
    if not isinstance(obj, expected):
        raise AttributeError(f"data should be of type {expected}, but instead, found as {type(obj)}")


def _np():
    import numpy

    return numpy


def _enc_str(obj: Any) -> bytes:
    _check(obj, str)
    return obj.encode("utf-8")


def _enc_int(obj: Any) -> bytes:
    _check(obj, int)
    return struct.pack("<q", obj)


def _enc_str_int(obj: Any) -> bytes:
    _check(obj, int)
    return str(obj).encode()


def _enc_str_float(obj: Any) -> bytes:
    _check(obj, float)
    return str(obj).encode()


def _enc_str_decimal(obj: Any) -> bytes:
    _check(obj, Decimal)
    return str(obj).encode()


def _enc_bytes(obj: Any) -> bytes:
    _check(obj, bytes)
    return obj


def _enc_pkl(obj: Any) -> bytes:
    return pickle.dumps(obj)


def _json_default(obj: Any) -> Any:
    np = _np()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _enc_json(obj: Any) -> bytes:
    np = _np() if type(obj).__module__ == "numpy" else None
    if np is not None and isinstance(obj, np.ndarray):
        obj = obj.tolist()
    return json.dumps(obj, default=_json_default).encode("utf-8")


def _scalar(name: str) -> Callable[[Any], bytes]:
    def enc(obj: Any) -> bytes:
        np = _np()
        return np.dtype(name).type(obj).tobytes()

    return enc


def _image_module():
    from PIL import Image

    return Image


def _enc_pil(obj: Any) -> bytes:
    Image = _image_module()
    _check(obj, Image.Image)
    mode = obj.mode.encode("utf-8")
    width, height = obj.size
    return struct.pack("<III", width, height, len(mode)) + mode + obj.tobytes()


def _enc_jpeg(obj: Any) -> bytes:
    Image = _image_module()
    _check(obj, Image.Image)
    from PIL.JpegImagePlugin import JpegImageFile

    filename = getattr(obj, "filename", None)
    if isinstance(obj, JpegImageFile) and filename:
        try:
            with open(filename, "rb") as f:
                return f.read()
        except OSError:
            pass
    out = BytesIO()
    obj.save(out, format="JPEG")
    return out.getvalue()


def _enc_png(obj: Any) -> bytes:
    Image = _image_module()
    _check(obj, Image.Image)
    out = BytesIO()
    obj.save(out, format="PNG")
    return out.getvalue()


def _enc_jpeg_array(obj: Any) -> bytes:
    parts = [bytes(x) for x in obj]
    return struct.pack(f"<I{len(parts)}I", len(parts), *map(len, parts)) + b"".join(parts)


def _list_of(element: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def enc(obj: Any) -> bytes:
        _check(obj, list)
        parts = [element(x) for x in obj]
        head = struct.pack(f"<II{len(parts)}I", 0, len(parts), *map(len, parts))
        return head + b"".join(parts)

    return enc


def _ndarray(dtype: str | None, shape: tuple[int, ...] | None) -> Callable[[Any], bytes]:
    def enc(obj: Any) -> bytes:
        np = _np()
        _check(obj, np.ndarray)
        name = obj.dtype.name
        if dtype is not None and name != dtype:
            raise ValueError(f"Wrong dtype: expected {dtype}, got {name}.")
        if name not in _DTYPE_CODES:
            raise ValueError(f"Unsupported dtype: {name}.")
        if shape is not None and tuple(obj.shape) != shape:
            raise ValueError(f"Wrong shape: expected {shape}, got {tuple(obj.shape)}.")
        if obj.ndim == 0:
            raise ValueError(
                "Attempting to encode a scalar with NDArray encoding. Please use a scalar encoding."
            )
        if obj.size == 0:
            raise ValueError("Attempting to encode a numpy array with 0 elements.")
        if obj.ndim >= 64:
            raise ValueError(f"Array has too many dimensions: {obj.ndim}.")
        data = obj.tobytes()
        if shape is not None:
            return data
        top = max(obj.shape)
        code, fmt = next(
            (c, f) for c, f, lim in ((0, "B", 1 << 8), (1, "H", 1 << 16), (2, "I", 1 << 32), (3, "Q", None))
            if lim is None or top < lim
        )  # fmt: skip
        head = bytes([(obj.ndim << 2) | code]) + struct.pack(f"<{obj.ndim}{fmt}", *obj.shape)
        if dtype is None:
            head = bytes([_DTYPE_CODES[name]]) + head
        return head + data

    return enc


def column_encoder(enc: str) -> Callable[[Any], bytes]:
    """The function that encodes one value of encoding ``enc`` into its stored bytes.

    Raises:
        TypeError: ``enc`` is not an MDS encoding.
        ValueError: a malformed ``ndarray`` configuration.
    """
    simple: dict[str, Callable[[Any], bytes]] = {
        "bytes": _enc_bytes, "str": _enc_str, "int": _enc_int, "str_int": _enc_str_int,
        "str_float": _enc_str_float, "str_decimal": _enc_str_decimal, "pil": _enc_pil,
        "jpeg": _enc_jpeg, "png": _enc_png, "jpeg_array": _enc_jpeg_array,
        "jpegarray": _enc_jpeg_array, "list[pil]": _list_of(_enc_pil),
        "list[jpeg]": _list_of(_enc_jpeg), "list[png]": _list_of(_enc_png), "pkl": _enc_pkl,
        "json": _enc_json,
    }  # fmt: skip
    if enc in simple:
        return simple[enc]
    if enc in _SCALARS:
        return _scalar(enc)
    if enc == "ndarray":
        return _ndarray(None, None)
    if enc.startswith("ndarray:"):
        parts = enc.split(":")
        if len(parts) > 3 or not parts[1] or parts[1] not in _DTYPE_CODES:
            raise ValueError(f"Invalid ndarray encoding: {enc}.")
        shape = None
        if len(parts) == 3:
            try:
                shape = tuple(int(d) for d in parts[2].split(","))
            except ValueError:
                raise ValueError(f"Invalid ndarray encoding: {enc}.") from None
            if any(d < 1 for d in shape):
                raise ValueError(f"Invalid ndarray encoding: {enc}.")
        return _ndarray(parts[1], shape)
    raise TypeError(f"unsupported encoding {enc}")


def fixed_size(enc: str) -> int | None:
    """The stored size of every value of ``enc`` in bytes, or None if it varies."""
    if enc == "int":
        return 8
    if enc in _SCALARS:
        return _SCALARS[enc]
    parts = enc.split(":")
    if parts[0] == "ndarray" and len(parts) == 3:
        import math

        itemsize = _SCALARS[parts[1]]
        return itemsize * math.prod(int(d) for d in parts[2].split(","))
    return None
