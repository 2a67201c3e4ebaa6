"""`import mds` is light: no torch, no numpy, fast; exceptions form a hierarchy."""

from __future__ import annotations

import subprocess
import sys

import mds


def test_import_does_not_load_torch_or_numpy() -> None:
    code = "import sys, mds; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "False"]


def test_exception_hierarchy() -> None:
    assert issubclass(mds.ShardCorruptError, mds.MdsError)
    assert issubclass(mds.FetchError, mds.MdsError)
    assert issubclass(mds.CacheError, mds.MdsError)
    assert issubclass(mds.MdsError, Exception)
    from mds.exceptions import MdsError

    assert MdsError is mds.MdsError


def test_buffer_is_read_only_and_zero_copy() -> None:
    import numpy as np

    from conftest import fixture_dir

    ds = mds.LocalDataset(str(fixture_dir("all_encodings_1shard")))
    arr = ds[0]["nd_i16_3x4"]
    base = arr
    while isinstance(base, np.ndarray):
        base = base.base
    view = base if isinstance(base, memoryview) else memoryview(base)
    assert view.readonly and isinstance(view.obj, mds.Buffer)
    again = np.frombuffer(view.obj, np.int16)
    assert np.shares_memory(arr, again)
    try:
        again[0] = 1
    except ValueError:
        pass
    else:
        raise AssertionError("a shard buffer must not be writable")


def test_compat_names_exist() -> None:
    import mds as streaming

    for name in ("StreamingDataset", "StreamingDataLoader", "Stream", "MDSWriter", "LocalDataset"):
        assert hasattr(streaming, name)
    from mds.base.util import clean_stale_shared_memory, merge_index

    assert callable(clean_stale_shared_memory) and callable(merge_index)
