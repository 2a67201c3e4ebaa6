"""Epoch orders through the Python API equal the reference's (fixtures' orders.json)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

import mds
from conftest import fixture_dir, sample_key


@functools.cache
def _index() -> dict:
    ds = mds.LocalDataset(str(fixture_dir("all_encodings")))
    index = {sample_key(ds[i]): i for i in range(len(ds))}
    assert len(index) == len(ds)  # the key identifies samples
    return index


def _orders() -> list[dict]:
    with open(fixture_dir("all_encodings") / "orders.json") as f:
        return json.load(f)["orders"]


@pytest.mark.parametrize("case", range(9))
def test_epoch_order_matches_reference(case: int, tmp_path: Path) -> None:
    spec = _orders()[case]
    ds = mds.StreamingDataset(
        local=str(fixture_dir("all_encodings")),
        batch_size=spec["batch_size"],
        allow_unsafe_types=True,
        **spec["config"],
    )
    index = _index()
    order = [index[sample_key(s)] for s in ds]
    assert order == spec["order"]
