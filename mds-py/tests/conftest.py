"""Shared helpers of the mds-py test suite.

Fixtures are the reference-written datasets committed under
``mds-format/tests/fixtures/reference`` (relative to the repository root), so the suite runs
on a fresh clone. Backend tests need the emulator environment (``MDS_TEST_S3_ENDPOINT`` ...);
without it they skip, unless ``MDS_TEST_REQUIRE_BACKENDS=1`` makes a missing server a failure.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "mds-format" / "tests" / "fixtures" / "reference"
FIXTURE_NAMES = ["all_encodings", "all_encodings_zstd", "all_encodings_1shard"]


def fixture_dir(name: str) -> Path:
    path = FIXTURES / name
    if not (path / "index.json").exists():
        pytest.fail(f"fixture {path} is missing (it is committed with mds-format)")
    return path


def expected(name: str) -> dict[str, Any]:
    with open(fixture_dir(name) / "expected.json") as f:
        return json.load(f)


def local_copy(name: str, tmp_path: Path) -> Path:
    """A writable copy of fixture ``name`` (index.json and shards only)."""
    src = fixture_dir(name)
    dst = tmp_path / name
    dst.mkdir(parents=True)
    for p in src.iterdir():
        if p.name.startswith("shard.") or p.name == "index.json":
            shutil.copyfile(p, dst / p.name)
    return dst


def require_backend(var: str) -> str:
    """The value of ``var``; skip (or fail under MDS_TEST_REQUIRE_BACKENDS=1) when unset."""
    value = os.environ.get(var)
    if not value:
        msg = f"{var} is not set: start the emulators (scripts/emulators/start.sh)"
        if os.environ.get("MDS_TEST_REQUIRE_BACKENDS") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return value


def _float_hex(value: Any, width: int) -> str:
    import numpy as np

    if width == 8:
        return struct.pack("<d", float(value)).hex()
    return np.asarray(value).tobytes().hex()


def _image(img: Any, exp: dict[str, Any]) -> None:
    assert img.mode == exp["mode"]
    assert list(img.size) == exp["size"]
    assert img.tobytes().hex() == exp["pixels_hex"]
    assert img.format == exp["format"]


def _jsonish(obj: Any) -> Any:
    """The JSON rendering expected.json uses for unpickled objects."""
    if isinstance(obj, (list, tuple)):
        return [_jsonish(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _jsonish(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"hex": obj.hex()}
    return obj


def check_value(enc: str, value: Any, exp: Any) -> None:
    """Assert a decoded ``value`` of encoding ``enc`` equals its expected.json representation."""
    import numpy as np

    if enc in ("str", "json"):
        assert value == exp
    elif enc == "int":
        assert type(value) is int and value == exp
    elif enc in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        assert type(value) is getattr(np, enc) and int(value) == exp
    elif enc == "str_int":
        assert type(value) is int and value == exp
    elif enc in ("float16", "float32", "float64"):
        assert type(value) is getattr(np, enc)
        assert np.asarray(value).tobytes().hex() == exp["hex"]
    elif enc == "str_float":
        assert type(value) is float and _float_hex(value, 8) == exp["hex"]
    elif enc == "str_decimal":
        assert str(value) == exp
    elif enc == "bytes":
        assert type(value) is bytes and value.hex() == exp["hex"]
    elif enc.startswith("ndarray"):
        assert isinstance(value, np.ndarray)
        assert value.dtype.name == exp["dtype"] and list(value.shape) == exp["shape"]
        got = [
            ("nan" if math.isnan(x) else "inf" if x == math.inf else "-inf" if x == -math.inf else x)
            if isinstance(x, float)
            else x
            for x in value.reshape(-1).tolist()
        ]
        assert got == exp["values"]
    elif enc in ("pil", "png", "jpeg"):
        _image(value, exp)
    elif enc in ("list[png]", "list[jpeg]", "list[pil]", "jpeg_array", "jpegarray"):
        assert isinstance(value, list) and len(value) == len(exp)
        for img, e in zip(value, exp):
            _image(img, e)
    elif enc == "pkl":
        assert _jsonish(value) == exp
    else:
        raise AssertionError(f"no check for encoding {enc}")


def sample_key(sample: dict[str, Any]) -> tuple[Any, ...]:
    """An identity of a fixture sample (its str, int and float64 columns)."""
    return (sample["str"], int(sample["int"]), float(sample["float64"]).hex(), sample["nd_f32_8"].tobytes())
