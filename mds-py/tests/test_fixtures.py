"""Decoded values of the reference-written fixtures equal the reference's (expected.json)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mds
from conftest import FIXTURE_NAMES, check_value, expected, fixture_dir, local_copy


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_local_dataset_matches_expected(name: str) -> None:
    exp = expected(name)
    ds = mds.LocalDataset(str(fixture_dir(name)))
    assert len(ds) == exp["num_samples"] == ds.size
    for i, want in enumerate(exp["samples"]):
        got = ds[i]
        assert set(got) == set(exp["columns"])
        for col, enc in exp["columns"].items():
            check_value(enc, got[col], want["value"][col])


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_streaming_dataset_matches_expected(name: str, tmp_path: Path) -> None:
    exp = expected(name)
    ds = mds.StreamingDataset(
        remote=str(fixture_dir(name)), local=str(tmp_path / "cache"), allow_unsafe_types=True, batch_size=1
    )
    assert ds.size == exp["num_samples"]
    samples = list(ds)
    assert len(samples) == exp["num_samples"]
    for got, want in zip(samples, exp["samples"]):
        for col, enc in exp["columns"].items():
            check_value(enc, got[col], want["value"][col])
    assert ds[-1]["str"] == exp["samples"][-1]["value"]["str"]


def test_pickle_column_needs_opt_in(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        mds.StreamingDataset(local=str(local_copy("all_encodings_1shard", tmp_path)), batch_size=1)


def test_ndarray_is_zero_copy_view_of_shard() -> None:
    ds = mds.LocalDataset(str(fixture_dir("all_encodings_1shard")))
    arr = ds[3]["nd_u8_dynshape"]
    assert not arr.flags.writeable
    base = arr
    while getattr(base, "base", None) is not None:
        base = base.base
    if isinstance(base, memoryview):  # numpy keeps the view it took of the buffer
        base = base.obj
    assert isinstance(base, mds.Buffer)


def test_out_of_range_index_raises_index_error() -> None:
    ds = mds.LocalDataset(str(fixture_dir("all_encodings_1shard")))
    with pytest.raises(IndexError):
        ds[len(ds)]
    assert ds[-1]["str"] == ds[len(ds) - 1]["str"]


def test_missing_local_index_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        mds.LocalDataset(str(tmp_path))


@pytest.mark.parametrize("param", ["predownload", "batch_size"])
def test_negative_counts_are_value_errors_naming_the_parameter(param: str, tmp_path: Path) -> None:
    local = str(local_copy("all_encodings_1shard", tmp_path))
    with pytest.raises(ValueError, match=param):
        ds = mds.StreamingDataset(local=local, allow_unsafe_types=True, **{param: -1})
        next(iter(ds))
