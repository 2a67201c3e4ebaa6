"""Public behaviours matched to mosaicml-streaming 0.13: stream weights, checkpoints right
after loading, exception types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mds


def _write(path: Path, n: int, start: int = 0) -> str:
    with mds.MDSWriter(out=str(path), columns={"id": "int"}, size_limit=1 << 10) as w:
        for i in range(start, start + n):
            w.write({"id": i})
    return str(path)


@pytest.mark.parametrize("weight", [{"proportion": 0}, {"repeat": 0}, {"choose": 0}])
def test_a_zero_weight_excludes_the_stream(tmp_path: Path, weight: dict) -> None:
    a = _write(tmp_path / "a", 100)
    b = _write(tmp_path / "b", 50, start=1000)
    other = {"proportion": 1} if "proportion" in weight else {}
    streams = [mds.Stream(local=a, **other), mds.Stream(local=b, **weight)]
    ds = mds.StreamingDataset(streams=streams, batch_size=1)
    ids = [s["id"] for s in ds]
    # relative weights keep the epoch at the streams' total (150), all of it from `a`
    assert ds.epoch_size == (150 if "proportion" in weight else 100)
    assert set(ids) == set(range(100)) and len(ids) == ds.epoch_size
    assert (streams[1].proportion, streams[1].repeat, streams[1].choose) == (0, 0, 0)


def test_streams_carry_the_derived_weights(tmp_path: Path) -> None:
    a = _write(tmp_path / "a", 100)
    b = _write(tmp_path / "b", 50, start=1000)
    streams = [mds.Stream(local=a, repeat=2), mds.Stream(local=b, choose=25)]
    assert not hasattr(streams[0], "proportion")  # derived only once the dataset is built
    mds.StreamingDataset(streams=streams, batch_size=1)
    assert (streams[0].proportion, streams[0].repeat, streams[0].choose) == (200 / 225, 2.0, 200)
    assert (streams[1].proportion, streams[1].repeat, streams[1].choose) == (25 / 225, 0.5, 25)


def test_state_dict_right_after_load_state_dict_is_the_checkpoint(tmp_path: Path) -> None:
    path = _write(tmp_path / "d", 100)
    ckpt = {
        "epoch": 3,
        "sample_in_epoch": 40,
        "num_canonical_nodes": 2,
        "shuffle_seed": 17,
        "initial_physical_nodes": 1,
    }
    ds = mds.StreamingDataset(local=path, batch_size=4, shuffle=True)
    ds.load_state_dict(ckpt)
    assert ds.state_dict(0, False) == ckpt
    assert ds.state_dict(8, False)["sample_in_epoch"] == 48
    assert ds.state_dict(8, True)["sample_in_epoch"] == 8


def test_exception_types_are_the_references(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "index.json").write_text(json.dumps({"version": 2, "shards": []}))
    with pytest.raises(RuntimeError, match="^Stream contains no samples"):
        mds.StreamingDataset(local=str(empty), batch_size=1)
    for text in ("", "{not json"):
        bad = tmp_path / f"bad{len(text)}"
        bad.mkdir()
        (bad / "index.json").write_text(text)
        with pytest.raises(json.JSONDecodeError):
            mds.StreamingDataset(local=str(bad), batch_size=1)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    with pytest.raises(RuntimeError):
        mds.StreamingDataset(local=str(nothing), batch_size=1)
    few = _write(tmp_path / "few", 3)
    with pytest.raises(ValueError):
        list(mds.StreamingDataset(local=few, batch_size=1, shuffle=True, num_canonical_nodes=8))


def test_the_references_warnings(tmp_path: Path) -> None:
    path = _write(tmp_path / "d", 100)
    with pytest.warns(UserWarning, match=r"^predownload < batch_size \(2 < 4\)"):
        mds.StreamingDataset(local=path, batch_size=4, predownload=2)
    with pytest.warns(UserWarning, match="^Shuffle block size was smaller than shard size"):
        mds.StreamingDataset(local=path, batch_size=4, shuffle=True, shuffle_block_size=2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mds.StreamingDataset(local=path, batch_size=4, shuffle=True)
        mds.StreamingDataset(local=path, batch_size=4, shuffle=True, shuffle_algo="py1s", shuffle_block_size=2)



def test_messages_start_with_the_references_sentence(tmp_path: Path) -> None:
    path = _write(tmp_path / "d", 100)
    remote = dict(remote=path, local=str(tmp_path / "cache"), batch_size=1)
    with pytest.raises(ValueError, match=r"^Cache limit \(3000 bytes\) is too low\. Increase the `cache_limit` to"):
        mds.StreamingDataset(cache_limit=3000, **remote)
    with pytest.raises(ValueError, match=r"^Minimum cache usage \(\d+ bytes\) is larger than the cache limit \(10 bytes\)"):
        mds.StreamingDataset(cache_limit=10, **remote)
    with pytest.raises(ValueError, match=r"^Please pass `batch_size` to StreamingDataset"):
        list(mds.StreamingDataset(local=path))
    pkl = tmp_path / "pkl"
    with mds.MDSWriter(out=str(pkl), columns={"obj": "pkl"}) as w:
        w.write({"obj": {"a": 1}})
    with pytest.raises(ValueError, match=r"^Column obj contains an unsafe type: pkl\. To proceed anyway"):
        mds.StreamingDataset(local=str(pkl), batch_size=1)
    a = _write(tmp_path / "a", 100)
    b = _write(tmp_path / "b", 2, start=1000)
    streams = [mds.Stream(local=a, proportion=0.999), mds.Stream(local=b, proportion=0.001)]
    ds = mds.StreamingDataset(streams=streams, batch_size=4, batching_method="stratified")
    with pytest.raises(ValueError, match=r"^Number of samples for stream 1 is 0 because"):
        list(ds)


def test_one_local_for_two_remotes_is_refused_while_both_live(tmp_path: Path) -> None:
    import gc
    import subprocess
    import sys

    a = _write(tmp_path / "a", 10)
    b = _write(tmp_path / "b", 10, start=100)
    local = str(tmp_path / "cache")
    first = mds.StreamingDataset(remote=a, local=local, batch_size=1)
    again = mds.StreamingDataset(remote=a, local=local, batch_size=1)  # same remote: shared
    with pytest.raises(ValueError, match="^Reused local directory"):
        mds.StreamingDataset(remote=b, local=local, batch_size=1)
    with pytest.raises(ValueError, match="^Reused local directory"):
        mds.StreamingDataset(streams=[mds.Stream(remote=a, local=local), mds.Stream(remote=b, local=local)], batch_size=1)
    del first, again
    gc.collect()
    # in another process, while this one holds `b`
    held = mds.StreamingDataset(remote=b, local=str(tmp_path / "cache2"), batch_size=1)
    probe = (
        "import sys, mds\n"
        "try:\n"
        "    mds.StreamingDataset(remote=sys.argv[1], local=sys.argv[2], batch_size=1)\n"
        "except ValueError as e:\n"
        "    print('refused', str(e)[:22])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, a, str(tmp_path / "cache2")], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused Reused local directory", out.stderr
    del held
    gc.collect()
    # the claim ends with the dataset (and with its process, however it dies)
    out = subprocess.run([sys.executable, "-c", probe, a, str(tmp_path / "cache2")], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, ""), out.stderr


def test_shards_prepare_and_evict(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    with mds.MDSWriter(out=str(remote), columns={"id": "int"}, compression="zstd", hashes=["sha1"], size_limit=200) as w:
        for i in range(100):
            w.write({"id": i})
    local = tmp_path / "local"
    ds = mds.StreamingDataset(remote=str(remote), local=str(local), batch_size=1)
    shards = ds.shards
    index = json.loads((remote / "index.json").read_text())["shards"]
    assert len(shards) == len(index) == ds.num_shards
    for shard, entry in zip(shards, index):
        assert shard.samples == entry["samples"] and len(shard) == entry["samples"]
        assert shard.compression == "zstd" and shard.hashes == ["sha1"]
        assert shard.raw_data.basename == entry["raw_data"]["basename"]
        assert shard.zip_data.basename == entry["zip_data"]["basename"]
        assert shard.zip_data.hashes == entry["zip_data"]["hashes"]
        assert shard.column_names == ["id"] and shard.column_encodings == ["int"]
        assert shard.get_max_size() == entry["raw_data"]["bytes"] + entry["zip_data"]["bytes"]
    raw = local / shards[2].raw_data.basename
    assert not raw.exists()
    ds.prepare_shard(2)
    assert raw.is_file()
    ds.evict_shard(2)
    assert not raw.exists()
    with pytest.raises(ValueError):
        ds.prepare_shard(len(shards))
    assert sorted(s["id"] for s in ds) == list(range(100))


@pytest.mark.parametrize(
    "cls,extra,suffix",
    [("JSONWriter", {}, "json"), ("CSVWriter", {}, "csv"), ("TSVWriter", {}, "tsv"), ("XSVWriter", {"separator": "|"}, "xsv")],
)
def test_split_writers(tmp_path: Path, cls: str, extra: dict, suffix: str) -> None:
    writer = getattr(mds, cls)
    out = tmp_path / cls
    columns = {"id": "int", "text": "str", "x": "float"}
    with writer(out=str(out), columns=columns, size_limit=200, **extra) as w:
        for i in range(30):
            w.write({"id": i, "text": f"t{i}", "x": i / 4})
        config = w.get_config()
    assert config["format"] == suffix and config["version"] == 2 and config["size_limit"] == 200
    assert (out / f"shard.00000.{suffix}").is_file() and (out / f"shard.00000.{suffix}.meta").is_file()
    ds = mds.LocalDataset(str(out))
    assert [ds[i] for i in (0, 29)] == [{"id": 0, "text": "t0", "x": 0.0}, {"id": 29, "text": "t29", "x": 7.25}]
    with pytest.raises(TypeError, match="column id"):
        with writer(out=str(tmp_path / "bad"), columns=columns, **extra) as w:
            w.write({"id": b"1", "text": "a", "x": 1.0})


def test_mds_writer_get_config(tmp_path: Path) -> None:
    with mds.MDSWriter(out=str(tmp_path / "d"), columns={"id": "int", "s": "str"}, compression="zstd:7", hashes=["sha1"]) as w:
        assert w.get_config() == {
            "version": 2,
            "format": "mds",
            "compression": "zstd:7",
            "hashes": ["sha1"],
            "size_limit": 1 << 26,
            "column_names": ["id", "s"],
            "column_encodings": ["int", "str"],
            "column_sizes": [8, None],
        }
        w.write({"id": 1, "s": "a"})


def test_stream_name_builds_a_registered_stream_class(tmp_path: Path) -> None:
    from mds.base.stream import streams_registry

    path = _write(tmp_path / "d", 10)
    built = []

    @streams_registry.register("counted")
    class Counted(mds.Stream):
        def __init__(self, **kwargs):
            built.append(kwargs.get("local"))
            super().__init__(**kwargs)

    ds = mds.StreamingDataset(local=path, batch_size=1, stream_name="counted")
    assert isinstance(ds.streams[0], Counted) and built == [path]
    assert sorted(s["id"] for s in ds) == list(range(10))
    with pytest.raises(ValueError, match="not registered"):
        mds.StreamingDataset(local=path, batch_size=1, stream_name="nope")


def test_module_paths_after_import_mds_as_streaming() -> None:
    import importlib

    import mds as streaming

    assert streaming.base.StreamingDataset is streaming.StreamingDataset
    assert streaming.base.MDSWriter is streaming.MDSWriter
    for module, name in [
        ("mds.base.dataset", "StreamingDataset"),
        ("mds.base.stream", "Stream"),
        ("mds.base.stream", "streams_registry"),
        ("mds.base.dataloader", "StreamingDataLoader"),
        ("mds.base.local", "LocalDataset"),
        ("mds.base.format", "JSONWriter"),
        ("mds.base.format.mds.writer", "MDSWriter"),
        ("mds.base.format.mds.reader", "MDSReader"),
        ("mds.base.format.json.writer", "JSONWriter"),
        ("mds.base.format.xsv.writer", "CSVWriter"),
        ("mds.base.format.xsv.writer", "TSVWriter"),
        ("mds.base.format.xsv.writer", "XSVWriter"),
        ("mds.base.util", "clean_stale_shared_memory"),
    ]:
        assert hasattr(importlib.import_module(module), name), (module, name)


def test_a_local_that_served_another_remote_is_refreshed(tmp_path: Path) -> None:
    import gc

    a = _write(tmp_path / "a", 30)
    b = _write(tmp_path / "b", 50, start=10_000)
    local = str(tmp_path / "cache")
    first = mds.StreamingDataset(remote=a, local=local, batch_size=1)
    assert sorted(s["id"] for s in first) == list(range(30))
    del first
    gc.collect()
    second = mds.StreamingDataset(remote=b, local=local, batch_size=1)
    assert sorted(s["id"] for s in second) == list(range(10_000, 10_050))
    # the same remote spelled another way is the same remote
    mds.StreamingDataset(remote=b + "/", local=local, batch_size=1)
    mds.StreamingDataset(remote="file://" + b, local=local, batch_size=1)


def test_next_after_the_end_keeps_stopping(tmp_path: Path) -> None:
    it = iter(mds.StreamingDataset(local=_write(tmp_path / "d", 5), batch_size=1))
    assert len(list(it)) == 5
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(it)


def test_split_int_beyond_int64_reads_back_as_int(tmp_path: Path) -> None:
    with mds.JSONWriter(out=str(tmp_path / "j"), columns={"n": "int"}) as w:
        for n in (2**63, -(2**100), 5):
            w.write({"n": n})
    ds = mds.LocalDataset(str(tmp_path / "j"))
    assert [ds[i]["n"] for i in range(3)] == [2**63, -(2**100), 5]


def test_split_writer_values_of_the_wrong_kind_are_type_errors(tmp_path: Path) -> None:
    with mds.CSVWriter(out=str(tmp_path / "c"), columns={"n": "int", "s": "str"}) as w:
        for bad in ({"n": 1.5, "s": "a"}, {"n": 1, "s": 2}, {"n": None, "s": "a"}):
            with pytest.raises(TypeError, match="column"):
                w.write(bad)
        w.write({"n": 1, "s": "a"})
    assert mds.LocalDataset(str(tmp_path / "c"))[0] == {"n": 1, "s": "a"}
