"""MDSWriter writes the reference's bytes and validates its arguments as the reference does."""

from __future__ import annotations

import filecmp
import pickle
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import mds
from conftest import expected, fixture_dir
from mds._encode import column_encoder


@pytest.mark.parametrize("name", ["all_encodings", "all_encodings_zstd", "all_encodings_1shard"])
def test_rewriting_stored_bytes_reproduces_the_fixture(name: str, tmp_path: Path) -> None:
    exp = expected(name)
    out = tmp_path / "out"
    with mds.MDSWriter(
        out=str(out),
        columns=exp["columns"],
        compression=exp["compression"],
        hashes=exp["hashes"],
        size_limit=exp["size_limit"],
    ) as w:
        for s in exp["samples"]:
            w.write({col: bytes.fromhex(h) for col, h in s["raw"].items()})
    src = fixture_dir(name)
    assert (out / "index.json").read_bytes() == (src / "index.json").read_bytes()
    shards = sorted(p.name for p in src.iterdir() if p.name.startswith("shard."))
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("shard.")) == shards
    for shard in shards:
        assert filecmp.cmp(out / shard, src / shard, shallow=False), shard


# Encoders whose output is deterministic given the decoded value (images re-encode with the
# installed Pillow and are checked by round trip instead).
_BYTE_EXACT = {
    "str", "bytes", "int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "str_int", "str_float", "str_decimal", "json",
    "pkl", "ndarray:float32:8", "ndarray:int16:3,4", "ndarray:uint8", "ndarray", "pil",
}  # fmt: skip


def test_encoders_give_the_stored_bytes() -> None:
    exp = expected("all_encodings_1shard")
    ds = mds.LocalDataset(str(fixture_dir("all_encodings_1shard")))
    for i, s in enumerate(exp["samples"][:200]):
        got = ds[i]
        for col, enc in exp["columns"].items():
            if enc not in _BYTE_EXACT:
                continue
            value = got[col]
            if enc == "pkl":
                value = pickle.loads(pickle.dumps(value))
            assert column_encoder(enc)(value).hex() == s["raw"][col], (i, col)


def test_values_round_trip(tmp_path: Path) -> None:
    from PIL import Image

    columns = {
        "s": "str", "i": "int", "u8": "uint8", "f16": "float16", "si": "str_int",
        "sf": "str_float", "sd": "str_decimal", "j": "json", "p": "pkl", "nd": "ndarray",
        "nds": "ndarray:int32:2,3", "img": "png", "imgs": "list[jpeg]", "raw": "pil",
    }  # fmt: skip
    img = Image.new("RGB", (5, 4), (10, 200, 30))
    samples = [
        {
            "s": f"héllo {k}", "i": -k, "u8": k % 256, "f16": 0.5 * k, "si": 10**30 + k,
            "sf": k / 3, "sd": Decimal("1.50") * k, "j": {"k": [k, None]}, "p": (k, b"x"),
            "nd": np.arange(k + 1, dtype=np.uint16), "nds": np.full((2, 3), k, dtype=np.int32),
            "img": img, "imgs": [img, img], "raw": img,
        }  # fmt: skip
        for k in range(50)
    ]
    with mds.MDSWriter(out=str(tmp_path), columns=columns, size_limit="2kb", hashes=["sha1"]) as w:
        for s in samples:
            w.write(s)
    ds = mds.LocalDataset(str(tmp_path))
    assert len(ds) == 50
    for k, want in enumerate(samples):
        got = ds[k]
        assert got["s"] == want["s"] and got["i"] == want["i"] and got["si"] == want["si"]
        assert got["u8"] == want["u8"] and type(got["u8"]) is np.uint8
        assert got["f16"] == np.float16(want["f16"]) and got["sf"] == want["sf"]
        assert got["sd"] == want["sd"] and got["j"] == want["j"] and got["p"] == want["p"]
        assert np.array_equal(got["nd"], want["nd"]) and np.array_equal(got["nds"], want["nds"])
        assert got["img"].tobytes() == img.tobytes() and got["raw"].tobytes() == img.tobytes()
        assert [x.size for x in got["imgs"]] == [(5, 4), (5, 4)]


def test_argument_errors_match_the_reference(tmp_path: Path) -> None:
    cols = {"a": "int"}
    with pytest.raises(ValueError, match="Invalid Writer argument"):
        mds.MDSWriter(out=str(tmp_path / "a"), columns=cols, bogus=1)
    with pytest.raises(ValueError, match="sorted order"):
        mds.MDSWriter(out=str(tmp_path / "b"), columns=cols, hashes=["xxh64", "sha1"])
    with pytest.raises(ValueError):
        mds.MDSWriter(out=str(tmp_path / "c"), columns=cols, compression="zstd:99")
    with pytest.raises(ValueError, match="greater than zero"):
        mds.MDSWriter(out=str(tmp_path / "d"), columns=cols, size_limit=-5)
    with pytest.raises(TypeError, match="is unsupported"):
        mds.MDSWriter(out=str(tmp_path / "e"), columns={"a": "float128"})
    with pytest.raises(ValueError, match="Invalid `out`"):
        mds.MDSWriter(out=("a", "b", "c"), columns=cols)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        mds.MDSWriter(out=str(full), columns=cols)
    with mds.MDSWriter(out=str(full), columns=cols, exist_ok=True) as w:
        w.write({"a": 1})
    assert not (full / "x").exists()
    w2 = mds.MDSWriter(out=str(tmp_path / "t"), columns={"a": "str", "b": "ndarray:int8:2"})
    with pytest.raises(AttributeError, match="data should be of type"):
        w2.write({"a": 5, "b": np.zeros(2, np.int8)})
    with pytest.raises(ValueError, match="Wrong shape"):
        w2.write({"a": "x", "b": np.zeros(3, np.int8)})
    with pytest.raises(KeyError, match="Unexpected data size"):
        w2.write({"a": "x", "b": b"123"})


def test_pair_output_uploads_to_a_local_remote(tmp_path: Path) -> None:
    local, remote = tmp_path / "stage", tmp_path / "remote"
    with mds.MDSWriter(out=(str(local), str(remote)), columns={"x": "int"}, compression="zstd") as w:
        for i in range(10):
            w.write({"x": i})
    assert not local.exists()
    names = sorted(p.name for p in remote.iterdir())
    assert names == ["index.json", "shard.00000.mds.zstd"]
    ds = mds.StreamingDataset(remote=str(remote), local=str(tmp_path / "cache"), batch_size=2)
    assert sorted(s["x"] for s in ds) == list(range(10))


def test_merge_index_combines_subdirectories(tmp_path: Path) -> None:
    for part in range(3):
        with mds.MDSWriter(out=str(tmp_path / f"part-{part}"), columns={"x": "int"}) as w:
            for i in range(4):
                w.write({"x": part * 4 + i})
    mds.merge_index(str(tmp_path))
    ds = mds.LocalDataset(str(tmp_path))
    assert sorted(ds[i]["x"] for i in range(len(ds))) == list(range(12))
    mds.clean_stale_shared_memory()  # a harmless no-op


def test_a_bad_remote_fails_at_construction(tmp_path) -> None:
    import pytest

    import mds

    for out in ("foo://bar", "s3://", (str(tmp_path / "x"), "nope://y")):
        with pytest.raises(ValueError, match="invalid remote"):
            mds.MDSWriter(out=out, columns={"id": "int"})
    assert not (tmp_path / "x").exists()
